// What the chat run tests share: short settings, and every check of one measurement.
import assert from 'node:assert/strict';
import type { BenchOptions } from '../../../src/bench/options.ts';
import type { ChatMeasurement } from '../../../src/bench/results/chat-result.ts';

export const SHORT: BenchOptions = {
  mode: 'chat',
  durationS: 0.6,
  warmupS: 0.2,
  timeoutS: 3,
  connectTimeoutS: 5,
  out: '',
  progress: false,
};

/** Every guarantee the checker can see, and the exact counts, for one measurement. */
export function assertExact(m: ChatMeasurement): void {
  const c = m.check;
  assert.equal(m.errors.total, 0, `${m.key}: ${m.errors.first}`);
  assert.ok(c.expected > 0, `${m.key}: something was sent inside the window`);
  assert.equal(c.delivered, c.expected, `${m.key}: window deliveries`);
  assert.equal(c.lost, 0);
  assert.equal(c.deliveredTotal, c.expectedTotal, `${m.key}: every message, warm-up included`);
  assert.equal(c.lostTotal, 0);
  assert.equal(c.duplicates, 0);
  assert.equal(c.reordered, 0);
  assert.equal(c.unexpected, 0);
  assert.equal(c.closedConnections, 0);
  assert.equal(c.drained, true);
  assert.equal(c.expectedTotal, Math.round(m.sent.total * m.recipientsPerMessage), 'expected = sent x recipients');
  assert.equal(m.latencyUs.count, c.delivered, 'one latency per distinct delivery of a window message');
  assert.ok(m.latencyUs.p50 > 0 && m.latencyUs.p50 <= m.latencyUs.p99 && m.latencyUs.p99 <= m.latencyUs.max);
  assert.ok(m.deliveriesPerSec.receivers > 0 && m.deliveriesPerSec.receivers <= m.deliveriesPerSec.all);
}
