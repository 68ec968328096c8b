// N handoff servers on a bus the bench starts itself (--servers, --bus): every room's
// members spread over the servers, so every message crosses the bus; nothing may be lost
// at a modest rate. Skipped, saying so, where the services are missing (CI installs them).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChatBench } from '../../../src/bench/load/chat/run.ts';
import { findProgram } from '../../../src/bench/load/processes.ts';
import { resolveBenchOptions } from '../../../src/bench/options.ts';
import type { BenchBus } from '../../../src/bench/results/chat-result.ts';
import { assertExact, SHORT } from '../helpers/chat.ts';

const needs: Record<Exclude<BenchBus, 'local'>, string[]> = {
  redis: ['redis-server'],
  'redis-cluster': ['redis-server', 'redis-cli'],
  nats: ['nats-server'],
};
const skipFor = (bus: Exclude<BenchBus, 'local'>) => {
  const missing = needs[bus].filter((p) => !findProgram(p));
  return missing.length ? `${missing.join(', ')} not installed here (CI installs them)` : false;
};

const expectedProcesses: Record<Exclude<BenchBus, 'local'>, string[]> = {
  redis: ['handoff 1', 'handoff 2', 'redis-server'],
  'redis-cluster': ['handoff 1', 'handoff 2', 'redis-cluster 1', 'redis-cluster 2', 'redis-cluster 3'],
  nats: ['handoff 1', 'handoff 2', 'nats 1', 'nats 2', 'nats 3'],
};

for (const bus of ['redis', 'nats', 'redis-cluster'] as const) {
  test(
    `--servers 2 --bus ${bus}: the bench starts the bus, four rooms span both servers, every delivery arrives once`,
    { skip: skipFor(bus), timeout: 60_000 },
    async () => {
      const result = await runChatBench(
        resolveBenchOptions({
          ...SHORT,
          rate: 1000,
          clients: 24,
          senders: 4,
          rooms: 4,
          servers: 2,
          bus,
          serverWorkers: 1,
          sizes: [16],
        }),
      );
      const m = result.measurements[0]!;
      assertExact(m);
      assert.equal(m.variant, `handoff w1 x2 +${bus}`);
      assert.deepEqual([m.servers, m.bus], [2, bus]);
      assert.equal(m.recipientsPerMessage, 5, 'each room: 1 sender and 5 receivers, the sender gets a copy');
      assert.deepEqual(
        m.server?.processes.map((p) => p.name),
        expectedProcesses[bus],
      );
      assert.equal(
        m.server?.countsAgree,
        true,
        `${m.server?.deliveriesCounted} counted, ${m.server?.testerFrames} read`,
      );
      assert.ok(
        m.server?.cpuUsPerDelivery !== null && m.server!.cpuUsPerDelivery! > 0,
        'the bus processes are measured',
      );
    },
  );
}
