// What the helpers that start real services (a Redis Cluster, a NATS cluster) share: ports
// that are free and not handed out twice, and a kill that waits for the exit.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from './redis.ts';

/** A source of free loopback ports, none given twice (two in a row could be the same port otherwise). */
export function portPicker(): () => Promise<number> {
  const given = new Set<number>();
  return async () => {
    for (;;) {
      const port = await freePort();
      if (!given.has(port)) {
        given.add(port);
        return port;
      }
    }
  };
}

/** SIGKILL, resolved once it has exited (at once if it had already). */
export async function killAndWait(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}
