// One failure boundary per chat callback: whatever escapes the chat bus handler of a thread,
// or the Redis bridge's handler of what other servers publish, drops that one message or
// batch (logged once per burst, counted as handoff_bus_dropped_total{reason="error"}); the
// thread, the server and every session go on. Proven by fault injection: with
// HANDOFF_TEST_BUS_FAULT set, handling a delivery that holds those bytes throws. The
// end-of-turn flush is a boundary too: a throw while it writes a connection ends that one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT } from '../../../src/protocol/index.ts';
import { BUS_FAULT_ENV } from '../../../src/server/chat/injected-faults.ts';
import { CRASH_AT_ENV, CRASH_PAYLOAD_ENV } from '../../../src/server/session/injected-faults.ts';
import { INTERNAL_ERROR_TEXT } from '../../../src/server/session/session.ts';
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

test("a throw in the chat's end-of-turn flush costs that connection only: [ERROR], a session fault, the others go on", async (t) => {
  const CRASH = 'TEST-CRASH-IN-THE-FLUSH'; // a message (a `!` would make it a command)
  // One thread: every member shares the flush that throws (a thread that died would take them all).
  const p = run(t, ['serve', '--port', '0', '--json', '--mode', 'chat', '--workers', '1', '--metrics-port', '0'], {
    [CRASH_PAYLOAD_ENV]: CRASH,
    [CRASH_AT_ENV]: 'chat-flush',
  });
  const address = await listening(p);
  const metricsPort = Number((await nthEvent(p, 'metrics')).port);
  const peers: ChatPeer[] = [];
  for (let i = 0; i < 4; i++) peers.push(await ChatPeer.connect(t, address));
  const [victim, ...others] = peers as [ChatPeer, ...ChatPeer[]];

  await victim.send(CRASH); // its write in the flush of this turn throws
  await victim.wire.waitClose(5000);
  const error = victim.replies.map((r) => r.toString('utf8')).find((r) => r.startsWith('!ERROR'));
  assert.equal(error, `!ERROR SHUTTING_DOWN ${INTERNAL_ERROR_TEXT}`);
  const fault = await nthEvent(p, 'session-fault');
  assert.equal(fault.remote, victim.address, 'the line names the connection');
  assert.equal(fault.where, 'chat-flush');
  assert.match(String(fault.msg), /^\[ERROR\] .*internal error in the chat's end-of-turn flush: injected fault/);
  assert.equal(await metricValue(metricsPort, 'handoff_session_faults_total'), 1);

  // The others were written in the same flush and go on: messages, presence, !WHO.
  for (const o of others) await o.waitDelivery(`!MSG lobby ${victim.address} ${CRASH}`);
  for (const o of others) await o.waitDelivery(`!LEFT lobby ${victim.address}`);
  assert.equal(await others[0]!.request('after the fault'), ACK_TEXT);
  for (const o of others.slice(1)) await o.waitDelivery(`!MSG lobby ${others[0]!.address} after the fault`);
  assert.deepEqual((await others[1]!.who()).members, others.map((x) => x.address).sort());
  assert.ok(!p.stdout.some((l) => l.includes('"worker-died"')), 'no worker thread died');
});
