// A target that drops SYNs (a full backlog): the connect phase ends at the
// connect deadline, whatever the kernel does with the stalled connects.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fillBacklog, startStalledListener } from '../helpers/stalled-listener.ts';

const HANDOFF = path.join(import.meta.dirname, '..', '..', '..', 'bin', 'handoff');
/** Far above what these runs need (about 2 s), far below the old hang (for ever). */
const BOUND_MS = 10_000;

interface Outcome {
  /** The exit status; null when the bound killed it. */
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `handoff bench`, killed at BOUND_MS: a hang fails the test, it never hangs the suite. */
async function bench(args: string[]): Promise<Outcome> {
  const began = performance.now();
  const run = await new Promise<Outcome>((resolve) => {
    execFile(HANDOFF, ['bench', ...args], { timeout: BOUND_MS, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (err.killed ? null : Number(err.code)) : 0;
      resolve({ code, stdout, stderr, ms: performance.now() - began });
    });
  });
  assert.notEqual(run.code, null, `handoff bench was still running after ${BOUND_MS} ms: it hung`);
  return run;
}

const SHORT = ['-w', '1', '-s', '16', '-d', '0.3', '--warmup', '0', '--timeout', '0.5', '--no-save'];

test('connects that stall are given up at --connect-timeout, counted ERR_CONNECT_TIMEOUT, and the run goes on with the one that connected', async (t) => {
  const port = await startStalledListener(t);
  const run = await bench(['--target', `127.0.0.1:${port}`, '-c', '4', '--connect-timeout', '0.5', ...SHORT]);
  // The kernel completed one handshake (the accept queue holds one) and dropped the other SYNs.
  assert.match(run.stderr, /3 of 4 connections failed \(ERR_CONNECT_TIMEOUT: no answer within 0\.5 s\)/);
  // The one that connected is never read from: the run goes on to say so, and why that usually is, in one line.
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    /^handoff bench: target h64 16 B: no reply from 127\.0\.0\.1:\d+ could be read \(.*must use the same header size \(this side used 64-byte headers/m,
  );
  assert.ok(run.ms < BOUND_MS / 2, `${run.ms} ms`);
});

test('when every connect stalls, bench fails within the bound with one line: target unreachable, connect timed out', async (t) => {
  const port = await startStalledListener(t);
  await fillBacklog(t, port);
  const run = await bench(['--target', `127.0.0.1:${port}`, '-c', '2', '--connect-timeout', '0.5', ...SHORT]);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}: no answer within 0\\.5 s$`, 'm'));
  assert.ok(run.ms < BOUND_MS / 2, `${run.ms} ms`);
});
