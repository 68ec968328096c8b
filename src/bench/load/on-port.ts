/**
 * --on-port (autocannon's): starts any server command with a free loopback
 * port in $PORT, waits until that port accepts connections, and stops the
 * command (its whole process group: a shell and what it started) at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EmbeddedServerError } from '../../protocol/index.ts';
import { findProgram, freePort, waitForPort } from './processes.ts';

const STOP_TIMEOUT_MS = 5_000;

export interface OnPortServer {
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts `command` (its port in $PORT) and resolves once it listens on 127.0.0.1:$PORT, within `timeoutS`. */
export async function startOnPort(command: readonly string[], timeoutS: number): Promise<OnPortServer> {
  const [program, ...args] = command;
  const found = findProgram(program!);
  if (!found) throw new EmbeddedServerError(`--on-port: cannot find ${program} (install it, or give its path)`);
  const host = '127.0.0.1';
  const port = await freePort(host);
  // Its own process group, so that stopping it stops what a shell script started too.
  const child = spawn(found, args, {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let tail = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-1000);
  });
  const failed = new Promise<never>((_, reject) => child.once('error', reject));
  failed.catch(() => {});
  const what = `'${command.join(' ')}'`;
  try {
    await Promise.race([waitForPort(host, port, timeoutS * 1000, child, what), failed]);
  } catch (err) {
    await stopGroup(child);
    const detail = tail.trim() ? `; its last words: ${tail.trim().split('\n').slice(-2).join(' | ')}` : '';
    throw new EmbeddedServerError(
      `--on-port: ${(err as Error).message} (it is given the port in $PORT, ${port} here)${detail}`,
      { cause: err },
    );
  }
  return { host, port, stop: () => stopGroup(child) };
}

/** SIGTERM to the process group, SIGKILL after a few seconds; resolves once the command has exited. */
function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      child.kill(name);
    }
  };
  return new Promise((resolve) => {
    const timer = setTimeout(() => signal('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    signal('SIGTERM');
  });
}
