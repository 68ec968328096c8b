// A target that drops SYNs (a full backlog): the connect phase ends at the
// connect deadline, whatever the kernel does with the stalled connects.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import type { BenchResult } from '../../../src/bench/results/result.ts';
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
  const run = await bench(['--target', `127.0.0.1:${port}`, '-c', '4', '--connect-timeout', '0.5', '--json', ...SHORT]);
  assert.equal(run.code, 0, run.stderr);
  const m = (JSON.parse(run.stdout) as BenchResult).measurements[0]!;
  // The kernel completed one handshake (the accept queue holds one) and dropped the other SYNs.
  assert.equal(m.connect.failed, 3, JSON.stringify(m.connect));
  assert.equal(m.errors.kinds.ERR_CONNECT_TIMEOUT, 3, JSON.stringify(m.errors));
  assert.match(m.connect.firstError, /ERR_CONNECT_TIMEOUT/);
  assert.ok(m.connect.ms >= 450 && m.connect.ms < 2_000, `connect phase ${m.connect.ms} ms`);
  assert.match(run.stderr, /3 of 4 connections failed \(ERR_CONNECT_TIMEOUT/);
});

test('when every connect stalls, bench fails within the bound with one line: target unreachable, connect timed out', async (t) => {
  const port = await startStalledListener(t);
  await fillBacklog(t, port);
  const run = await bench(['--target', `127.0.0.1:${port}`, '-c', '2', '--connect-timeout', '0.5', ...SHORT]);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}: ERR_CONNECT_TIMEOUT`));
  assert.ok(run.ms < BOUND_MS / 2, `${run.ms} ms`);
});
