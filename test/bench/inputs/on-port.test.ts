// --on-port -- <command>: a server written in anything is started with its port in $PORT,
// measured, and stopped; one that never listens or dies is one clear line.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { BenchResult } from '../../../src/bench/index.ts';
import { findProgram } from '../../../src/bench/load/processes.ts';

const run = promisify(execFile);
const HANDOFF = path.join(import.meta.dirname, '..', '..', '..', 'bin', 'handoff');
const SERVER = path.join(import.meta.dirname, '..', '..', 'fixtures', 'on-port-server.py');
const SHORT = ['-c', '3', '-w', '1', '--no-save', '--no-progress'];

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test(
  '--on-port -- python3 server.py: started on $PORT, benched, stopped',
  { skip: !findProgram('python3') },
  async () => {
    const pidFile = path.join(mkdtempSync(path.join(tmpdir(), 'handoff-on-port-')), 'pid');
    const { stdout } = await run(
      HANDOFF,
      ['bench', ...SHORT, '-s', '16', '-a', '300', '--json', '--on-port', '--', 'python3', SERVER],
      {
        env: { ...process.env, PID_FILE: pidFile },
        timeout: 30_000,
      },
    );
    const result = JSON.parse(stdout) as BenchResult;
    assert.equal(result.target.kind, 'external');
    assert.equal(result.measurements.length, 1);
    assert.equal(result.measurements[0]!.window.messages, 300);
    assert.equal(result.measurements[0]!.errors.total, 0);
    // Stopped at the end: the bench does not leave the user's server running.
    assert.equal(alive(Number(readFileSync(pidFile, 'utf8'))), false);
  },
);

test('--on-port: a command that exits before listening, or cannot be found, is one line and exit 1', async () => {
  for (const [command, said] of [
    [['node', '-e', 'process.exit(3)'], /--on-port: 'node -e process\.exit\(3\)' exited \(3\) before listening/],
    [['no-such-server-program'], /--on-port: cannot find no-such-server-program/],
  ] as const) {
    const err = await run(HANDOFF, ['bench', ...SHORT, '-a', '10', '--on-port', '--', ...command], {
      timeout: 30_000,
    }).then(
      () => assert.fail('accepted'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 1);
    assert.equal(err.stderr.trim().split('\n').length, 1, err.stderr);
    assert.match(err.stderr, said);
  }
});

test('--on-port: refused with --target, without a command, and a command after -- needs it', async () => {
  for (const [args, said] of [
    [
      ['--target', ':5050', '--on-port', '--', 'x'],
      /--on-port starts the server to measure: it cannot go with --target/,
    ],
    [['--on-port'], /--on-port needs a command/],
    [['--', 'python3', 'x.py'], /a command after -- \(python3\) needs --on-port/],
  ] as const) {
    const err = await run(HANDOFF, ['bench', ...SHORT, ...args]).then(
      () => assert.fail('accepted'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 2, err.stderr);
    assert.match(err.stderr, said);
  }
});
