// The same scenario against nats-server and redis-server, started on free loopback
// ports, and against two handoff servers joined by a redis-server: skipped, saying
// so, where the binaries are missing (CI installs them).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChatBench } from '../../../src/bench/load/chat/run.ts';
import { findProgram } from '../../../src/bench/load/processes.ts';
import { resolveBenchOptions } from '../../../src/bench/options.ts';
import { assertExact, SHORT } from '../helpers/chat.ts';

const nats = findProgram('nats-server');
const redis = findProgram('redis-server');
const missing = (name: string) => `${name} is not installed here (CI installs it): apt-get install ${name}`;

test(
  'nats-server: every receiver gets every message once, in order; senders PING every 10 messages',
  { skip: nats ? false : missing('nats-server') },
  async () => {
    const result = await runChatBench(
      resolveBenchOptions({
        ...SHORT,
        clients: 12,
        senders: 3,
        targetKinds: ['nats'],
        natsPingEvery: 10,
        window: 20,
        sizes: [16, 1024],
      }),
    );
    for (const m of result.measurements) {
      assertExact(m);
      assert.equal(m.variant, 'nats-server');
      assert.equal(m.recipientsPerMessage, 9, 'NATS senders do not subscribe: recipients = receivers');
      assert.deepEqual(
        m.server?.processes.map((p) => p.name),
        ['nats-server'],
      );
      assert.equal(m.server?.deliveriesCounted, null);
    }
  },
);

test(
  'redis-server: every receiver gets every message once, in order, and PUBLISH says it reached them all',
  { skip: redis ? false : missing('redis-server') },
  async () => {
    const result = await runChatBench(
      resolveBenchOptions({ ...SHORT, clients: 12, senders: 3, rooms: 3, targetKinds: ['redis'], sizes: [16] }),
    );
    const m = result.measurements[0]!;
    assertExact(m);
    assert.equal(m.variant, 'redis-server');
    assert.equal(m.recipientsPerMessage, 3);
    assert.equal(m.check.ackMismatches, 0);
  },
);

test(
  'two handoff servers on a redis-server (--redis): one room across both, exact, both servers counted',
  { skip: redis ? false : missing('redis-server') },
  async () => {
    const result = await runChatBench(
      // At a rate, for the reason given in run.test.ts (receivers far behind are cut off).
      resolveBenchOptions({
        ...SHORT,
        rate: 2000,
        clients: 12,
        senders: 4,
        redis: true,
        serverWorkers: 1,
        sizes: [16],
      }),
    );
    const m = result.measurements[0]!;
    assertExact(m);
    assert.equal(m.variant, 'handoff w1 x2 +redis');
    assert.equal(m.recipientsPerMessage, 11);
    assert.deepEqual(
      m.server?.processes.map((p) => p.name),
      ['handoff 1', 'handoff 2', 'redis-server'],
    );
    assert.equal(m.server?.countsAgree, true, `${m.server?.deliveriesCounted} counted, ${m.server?.testerFrames} read`);
  },
);
