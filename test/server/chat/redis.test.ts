// Several servers on one Redis are one chat (`--redis`): a real redis-server and two real
// server processes (2 worker threads each) on it. Messages cross, exactly once and in order;
// !WHO and presence span both; a server killed without goodbye loses its members within 15 s;
// while Redis is away chat goes on within each server, and crosses again once it is back.
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { ACK_TEXT, encodeFrame } from '../../../src/protocol/index.ts';
import { ChatPeer, parseMessage } from '../../helpers/chat-wire.ts';
import { listening, nthEvent, run, type Spawned } from '../../helpers/process.ts';
import { redisAvailable, startRedis } from '../../helpers/redis.ts';
import { eventually, sleep } from '../../helpers/wire.ts';

const skip = redisAvailable() ? false : 'redis-server is not installed (apt-get install redis-server)';

async function chatServer(
  t: TestContext,
  redisUrl: string,
): Promise<{ p: Spawned; address: { host: string; port: number } }> {
  const p = run(t, ['serve', '--port', '0', '--json', '--workers', '2', '--mode', 'chat', '--redis', redisUrl]);
  return { p, address: await listening(p) };
}

describe('chat across servers (Redis)', { skip, concurrency: true }, () => {
  test('messages cross both ways, presence and !WHO span both servers, effective on reply', async (t) => {
    const redis = await startRedis(t);
    const [s1, s2] = await Promise.all([chatServer(t, redis.url), chatServer(t, redis.url)]);
    const a = await ChatPeer.connect(t, s1.address);
    const b = await ChatPeer.connect(t, s2.address);
    assert.equal(await a.request('!NICK alice'), '!OK NICK alice');
    assert.equal(await b.request('!NICK bob'), '!OK NICK bob');
    assert.deepEqual((await a.who()).members, ['alice', 'bob']);

    assert.equal(await a.request('hello from s1'), ACK_TEXT);
    await b.waitDelivery('!MSG lobby alice hello from s1');
    assert.equal(await b.request('hello from s2'), ACK_TEXT);
    await a.waitDelivery('!MSG lobby bob hello from s2');

    // Effective on reply, across servers: once !OK JOIN is in, s1 lists it and reaches it at once.
    for (let round = 0; round < 5; round++) {
      assert.equal(await b.request(`!JOIN r${round}`), `!OK JOIN r${round}`);
      await a.waitDelivery(`!LEFT ${round === 0 ? 'lobby' : `r${round - 1}`} bob`);
      assert.equal(await a.request(`!JOIN r${round}`), `!OK JOIN r${round}`);
      assert.deepEqual((await a.who()).members, ['alice', 'bob']);
      await b.waitDelivery(`!JOINED r${round} alice`);
      await a.request(`in r${round}`);
      await b.waitDelivery(`!MSG r${round} alice in r${round}`);
    }
    // Nothing came back twice to its own server.
    const mine = a.texts().filter((d) => d.startsWith('!MSG') && d.includes(' alice '));
    assert.deepEqual(mine, [], 'a server never delivers its own member its own messages back');
    assert.equal(b.texts().filter((d) => d === '!MSG lobby alice hello from s1').length, 1);
  });

  test('many senders on both servers, pipelining: every member gets every other sender once, in order', async (t) => {
    const redis = await startRedis(t);
    const servers = await Promise.all([chatServer(t, redis.url), chatServer(t, redis.url)]);
    const MESSAGES = 300;
    const seen = new Map<ChatPeer, Map<string, number[]>>();
    const peers: ChatPeer[] = [];
    for (let i = 0; i < 8; i++) {
      const peer: ChatPeer = await ChatPeer.connect(t, servers[i % 2]!.address, {
        keepDeliveries: false,
        onDelivery: (payload) => {
          const m = parseMessage(payload);
          if (!m) return;
          const by = seen.get(peer)!;
          let list = by.get(m.from);
          if (!list) by.set(m.from, (list = []));
          list.push(Number(m.text.toString().split(' ')[1]));
        },
      });
      seen.set(peer, new Map());
      await peer.request(`!NICK p${i}`);
      peers.push(peer);
    }
    const senders = peers.slice(0, 4);
    await Promise.all(
      senders.map((s, i) =>
        s.wire.sendRaw(
          Buffer.concat(Array.from({ length: MESSAGES }, (_, n) => encodeFrame(Buffer.from(`p${i} ${n}`), 64))),
        ),
      ),
    );
    const names = senders.map((_, i) => `p${i}`);
    const expected = (peer: ChatPeer) => names.filter((n) => n !== `p${peers.indexOf(peer)}`);
    for (const peer of peers) {
      await eventually(
        () => expected(peer).every((n) => (seen.get(peer)!.get(n)?.length ?? 0) >= MESSAGES),
        `every message at ${peers.indexOf(peer)}`,
        20_000,
      );
    }
    await sleep(200);
    const inOrder = Array.from({ length: MESSAGES }, (_, n) => n);
    for (const peer of peers) {
      for (const n of expected(peer))
        assert.deepEqual(seen.get(peer)!.get(n), inOrder, `${n} -> p${peers.indexOf(peer)}`);
      assert.equal(seen.get(peer)!.size, expected(peer).length, 'nothing from itself');
    }
  });

  test('a server killed without goodbye: its members leave !WHO and their rooms get !LEFT within 15 s', async (t) => {
    const redis = await startRedis(t);
    const [s1, s2] = await Promise.all([chatServer(t, redis.url), chatServer(t, redis.url)]);
    const doomed = [await ChatPeer.connect(t, s1.address), await ChatPeer.connect(t, s1.address)];
    const survivor = await ChatPeer.connect(t, s2.address);
    await doomed[0]!.request('!NICK doomed0');
    await doomed[1]!.request('!NICK doomed1');
    assert.deepEqual((await survivor.who()).members, ['doomed0', 'doomed1', survivor.address].sort());
    const killedAt = performance.now();
    s1.p.child.kill('SIGKILL');
    for (const name of ['doomed0', 'doomed1']) await survivor.waitDelivery(`!LEFT lobby ${name}`, 15_000);
    t.diagnostic(`!LEFT after ${((performance.now() - killedAt) / 1000).toFixed(1)} s`);
    assert.ok(performance.now() - killedAt < 15_000);
    assert.deepEqual((await survivor.who()).members, [survivor.address]);
  });

  test('while Redis is away chat goes on within each server; once it is back, messages cross again', async (t) => {
    const redis = await startRedis(t);
    const [s1, s2] = await Promise.all([chatServer(t, redis.url), chatServer(t, redis.url)]);
    const a1 = await ChatPeer.connect(t, s1.address);
    const a2 = await ChatPeer.connect(t, s1.address);
    const b = await ChatPeer.connect(t, s2.address);
    await redis.stop();
    await nthEvent(s1.p, 'bus', 2); // connected, then lost
    assert.match(String((await nthEvent(s1.p, 'bus', 2)).msg), /lost the connection/);
    assert.equal(await a1.request('local only'), ACK_TEXT);
    await a2.waitDelivery(`!MSG lobby ${a1.address} local only`);
    assert.ok((await a1.who()).members.includes(a2.address), '!WHO answers from this server meanwhile');

    await startRedis(t, redis.port);
    await nthEvent(s1.p, 'bus', 3, 15_000);
    await nthEvent(s2.p, 'bus', 3, 15_000);
    assert.match(String((await nthEvent(s1.p, 'bus', 3)).msg), /connected again/);
    // Membership is written again on reconnection: !WHO spans both servers once more.
    await sleep(300);
    assert.deepEqual((await b.who()).members, [a1.address, a2.address, b.address].sort());
    // Pub/sub is at most once: s2's subscriber may still be re-subscribing when s1 says it is back,
    // so a message sent in that gap is lost (as docs/chat.md says). Send until one crosses, within 10 s.
    let sent = 0;
    const crossed = () => b.texts().some((d) => d.startsWith(`!MSG lobby ${a1.address} across again`));
    const deadline = performance.now() + 10_000;
    while (!crossed() && performance.now() < deadline) {
      assert.equal(await a1.request(`across again ${++sent}`), ACK_TEXT);
      await eventually(crossed, 'a delivery across again', 500).catch(() => {});
    }
    assert.ok(crossed(), `none of ${sent} messages crossed within 10 s of Redis coming back`);
  });
});
