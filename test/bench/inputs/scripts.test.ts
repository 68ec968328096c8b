// The measuring scripts check what they need first and say how to get it (exit 2), never a stack trace.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const REPO = path.join(import.meta.dirname, '..', '..', '..');

function attempt(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: REPO, env: { ...process.env, ...env }, timeout: 30_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? Number(err.code) : 0, stderr });
    });
  });
}

/** A HOME with no ~/ref in it: the C instruments are missing. */
const bareHome = () => ({ HOME: mkdtempSync(path.join(tmpdir(), 'handoff-home-')) });

test('scripts/reference.sh server-vs-ref without the C instruments: what is missing and how to build it', async () => {
  const { code, stderr } = await attempt(path.join(REPO, 'scripts', 'reference.sh'), ['server-vs-ref'], bareHome());
  assert.equal(code, 2, stderr);
  assert.match(stderr, /^server-vs-ref: cannot run:$/m);
  assert.match(
    stderr,
    /ref\/loadgen is missing \(or give its path with --loadgen\); build it: mkdir -p ~\/ref && gcc -O2 -pthread -o .*loadgen\.c/,
  );
  assert.match(stderr, /ref\/ref_epoll is missing \(or give its path with --ref-server\); build it: .*ref_epoll\.c/);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
});

test('scripts/reference.sh with no name or an unknown one says how it is used', async () => {
  for (const args of [[], ['nope']]) {
    const { code, stderr } = await attempt(path.join(REPO, 'scripts', 'reference.sh'), args);
    assert.equal(code, 2);
    assert.match(stderr, /^usage: scripts\/reference\.sh server-vs-ref \| tester-vs-loadgen \| chat-vs-fanout/);
  }
});

test('the shell scripts list what they lack in one go: fan-out generator, load generator, checkouts', async () => {
  const fanout = await attempt(path.join(REPO, 'scripts', 'fanout-vs-nats-redis.sh'), [], bareHome());
  assert.equal(fanout.code, 2);
  assert.match(
    fanout.stderr,
    /^fanout-vs-nats-redis\.sh: cannot run:\n {2}- .*ref\/fanout is missing: build it: .*fanout\.c \(or set FANOUT\)/,
  );
  const nowhere = mkdtempSync(path.join(tmpdir(), 'handoff-checkout-'));
  const beforeAfter = await attempt(path.join(REPO, 'scripts', 'ack-echo-before-after.sh'), [nowhere, REPO], {
    LOADGEN: '/no/loadgen',
  });
  assert.equal(beforeAfter.code, 2);
  assert.match(beforeAfter.stderr, /\/no\/loadgen is missing: build it: .*loadgen\.c \(or set LOADGEN\)/);
  assert.match(
    beforeAfter.stderr,
    new RegExp(`${nowhere}/node_modules/node/bin/node is missing: run 'npm ci' in ${nowhere}`),
  );
});
