// One failure boundary per chat callback: whatever escapes the chat bus handler of a thread,
// or the Redis bridge's handler of what other servers publish, drops that one message or
// batch (logged once per burst, counted as handoff_bus_dropped_total{reason="error"}); the
// thread, the server and every session go on. Proven by fault injection: with
// HANDOFF_TEST_BUS_FAULT set, handling a delivery that holds those bytes throws.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT } from '../../../src/protocol/index.ts';
import { BUS_FAULT_ENV } from '../../../src/server/chat/injected-faults.ts';
import { ChatPeer } from '../../helpers/chat-wire.ts';
import {
  chatServer,
  droppedFor,
  eventuallyAsync,
  handBatch,
  linesOf,
  metricValue,
  redisClient,
} from '../../helpers/chat-redis.ts';
import { listening, nthEvent, run } from '../../helpers/process.ts';
import { redisAvailable, startRedis } from '../../helpers/redis.ts';

const MARKER = 'BOOM-IN-THE-BUS-HANDLER';

test('a bus message whose handling throws is dropped: the thread and every session go on', async (t) => {
  const p = run(t, ['serve', '--port', '0', '--json', '--mode', 'chat', '--workers', '2', '--metrics-port', '0'], {
    [BUS_FAULT_ENV]: MARKER,
  });
  const address = await listening(p);
  const metricsPort = Number((await nthEvent(p, 'metrics')).port);
  const peers: ChatPeer[] = [];
  for (let i = 0; i < 6; i++) peers.push(await ChatPeer.connect(t, address));
  const [sender, ...others] = peers as [ChatPeer, ...ChatPeer[]];

  // The other thread's bus handler throws on this batch: its members miss this one message.
  assert.equal(await sender.request(`${MARKER} once`), ACK_TEXT);
  await eventuallyAsync(
    async () => (await metricValue(metricsPort, 'handoff_bus_dropped_total{reason="error"}')) >= 1,
    'the dropped bus message counted',
  );
  const line = linesOf({ p, address, metricsPort }, 'bus-dropped')[0]!;
  assert.match(
    line,
    /^\[ERROR\] chat thread \d+ dropped a deliver message from thread \d+ on the chat bus: injected fault/,
  );

  // Nothing else is lost: the next message reaches every other member on both threads, !WHO is whole.
  assert.equal(await sender.request('after the fault'), ACK_TEXT);
  for (const o of others) await o.waitDelivery(`!MSG lobby ${sender.address} after the fault`);
  for (const o of others) assert.equal(await o.request(`from ${o.address}`), ACK_TEXT);
  for (const o of others) await sender.waitDelivery(`!MSG lobby ${o.address} from ${o.address}`);
  assert.deepEqual((await others[0]!.who()).members, peers.map((x) => x.address).sort());
  assert.ok(!p.stdout.some((l) => l.includes('"worker-died"')), 'no worker thread died');
  const fresh = await ChatPeer.connect(t, address);
  assert.equal((await fresh.who()).members.length, 7, 'new connections are served on every thread');
});

test(
  'a Redis batch whose handling throws is dropped and counted; the server goes on',
  { skip: redisAvailable() ? false : 'redis-server is not installed' },
  async (t) => {
    const redis = await startRedis(t);
    const server = await chatServer(t, redis.url, ['--workers', '1'], { [BUS_FAULT_ENV]: MARKER });
    const member = await ChatPeer.connect(t, server.address);
    const publisher = redisClient(t, redis.url);
    const batch = (text: string) =>
      handBatch({ server: 'elsewhere', maxMessageBytes: 1048576, payloads: [`!MSG lobby dave ${text}`] });
    await publisher.publish('handoff:chat:lobby', batch(`${MARKER} in a batch`));
    await eventuallyAsync(async () => (await droppedFor(server, 'error')) === 1, 'the batch dropped as error');
    assert.match(linesOf(server, 'bus-dropped')[0]!, /dropped a batch on room lobby .*\(error\): injected fault/);
    await publisher.publish('handoff:chat:lobby', batch('the next one'));
    await member.waitDelivery('!MSG lobby dave the next one');
    assert.ok(!member.texts().some((d) => d.includes(MARKER)));
    assert.equal(server.p.child.exitCode, null);
  },
);
