// Redis faults survived and bounded: two servers on a real redis-server, server s1 through
// a fault proxy (test/helpers/fault-proxy.ts) whose mode switches while they run, and a
// SIGSTOP of redis-server itself. For each fault: while it lasts chat goes on within each
// server and a new client's first reply comes within a few seconds, on every server; once
// it is over, membership (!WHO on both servers), presence (the !JOINED / !LEFT the other
// side missed) and messages across servers come back right. What pub/sub loses meanwhile
// (at most once) is what docs/chat.md ("Several servers", faults) says, and nothing else.
//
// The bus's times are halved (HANDOFF_TEST_REDIS_TIME_SCALE): heartbeat 1 s, liveness
// 5 s, command timeout and confirmation deadline 1 s.
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { ACK_TEXT } from '../../../src/protocol/index.ts';
import { REDIS_TIME_SCALE_ENV } from '../../../src/server/chat/injected-faults.ts';
import { ChatPeer } from '../../helpers/chat-wire.ts';
import { type ChatServer, chatServer, droppedFor, redisClient } from '../../helpers/chat-redis.ts';
import { nthEvent } from '../../helpers/process.ts';
import { FaultProxy } from '../../helpers/fault-proxy.ts';
import { redisAvailable, type RedisProcess, startRedis } from '../../helpers/redis.ts';
import { eventually, sleep } from '../../helpers/wire.ts';

const skip = redisAvailable() ? false : 'redis-server is not installed (apt-get install redis-server)';
const ENV = { [REDIS_TIME_SCALE_ENV]: '0.5' };
const LIVENESS_MS = 5_000;
/** "A new client gets its first reply within a few seconds." */
const FIRST_REPLY_MS = 3_000;

interface Side {
  server: ChatServer;
  peers: Map<string, ChatPeer>;
}

interface Setup {
  redis: RedisProcess;
  proxy: FaultProxy;
  s1: Side;
  s2: Side;
}

/** s1 on Redis through the proxy, s2 straight on it; a1, a2 on s1 and b1, b2 on s2, named. */
async function setup(t: TestContext, direct = false): Promise<Setup> {
  const redis = await startRedis(t);
  const proxy = await FaultProxy.start(t, { port: redis.port });
  const [server1, server2] = await Promise.all([
    chatServer(t, direct ? redis.url : proxy.url, ['--workers', '1'], ENV),
    chatServer(t, redis.url, ['--workers', '1'], ENV),
  ]);
  const s1: Side = { server: server1, peers: new Map() };
  const s2: Side = { server: server2, peers: new Map() };
  for (const [side, names] of [
    [s1, ['a1', 'a2']],
    [s2, ['b1', 'b2']],
  ] as const) {
    for (const name of names) await join(t, side, name);
  }
  await everyoneSees(s1, s2);
  return { redis, proxy, s1, s2 };
}

/** A new named member on `side`; its first reply (to `!NICK`) within FIRST_REPLY_MS. */
async function join(t: TestContext, side: Side, name: string): Promise<ChatPeer> {
  const started = performance.now();
  const peer = await ChatPeer.connect(t, side.server.address, { settle: false });
  assert.equal(await peer.request(`!NICK ${name}`, FIRST_REPLY_MS), `!OK NICK ${name}`);
  t.diagnostic(`${name}: first reply after ${Math.round(performance.now() - started)} ms`);
  side.peers.set(name, peer);
  return peer;
}

async function leave(side: Side, name: string): Promise<void> {
  const peer = side.peers.get(name)!;
  side.peers.delete(name);
  assert.equal(await peer.request('!DISCONNECT', FIRST_REPLY_MS), ACK_TEXT);
  await peer.wire.waitClose();
}

/** While a fault lasts: members of one server reach each other, !WHO answers within a few seconds. */
async function chatGoesOnWithin(side: Side, text: string): Promise<void> {
  const [first, second] = [...side.peers.entries()];
  assert.equal(await first![1].request(text, FIRST_REPLY_MS), ACK_TEXT);
  await second![1].waitDelivery(`!MSG lobby ${first![0]} ${text}`, FIRST_REPLY_MS);
  assert.match(await first![1].request('!WHO', FIRST_REPLY_MS), /^!OK WHO lobby /);
}

let round = 0;

/** Membership, messages and presence span both servers again (within `boundMs`). */
async function everyoneSees(s1: Side, s2: Side, boundMs = 15_000): Promise<void> {
  const tag = `r${++round}`;
  const names = [...s1.peers.keys(), ...s2.peers.keys()].sort();
  for (const side of [s1, s2]) {
    const asker = [...side.peers.values()][0]!;
    const deadline = performance.now() + boundMs;
    let members: string[] = [];
    while (performance.now() < deadline) {
      members = (await asker.who()).members;
      if (members.join() === names.join()) break;
      await sleep(200);
    }
    assert.deepEqual(members, names, '!WHO lists exactly the members of both servers');
  }
  // Messages cross both ways (send until one does: a server may still be re-subscribing), in order after that.
  for (const [from, to] of [
    [s1, s2],
    [s2, s1],
  ] as const) {
    const [name, sender] = [...from.peers.entries()][0]!;
    const receivers = [...to.peers.values()];
    let n = 0;
    const deadline = performance.now() + boundMs;
    const crossed = () =>
      receivers.every((r) => r.texts().some((d) => d.startsWith(`!MSG lobby ${name} ${tag} probe `)));
    while (!crossed() && performance.now() < deadline) {
      await sender.request(`${tag} probe ${n++}`);
      await eventually(crossed, 'a probe across', 300).catch(() => {});
    }
    assert.ok(crossed(), `a message from ${name} reaches the other server`);
    for (let i = 0; i < 5; i++) await sender.request(`${tag} in order ${i}`);
    const inOrder = (r: ChatPeer) => r.texts().filter((d) => d.startsWith(`!MSG lobby ${name} ${tag} in order `));
    for (const r of receivers) {
      await eventually(() => inOrder(r).length >= 5, 'all 5, after one crossed');
      assert.deepEqual(
        inOrder(r),
        [0, 1, 2, 3, 4].map((i) => `!MSG lobby ${name} ${tag} in order ${i}`),
      );
    }
  }
}

/**
 * `peer` hears `name` (of `side`) join: as its address when the `!JOINED` went out live, before
 * its `!NICK`; as `name` when it was published after the fault (presence carries the name of
 * the moment).
 */
async function heardJoin(peer: ChatPeer, side: Side, name: string, boundMs: number): Promise<void> {
  const address = side.peers.get(name)!.address;
  const forms = [`!JOINED lobby ${name}`, `!JOINED lobby ${address}`];
  await peer.waitDelivery((d) => forms.includes(d.toString()), boundMs);
}

/** No member of `side` was ever told that a co-member of its own server left while it did not. */
function noFalseLeft(side: Side): void {
  for (const [name, peer] of side.peers) {
    for (const other of side.peers.keys()) {
      if (other !== name) assert.ok(!peer.texts().includes(`!LEFT lobby ${other}`), `${name} heard ${other} leave`);
    }
  }
}

describe('Redis faults: chat survives them, and comes back whole', { skip, concurrency: 2 }, () => {
  test('stall shorter than a heartbeat miss: nothing is lost, what was held arrives after', async (t) => {
    const { proxy, s1, s2 } = await setup(t);
    proxy.set('stall');
    await chatGoesOnWithin(s1, 'during the stall');
    await chatGoesOnWithin(s2, 'meanwhile on s2');
    await join(t, s2, 'b3'); // the other server is not held up
    assert.equal(await s1.peers.get('a1')!.request('held across'), ACK_TEXT);
    proxy.set('pass');
    // Bytes held in a stall are delivered once it ends: this message crosses late, not never.
    await s2.peers.get('b1')!.waitDelivery('!MSG lobby a1 held across', 10_000);
    await everyoneSees(s1, s2);
    noFalseLeft(s1);
  });

  test('stall longer than the liveness period: s1 is taken for dead, then comes back with its members', async (t) => {
    const { proxy, s1, s2 } = await setup(t);
    proxy.set('stall');
    const b1 = s2.peers.get('b1')!;
    // s2 reaps s1 (its members leave s2's !WHO, s2's members hear !LEFT); s1's own members hear nothing of it.
    await b1.waitDelivery('!LEFT lobby a1', LIVENESS_MS + 8_000);
    await chatGoesOnWithin(s1, 'cut off');
    await join(t, s1, 'a3');
    proxy.set('pass');
    // Back: s1 writes its members again and publishes the !JOINED that s2's members need.
    for (const name of ['a1', 'a2', 'a3']) await heardJoin(b1, s1, name, 15_000);
    await everyoneSees(s1, s2);
    noFalseLeft(s1);
  });

  test('drop (bytes lost, connections left open): detected, reconnected, the missed presence published', async (t) => {
    const { proxy, s1, s2 } = await setup(t);
    proxy.set('drop');
    await chatGoesOnWithin(s1, 'while dropped');
    await leave(s1, 'a2');
    await join(t, s1, 'a3');
    // A connection that loses bytes never closes by itself: s1 finds out from its heartbeats.
    await eventually(
      () => s1.server.p.stdout.some((l) => l.includes('lost the connection')),
      'the dead connection detected',
      10_000,
    );
    await chatGoesOnWithin(s1, 'still dropped');
    proxy.set('pass');
    const b1 = s2.peers.get('b1')!;
    await b1.waitDelivery('!LEFT lobby a2', 15_000);
    await heardJoin(b1, s1, 'a3', 15_000);
    await everyoneSees(s1, s2);
    noFalseLeft(s1);
  });

  test('reset (connections torn down and refused): reconnected with backoff, membership written again', async (t) => {
    const { proxy, s1, s2 } = await setup(t);
    proxy.set('reset');
    await chatGoesOnWithin(s1, 'while refused');
    await leave(s1, 'a1');
    await join(t, s1, 'a3');
    await sleep(1_000);
    proxy.set('pass');
    const b2 = s2.peers.get('b2')!;
    await b2.waitDelivery('!LEFT lobby a1', 15_000);
    await heardJoin(b2, s1, 'a3', 15_000);
    await everyoneSees(s1, s2);
  });

  test('slow (250 ms each way): everything works, later; nothing dropped', async (t) => {
    const { proxy, s1, s2 } = await setup(t);
    proxy.set('slow', 250);
    await join(t, s1, 'a3');
    await heardJoin(s2.peers.get('b1')!, s1, 'a3', 5_000);
    await everyoneSees(s1, s2);
    for (const side of [s1, s2]) assert.equal(await droppedFor(side.server, 'error'), 0);
  });

  test('heartbeats never overlap: on a link slower than their period, each starts after the last has ended', async (t) => {
    const redis = await startRedis(t);
    const proxy = await FaultProxy.start(t, { port: redis.port });
    const server = await chatServer(t, proxy.url, ['--workers', '1']); // real times: a heartbeat every 2 s
    const id = String((await nthEvent(server.p, 'bus')).server);
    const monitor = redisClient(t, redis.url);
    const beats: number[] = [];
    const watching = await monitor.monitor();
    watching.on('error', () => {});
    t.after(() => watching.disconnect());
    watching.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'set' && args[1] === `handoff:alive:${id}`) beats.push(performance.now());
    });
    proxy.set('slow', 800); // a round trip of 1.6 s, most of a heartbeat period
    await eventually(() => beats.length >= 4, '4 heartbeats', 30_000);
    const gaps = beats.slice(2).map((at, i) => at - beats[i + 1]!); // from the first beat on the slow link
    t.diagnostic(`gaps between heartbeats: ${gaps.map((g) => Math.round(g)).join(', ')} ms`);
    // A timer of 2 s after the last one ended, which took at least one round trip (1.6 s).
    for (const gap of gaps) assert.ok(gap >= 2_000 + 1_200, `a heartbeat ${Math.round(gap)} ms after the one before`);
  });

  test('redis-server SIGSTOPped past the liveness period, then SIGCONT: nobody is reaped, nothing else lost', async (t) => {
    const { redis, s1, s2 } = await setup(t, true);
    redis.child.kill('SIGSTOP');
    t.after(() => redis.child.kill('SIGCONT'));
    for (const [side, name] of [
      [s1, 'a3'],
      [s2, 'b3'],
    ] as const) {
      await chatGoesOnWithin(side, 'redis is stopped');
      await join(t, side, name); // within a few seconds, on every server
    }
    await sleep(LIVENESS_MS + 1_000); // every liveness key expires meanwhile
    redis.child.kill('SIGCONT');
    await everyoneSees(s1, s2);
    noFalseLeft(s1);
    noFalseLeft(s2);
    for (const [a, b] of [
      [s1, s2],
      [s2, s1],
    ] as const) {
      for (const peer of a.peers.values()) {
        for (const name of ['a1', 'a2', 'b1', 'b2']) {
          if (b.peers.has(name)) assert.ok(!peer.texts().includes(`!LEFT lobby ${name}`), `a false !LEFT ${name}`);
        }
      }
    }
  });
});
