/**
 * Test-only fault injection, read once when a serving thread starts (never set in real
 * use). Tests use it to prove that a throw in our own code costs one connection, and that
 * a thread that dies all the same costs only its own connections. The chat's own switches
 * are in chat/injected-faults.ts.
 */

/**
 * A message with exactly this payload makes our own code throw while serving that
 * connection, at the place CRASH_AT_ENV names (default: in the read callback). The failure
 * boundaries must cost that connection only.
 */
export const CRASH_PAYLOAD_ENV = 'HANDOFF_TEST_CRASH_PAYLOAD';
/** Where CRASH_PAYLOAD_ENV's fault is thrown: `read`, `sweep`, `timer`, `adopt` or `chat-flush`. */
export const CRASH_AT_ENV = 'HANDOFF_TEST_CRASH_AT';
/**
 * A message with exactly this payload ends its serving thread (a throw outside every
 * failure boundary), the way a bug in Node or a native module would.
 */
export const KILL_THREAD_PAYLOAD_ENV = 'HANDOFF_TEST_KILL_THREAD_PAYLOAD';

/**
 * Where the injected throw happens, one per failure boundary:
 * - `read`: in the read callback, while the message is handled;
 * - `sweep`: in the timeout sweep's next check of that connection;
 * - `timer`: in the connection's close timer, once it ends (send `!DISCONNECT` after the payload);
 * - `adopt`: the first connection each thread serves fails before its session starts (no payload needed);
 * - `chat-flush`: chat mode, in the end-of-turn flush's write of that connection (the payload is a chat message).
 */
const CRASH_SITES = ['read', 'sweep', 'timer', 'adopt', 'chat-flush'] as const;
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
