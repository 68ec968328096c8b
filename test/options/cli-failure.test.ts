// Every command line ends a failure the same way: one line naming the flag the user typed,
// exit status 2 for a bad option, and an error nobody knows thrown on with its stack.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { reportCliFailure } from '../../src/options/cli-failure.ts';
import { defineFlags } from '../../src/options/flags.ts';
import { integer } from '../../src/options/validators.ts';
import { HandoffError, InvalidOptionError } from '../../src/protocol/index.ts';

const REPO = path.join(import.meta.dirname, '..', '..');
const FLAGS = defineFlags<{ frameTimeoutMs: number }>(
  [{ option: 'frameTimeoutMs', flag: 'frame-timeout', kind: 'seconds', describe: 'frame deadline' }],
  { frameTimeoutMs: 10_000 },
);

function capture() {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stderr, text: () => text };
}

test('a bad option: one line in flag names, after the prefix, and exit status 2', () => {
  const out = capture();
  let err: unknown;
  try {
    integer('frameTimeoutMs', -1, 0, 10);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof InvalidOptionError);
  const status = reportCliFailure(err, { prefix: 'handoff serve', flags: FLAGS, stderr: out.stderr });
  assert.equal(status, 2);
  assert.equal(out.text(), 'handoff serve: --frame-timeout must be an integer from 0 to 10, got -1\n');
});

test("any other error: the command's own line and status; one it does not know is thrown on, nothing written", () => {
  const out = capture();
  const other = (e: unknown) => (e instanceof HandoffError ? { text: e.message, status: 1 } : null);
  const known = new HandoffError('ERR_X', 'cannot read a.json');
  assert.equal(reportCliFailure(known, { prefix: 'handoff compare', flags: FLAGS, other, stderr: out.stderr }), 1);
  assert.equal(out.text(), 'handoff compare: cannot read a.json\n');
  const bug = new TypeError('x is undefined');
  assert.throws(() => reportCliFailure(bug, { prefix: 'soak', flags: FLAGS, other, stderr: out.stderr }), bug);
  assert.throws(() => reportCliFailure(bug, { prefix: 'soak', flags: FLAGS, stderr: out.stderr }), bug);
  assert.equal(out.text(), 'handoff compare: cannot read a.json\n', 'nothing more written');
});

/** Runs a command line to its end: its status and stderr. */
function attempt(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(args[0]!, args.slice(1), { cwd: REPO, timeout: 30_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? Number(err.code) : 0, stderr });
    });
  });
}

test('the server, bench, soak, fuzz and chat fuzz command lines word a bad value the same way', async () => {
  const node = path.join(REPO, 'node_modules', '.bin', 'node');
  const handoff = path.join(REPO, 'bin', 'handoff');
  const cases: Array<[string[], string]> = [
    [[handoff, 'serve', '--port', '99999'], 'handoff: --port must be an integer from 0 to 65535, got 99999'],
    [[handoff, 'bench', '--clients', '0'], 'handoff bench: --clients must be an integer from 1 to 100000, got 0'],
    [[node, 'src/bench/soak/cli.ts', '--minutes', '0'], 'soak: --minutes must be a number from 0.01 to 1440, got 0'],
    [[node, 'src/bench/fuzz/cli.ts', '--seed', '-1'], 'fuzz: --seed must be an integer from 0 to 4294967295, got -1'],
    [
      [node, 'src/bench/fuzz/chat-cli.ts', '--seed', '-1'],
      'fuzz:chat: --seed must be an integer from 0 to 4294967295, got -1',
    ],
  ];
  const results = await Promise.all(cases.map(([args]) => attempt(args)));
  for (const [i, { code, stderr }] of results.entries()) {
    assert.equal(code, 2, stderr);
    assert.equal(stderr, `${cases[i]![1]}\n`);
  }
});
