// A real `bin/handoff` process in a test: spawned, its stdout collected line by line, killed at the end.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

// HANDOFF_TEST_BIN: run these tests against another build of the command.
export const BIN = process.env.HANDOFF_TEST_BIN ?? fileURLToPath(new URL('../../bin/handoff', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  stdout: string[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `bin/handoff` with `args` (or `command`, e.g. bash with a ulimit before it). */
export function run(t: TestContext, args: string[], env?: NodeJS.ProcessEnv, command = BIN): Spawned {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env ? { ...process.env, ...env } : process.env,
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const stdout: string[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    partial += s;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    stdout.push(...lines);
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    err += s;
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return { child, stdout, stderr: () => err, exited };
}

/** What a finished `bin/handoff` run printed, and its exit status. */
export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin/handoff` with `args` and `stdin` piped in, to its end (killed, and rejected, after `limitMs`). */
export function runToEnd(args: string[], stdin: string, limitMs = 15_000, env?: NodeJS.ProcessEnv): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: env ? { ...process.env, ...env } : process.env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`handoff ${args.join(' ')} did not exit within ${limitMs} ms; stderr: ${stderr}`));
    }, limitMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

/** `promise`'s value, or null if it takes longer than `ms` (the timer never outlives the race). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<null>((r) => (timer = setTimeout(() => r(null), Math.max(0, ms)))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The host and port of the `"event":"listening"` JSON line. */
export async function listening(p: Spawned, boundMs = 20_000): Promise<{ host: string; port: number }> {
  const deadline = performance.now() + boundMs;
  for (;;) {
    for (const line of p.stdout) {
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (obj.event === 'listening') return { host: String(obj.host), port: Number(obj.port) };
    }
    if (p.child.exitCode !== null)
      throw new Error(`server exited (${p.child.exitCode}) before listening: ${p.stderr()}`);
    if (performance.now() > deadline)
      throw new Error(`no "listening" line in ${boundMs} ms; stdout: ${p.stdout.join('\n')}; stderr: ${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every JSON line printed so far (`--json`), parsed; other lines are skipped. */
export function jsonLines(p: Spawned): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of p.stdout) {
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not JSON
    }
  }
  return out;
}

/** The `n`th JSON line (1-based) with `event` equal to `event`, once printed; rejects after `boundMs`. */
export async function nthEvent(p: Spawned, event: string, n = 1, boundMs = 10_000): Promise<Record<string, unknown>> {
  const deadline = performance.now() + boundMs;
  for (;;) {
    const found = jsonLines(p).filter((line) => line.event === event);
    if (found.length >= n) return found[n - 1]!;
    if (p.child.exitCode !== null) throw new Error(`server exited (${p.child.exitCode}) before event ${event}`);
    if (performance.now() > deadline) {
      throw new Error(
        `no ${n}th "${event}" line in ${boundMs} ms; stdout: ${p.stdout.join('\n')}; stderr: ${p.stderr()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The server's own count of open connections, asked with SIGUSR2 (`n`: this is the `n`th stats line asked for). */
export async function activeConnections(p: Spawned, n: number): Promise<number> {
  p.child.kill('SIGUSR2');
  return Number((await nthEvent(p, 'stats', n)).activeConnections);
}
