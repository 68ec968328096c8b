/**
 * Test-only fault injection, read once when a serving thread starts (never set in real
 * use). Tests use it to prove that a throw in our own code costs one connection, and that
 * a thread that dies all the same costs only its own connections.
 */
import { CRASH_AT_ENV, CRASH_PAYLOAD_ENV, KILL_THREAD_PAYLOAD_ENV } from '../accept/worker-boot.ts';

/**
 * Where the injected throw happens, one per failure boundary:
 * - `read`: in the read callback, while the message is handled;
 * - `sweep`: in the timeout sweep's next check of that connection;
 * - `timer`: in the connection's close timer, once it ends (send `!DISCONNECT` after the payload);
 * - `adopt`: the first connection each thread serves fails before its session starts (no payload needed).
 */
export const CRASH_SITES = ['read', 'sweep', 'timer', 'adopt'] as const;
export type CrashSite = (typeof CRASH_SITES)[number];

export interface InjectedFaults {
  /** A message with exactly this payload makes our code throw at `crashAt`, for that connection. */
  crashPayload: Buffer | null;
  crashAt: CrashSite;
  /** A message with exactly this payload ends its thread. */
  killThreadPayload: Buffer | null;
}

/** The faults the environment asks for; null (the fast path: nothing is checked) when none. */
export function injectedFaults(env: NodeJS.ProcessEnv = process.env): InjectedFaults | null {
  const crash = env[CRASH_PAYLOAD_ENV];
  const kill = env[KILL_THREAD_PAYLOAD_ENV];
  const at = env[CRASH_AT_ENV] ?? 'read';
  if (!crash && !kill && at !== 'adopt') return null;
  if (!(CRASH_SITES as readonly string[]).includes(at)) {
    throw new Error(`${CRASH_AT_ENV} must be one of ${CRASH_SITES.join(', ')}, got '${at}'`);
  }
  return {
    crashPayload: crash ? Buffer.from(crash, 'utf8') : null,
    crashAt: at as CrashSite,
    killThreadPayload: kill ? Buffer.from(kill, 'utf8') : null,
  };
}

/** The error an injected fault throws: tests recognise it in the log by its words. */
export function injectedFault(what: string): Error {
  return new Error(`injected fault: ${what}`);
}
