// Strategy handoff spreads connections over its workers: with 200 connections no
// worker gets more than twice its fair share (nor less than half of it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT } from '../../../src/protocol/index.ts';
import { connectMany, withServer } from '../../helpers/wire.ts';

const CONNECTIONS = 200;

for (const workers of [2, 4]) {
  test(`handoff with ${workers} workers: ${CONNECTIONS} connections, no worker gets more than twice (or less than half) its fair share`, async (t) => {
    const server = await withServer(t, { strategy: 'handoff', workers });
    const clients = await connectMany(t, server, CONNECTIONS);
    await Promise.all(
      clients.map(async (c) => {
        await c.send('hi');
        assert.equal(await c.readText(), ACK_TEXT);
      }),
    );
    const { workers: perWorker, totalConnections } = server.stats();
    assert.equal(perWorker.length, workers, 'one stats entry per worker');
    assert.equal(totalConnections, CONNECTIONS);
    const counts = perWorker.map((w) => w.totalConnections);
    t.diagnostic(`connections per worker: ${counts.join(', ')}`);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      CONNECTIONS,
      'the workers account for every connection',
    );
    const fair = CONNECTIONS / workers;
    for (const [i, n] of counts.entries()) {
      assert.ok(n <= 2 * fair, `worker ${i} got ${n} > 2 x ${fair}`);
      assert.ok(n >= fair / 2, `worker ${i} got ${n} < ${fair} / 2`);
    }
    assert.deepEqual(
      perWorker.map((w) => w.activeConnections).reduce((a, b) => a + b, 0),
      CONNECTIONS,
    );
  });
}
