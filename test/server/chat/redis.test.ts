// Several servers on one Redis (`--redis`, the old name of `--bus redis://`): what only this
// bus has. The guarantees every bus shares (messages cross exactly once and in order, !WHO
// and presence span the servers, a killed server's members leave within 15 s) are in
// buses.test.ts. Here: while Redis is away chat goes on within each server, and crosses
// again once it is back.
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { ACK_TEXT } from '../../../src/protocol/index.ts';
import { chatServerOn } from '../../helpers/chat-buses.ts';
import { ChatPeer } from '../../helpers/chat-wire.ts';
import { eventuallyAsync, redisClient } from '../../helpers/chat-redis.ts';
import { nthEvent } from '../../helpers/process.ts';
import { redisAvailable, startRedis } from '../../helpers/redis.ts';
import { eventually, sleep } from '../../helpers/wire.ts';

const skip = redisAvailable() ? false : 'redis-server is not installed (apt-get install redis-server)';

const chatServer = (t: TestContext, redisUrl: string) => chatServerOn(t, ['--redis', redisUrl], ['--workers', '2']);

describe('chat across servers (Redis)', { skip, concurrency: true }, () => {
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

  test("!WHO lists this server's members from its own roster and leaves the asker out by id: another server's member of the same name stays, even when Redis lost this server's entries", async (t) => {
    const redis = await startRedis(t);
    const [s1, s2] = await Promise.all([chatServer(t, redis.url), chatServer(t, redis.url)]);
    const asker = await ChatPeer.connect(t, s1.address);
    const carol = await ChatPeer.connect(t, s1.address);
    const twin = await ChatPeer.connect(t, s2.address);
    for (const [peer, name] of [
      [asker, 'alice'],
      [carol, 'carol'],
      [twin, 'alice'],
    ] as const) {
      assert.equal(await peer.request(`!NICK ${name}`), `!OK NICK ${name}`);
    }
    assert.deepEqual((await asker.who()).members, ['alice', 'alice', 'carol']);
    // Redis loses s1's entries of the lobby (as after a restart, before s1 writes them again).
    const s1Id = String((await nthEvent(s1.p, 'bus')).server);
    const raw = redisClient(t, redis.url);
    const fields = Object.keys(await raw.hgetall('handoff:room:lobby')).filter((f) => f.startsWith(`${s1Id}:`));
    assert.equal(fields.length, 2);
    await raw.hdel('handoff:room:lobby', ...fields);
    const reply = await asker.request('!WHO');
    assert.equal(reply.split(' ')[3], 'alice', 'the asker first');
    assert.deepEqual(reply.split(' ').slice(3).sort(), ['alice', 'alice', 'carol'], reply);
    assert.deepEqual(
      (await twin.who()).members,
      ['alice'],
      's2 sees what Redis has: s1 writes it again at its next repair',
    );
  });

  test('Redis restarted without its data: the servers write their members again and nobody hears a !JOINED twice', async (t) => {
    const redis = await startRedis(t);
    const [s1, s2] = await Promise.all([chatServer(t, redis.url), chatServer(t, redis.url)]);
    const alice = await ChatPeer.connect(t, s1.address);
    assert.equal(await alice.request('!NICK alice'), '!OK NICK alice');
    const bob = await ChatPeer.connect(t, s2.address);
    assert.equal(await bob.request('!NICK bob'), '!OK NICK bob');
    await alice.waitDelivery(`!JOINED lobby ${bob.address}`);
    await redis.stop();
    await startRedis(t, redis.port); // --save '' --appendonly no: it comes back empty
    for (const s of [s1, s2]) assert.match(String((await nthEvent(s.p, 'bus', 3, 15_000)).msg), /connected again/);
    // Membership is back (written again), and a message crosses: the repair is done.
    await eventuallyAsync(async () => (await bob.who()).members.length === 2, '!WHO across servers again', 10_000);
    let n = 0;
    const crossed = () => bob.texts().some((d) => d.startsWith('!MSG lobby alice after '));
    while (!crossed() && n < 50) {
      await alice.request(`after ${++n}`);
      await sleep(200);
    }
    await sleep(1_000);
    const joined = (peer: ChatPeer) => peer.texts().filter((d) => d.startsWith('!JOINED '));
    assert.deepEqual(joined(alice), [`!JOINED lobby ${bob.address}`], joined(alice).join('|'));
    assert.deepEqual(joined(bob), [], 'bob never missed alice: she was there before him');
  });
});
