/**
 * Server processes the bench starts and stops (handoff, nats-server,
 * redis-server, the reference servers): a free loopback port, waiting until
 * one accepts connections, and stopping a child for sure.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EmbeddedServerError } from '../../protocol/index.ts';

const STOP_TIMEOUT_MS = 6_000;

/** A loopback port that was free a moment ago (for servers that cannot pick their own and say which). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Resolves once `host:port` accepts a connection; fails after `timeoutMs`, or when `child` exits first. */
export async function waitForPort(
  host: string,
  port: number,
  timeoutMs: number,
  child?: ChildProcess,
  what = `${host}:${port}`,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child && child.exitCode !== null)
      throw new EmbeddedServerError(`${what} exited (${child.exitCode}) before listening`);
    if (await accepts(host, port)) return;
    await sleep(25);
  }
  throw new EmbeddedServerError(`${what} did not start listening on ${host}:${port} within ${timeoutMs / 1000} s`);
}

/** SIGTERM, then SIGKILL if it is still there after a few seconds; resolves once it has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Where a program is: a path as given, else the first of PATH (and the sbin folders, where Debian puts servers). */
export function findProgram(name: string): string | null {
  const runnable = (file: string) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (name.includes('/')) return runnable(name) ? name : null;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir && runnable(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

export interface StartedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Starts `program` with `args(port)` on a free loopback port and waits until it
 * accepts connections. Its stderr's tail goes into the error if it fails.
 */
export async function startListeningProgram(
  name: string,
  program: string,
  args: (port: number) => string[],
  startTimeoutMs = 10_000,
): Promise<StartedProcess> {
  const found = findProgram(program);
  if (!found) throw new EmbeddedServerError(`cannot find ${program} (install it, or give its path)`);
  const port = await freePort();
  const child = spawn(found, args(port), { stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-1000);
  });
  const failed = new Promise<never>((_, reject) => child.once('error', reject));
  failed.catch(() => {});
  try {
    await Promise.race([waitForPort('127.0.0.1', port, startTimeoutMs, child, name), failed]);
  } catch (err) {
    child.kill('SIGKILL');
    const detail = tail.trim() ? `: ${tail.trim().split('\n').slice(-2).join(' | ')}` : '';
    throw new EmbeddedServerError(`cannot start ${name}: ${(err as Error).message}${detail}`, { cause: err });
  }
  return { name, child, pid: child.pid!, port, stop: () => stopChild(child) };
}
