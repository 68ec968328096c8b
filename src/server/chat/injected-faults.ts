/**
 * The chat's test-only fault switches, read once when a thread or the Redis bridge
 * starts (never set in real use): tests use them to prove that a slow thread loses
 * nothing, that a throw in a bus handler costs one message, and that Redis faults
 * longer than a liveness period are survived. The connections' own switches are in
 * session/injected-faults.ts.
 */

/**
 * Test-only fault injection: every chat thread applies what the bus brings this many
 * milliseconds late (a slow thread), read once when the thread starts.
 */
export const BUS_DELAY_ENV = 'HANDOFF_TEST_BUS_DELAY_MS';

/**
 * Test-only fault injection: the chat bus handler of every thread, and the Redis bridge's
 * handler of what other servers publish, throw when what they handle holds these bytes.
 */
export const BUS_FAULT_ENV = 'HANDOFF_TEST_BUS_FAULT';

/** BUS_FAULT_ENV's bytes, read once by whoever calls it at start; null in real use. */
export function busFaultMarker(): Buffer | null {
  const text = process.env[BUS_FAULT_ENV];
  return text ? Buffer.from(text, 'utf8') : null;
}

/**
 * Test-only: the cross-server bus's heartbeat, liveness, command and confirmation times
 * (every bus, server-bus.ts) are multiplied by this (e.g. 0.5), so that faults longer than
 * a liveness period take seconds in a test. Read once when the bus module loads.
 */
export const REDIS_TIME_SCALE_ENV = 'HANDOFF_TEST_REDIS_TIME_SCALE';
