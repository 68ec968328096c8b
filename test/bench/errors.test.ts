import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { resolveBenchOptions } from '../../src/bench/options.ts';
import { runBench } from '../../src/bench/load/run.ts';
import { fakeServerCommand } from './helpers/fake.ts';

const run = promisify(execFile);
const HANDOFF = path.join(import.meta.dirname, '..', '..', 'bin', 'handoff');

async function failing(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(HANDOFF, args, { timeout: 30_000 });
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
  assert.fail(`handoff ${args.join(' ')} succeeded`);
}

test('bad options give one clear line and exit status 2: --clients 0, --sizes 1x', async () => {
  for (const args of [
    ['--clients', '0'],
    ['--sizes', '1x'],
  ]) {
    const { code, stderr } = await failing(['bench', ...args, '--no-save']);
    assert.equal(code, 2, args.join(' '));
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, new RegExp(args[0]!));
  }
});

test('an unreachable --target gives one line and a non-zero exit', async () => {
  // A port that was free a moment ago: nothing listens there.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  const { code, stderr } = await failing([
    'bench',
    '--target',
    `127.0.0.1:${port}`,
    '-c',
    '2',
    '-w',
    '1',
    '-s',
    '16',
    '-d',
    '0.2',
    '--warmup',
    '0',
    '--no-save',
  ]);
  assert.equal(code, 1);
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
  assert.match(stderr, /cannot connect to 127\.0\.0\.1:\d+: ERR_CONNECT: .*ECONNREFUSED/);
});

function shortRun(flags: string[]) {
  return runBench(
    resolveBenchOptions({
      clients: 4,
      workers: 1,
      sizes: '16',
      durationS: 0.5,
      warmupS: 0.3,
      timeoutS: 1,
      out: '',
      progress: false,
      serverCommand: fakeServerCommand(...flags),
    }),
  );
}

test('a server that answers !ERROR mid-run is counted by code and reported, not a crash', async () => {
  const result = await shortRun(['--error-after', '200']);
  const m = result.measurements[0]!;
  assert.equal(m.errors.kinds.TIMEOUT, 4, JSON.stringify(m.errors));
  assert.equal(m.errors.kinds.CLOSED, undefined, 'the close after an error frame is not a second error');
  assert.match(m.errors.first, /TIMEOUT/);
  assert.ok(result.warnings.some((w) => /errors/.test(w)));
});

test('a server that closes connections mid-run is counted and reported, not a crash', async () => {
  const result = await shortRun(['--close-after', '100']);
  const m = result.measurements[0]!;
  assert.equal(m.errors.kinds.CLOSED, 4, JSON.stringify(m.errors));
  assert.equal(m.unanswered, 0);
});
