// What arrives on the Redis bus is untrusted: anyone can PUBLISH on a room's channel, and
// another server may run other limits. A batch this server cannot serve is dropped, logged
// once per burst with who sent it and why, counted (handoff_bus_dropped_total{reason}, the
// final line); nothing is decoded past its bounds; the server and its members go on. A
// server refuses to join a chat whose live servers run other limits (one line, exit 2).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ACK_TEXT } from '../../../src/protocol/index.ts';
import { ChatPeer } from '../../helpers/chat-wire.ts';
import {
  bareBatch,
  chatServer,
  droppedFor,
  enveloped,
  eventuallyAsync,
  handBatch,
  linesOf,
  redisClient,
} from '../../helpers/chat-redis.ts';
import { nthEvent, run } from '../../helpers/process.ts';
import { redisAvailable, startRedis } from '../../helpers/redis.ts';
import { eventually } from '../../helpers/wire.ts';

const skip = redisAvailable() ? false : 'redis-server is not installed (apt-get install redis-server)';
const MAX = 4096;
const LOBBY = 'handoff:chat:lobby';

describe('batches on the Redis bus are untrusted', { skip, concurrency: true }, () => {
  test('PUBLISH handoff:chat:lobby hello: dropped as garbage, logged, counted; the server and its members go on', async (t) => {
    const redis = await startRedis(t);
    const server = await chatServer(t, redis.url, ['--workers', '1']);
    const a = await ChatPeer.connect(t, server.address);
    const b = await ChatPeer.connect(t, server.address);
    assert.equal(await a.request('one message first'), ACK_TEXT);
    const publisher = redisClient(t, redis.url);
    assert.equal(await publisher.publish(LOBBY, 'hello'), 1, 'the server is subscribed to the lobby');

    await eventually(() => linesOf(server, 'bus-dropped').length === 1, 'a log line for the dropped batch');
    assert.match(
      linesOf(server, 'bus-dropped')[0]!,
      /dropped a batch on handoff:chat:lobby from an unknown sender \(garbage\)/,
    );
    assert.equal(await droppedFor(server, 'garbage'), 1);
    assert.equal(server.p.child.exitCode, null, 'the server is still running');
    assert.equal(await b.request('still chatting'), ACK_TEXT);
    await a.waitDelivery(`!MSG lobby ${b.address} still chatting`);
    assert.ok(!a.texts().some((d) => d.includes('hello')), 'nothing of it reached a member');

    // A well-formed batch from another server with the same limits is served.
    const good = handBatch({
      server: 'other',
      maxMessageBytes: 1048576,
      payloads: ['!MSG lobby carol hi from elsewhere'],
    });
    await publisher.publish(LOBBY, good);
    await a.waitDelivery('!MSG lobby carol hi from elsewhere');
    await b.waitDelivery('!MSG lobby carol hi from elsewhere');
  });

  test('every batch it cannot serve is dropped with its reason, one log line for the burst naming the sender', async (t) => {
    const redis = await startRedis(t);
    const server = await chatServer(t, redis.url, ['--workers', '2', '--max-message-bytes', String(MAX)]);
    const member = await ChatPeer.connect(t, server.address);
    const publisher = redisClient(t, redis.url);
    const limits = { server: 'peer-7', maxMessageBytes: MAX };
    const valid = bareBatch({ ...limits, payloads: ['!MSG lobby x bad0'] });
    const cases: Array<[reason: string, batch: Buffer]> = [
      ['header_bytes', handBatch({ ...limits, headerBytes: 32, payloads: ['!MSG lobby x bad1'] })],
      ['max_message_bytes', handBatch({ ...limits, maxMessageBytes: 2 * MAX, payloads: ['!MSG lobby x bad2'] })],
      ['version', handBatch({ ...limits, version: 2, payloads: ['!MSG lobby x bad3'] })],
      ['truncated', enveloped(valid.subarray(0, valid.length - 3))],
      ['truncated', handBatch({ ...limits, count: 1_000_000_000, payloads: ['!MSG lobby x bad4'] })],
      ['truncated', enveloped(valid.subarray(0, 14))],
      ['malformed', enveloped(Buffer.concat([valid, Buffer.from('xx')]))],
      ['malformed', handBatch({ ...limits, server: '', payloads: ['!MSG lobby x bad5'] })],
      ['too_large', handBatch({ ...limits, payloads: [`!MSG lobby x bad6 ${'y'.repeat(MAX + 100)}`] })],
      ['not_delivery', handBatch({ ...limits, payloads: ['!MSG lobby x fine', 'bad7: a reply, not a delivery'] })],
      ['not_delivery', handBatch({ ...limits, payloads: ['!MSG otherroom x bad8'] })],
      ['not_delivery', handBatch({ ...limits, payloads: ['!JOINED lobby two words'] })],
      ['not_delivery', handBatch({ ...limits, payloads: ['!MSG lobby bad9'] })],
      ['garbage', Buffer.alloc(0)],
      ['garbage', Buffer.from('hbu')],
      ['garbage', enveloped(Buffer.from('hbu'))],
    ];
    for (const [, batch] of cases) await publisher.publish(LOBBY, batch);
    const expected = new Map<string, number>();
    for (const [reason] of cases) expected.set(reason, (expected.get(reason) ?? 0) + 1);
    for (const [reason, n] of expected) {
      await eventuallyAsync(async () => (await droppedFor(server, reason)) === n, `${n} dropped as ${reason}`);
    }
    // Nothing of any of them reached the member; a good batch afterwards does.
    await publisher.publish(LOBBY, handBatch({ ...limits, payloads: ['!MSG lobby x good', '!JOINED lobby newcomer'] }));
    await member.waitDelivery('!MSG lobby x good');
    await member.waitDelivery('!JOINED lobby newcomer');
    assert.deepEqual(
      member.texts().filter((d) => /bad|fine|two words/.test(d)),
      [],
      'no payload of a dropped batch was delivered, not even its good ones',
    );
    const lines = linesOf(server, 'bus-dropped');
    assert.equal(lines.length, 1, `one line for the burst: ${lines.join(' | ')}`);
    assert.match(lines[0]!, /from server peer-7 \(header_bytes\): it runs --header-bytes 32, this server 64/);

    server.p.child.kill('SIGTERM');
    const stopped = await nthEvent(server.p, 'stopped');
    assert.match(String(stopped.msg), new RegExp(`, ${cases.length} bus batches dropped$`));
    assert.equal(stopped.busDropped, cases.length);
  });

  test('a server refuses to join a chat whose live servers run other limits: one line, exit status 2', async (t) => {
    const redis = await startRedis(t);
    const first = await chatServer(t, redis.url, ['--workers', '1', '--max-message-bytes', String(MAX)]);
    const id = String((await nthEvent(first.p, 'bus')).server);
    for (const [flags, pattern] of [
      [['--max-message-bytes', String(2 * MAX)], /runs --max-message-bytes 4096, this server 8192/],
      [['--max-message-bytes', String(MAX), '--header-bytes', '32'], /runs --header-bytes 64, this server 32/],
    ] as const) {
      const p = run(t, ['serve', '--port', '0', '--mode', 'chat', '--workers', '1', '--redis', redis.url, ...flags]);
      assert.deepEqual(await p.exited, { code: 2, signal: null });
      const lines = p.stderr().trimEnd().split('\n');
      assert.equal(lines.length, 1, p.stderr());
      assert.match(
        lines[0]!,
        new RegExp(
          `cannot join the chat on --redis redis://127\\.0\\.0\\.1:\\d+: server ${id} \\(host .+, pid ${first.p.child.pid}\\)`,
        ),
      );
      assert.match(lines[0]!, pattern);
    }
    // The same limits join; and the refused ones left nothing behind that would refuse it.
    const second = await chatServer(t, redis.url, ['--workers', '1', '--max-message-bytes', String(MAX)]);
    const a = await ChatPeer.connect(t, first.address);
    const b = await ChatPeer.connect(t, second.address);
    assert.deepEqual((await a.who()).members, [a.address, b.address].sort());

    // An older handoff (a liveness key without limits) is refused too.
    const client = redisClient(t, redis.url);
    await client.sadd('handoff:servers', 'old-one');
    await client.set('handoff:alive:old-one', '1', 'PX', 60_000);
    const p = run(t, [
      'serve',
      '--port',
      '0',
      '--mode',
      'chat',
      '--workers',
      '1',
      '--redis',
      redis.url,
      '--max-message-bytes',
      String(MAX),
    ]);
    assert.deepEqual(await p.exited, { code: 2, signal: null });
    assert.match(p.stderr(), /server old-one there runs an older handoff/);
  });

  test('entries of the bus that are not well-formed besides batches (a member name, a control entry) are counted: handoff_bus_dropped_total{reason="malformed_envelope"} and [STATS]', async (t) => {
    const redis = await startRedis(t);
    const server = await chatServer(t, redis.url, ['--workers', '1']);
    const a = await ChatPeer.connect(t, server.address);
    const raw = redisClient(t, redis.url);
    // A member name no handoff server writes, in the lobby's member hash: !WHO skips it and counts it.
    await raw.hset('handoff:room:lobby', 'feedfacefeedface:1', 'two words');
    assert.deepEqual((await a.who()).members, [a.address]);
    assert.equal(await droppedFor(server, 'malformed_envelope'), 1);
    // A control entry whose names are not names, in a well-formed envelope.
    const control = Buffer.from(JSON.stringify({ t: 'gone', server: 'feedfacefeedface', names: [7] }));
    const envelope = Buffer.concat([Buffer.from([1, 2, 16]), Buffer.from('feedfacefeedface', 'latin1'), control]);
    assert.equal(await raw.publish(LOBBY, envelope), 1);
    await eventuallyAsync(
      async () => (await droppedFor(server, 'malformed_envelope')) === 2,
      'the control entry counted',
    );
    assert.equal(await droppedFor(server, 'garbage'), 0, 'envelopes, so not counted as foreign bytes');
    server.p.child.kill('SIGUSR2');
    assert.equal((await nthEvent(server.p, 'stats')).busDropped, 2);
    assert.ok(!a.texts().some((d) => d.startsWith('!LEFT')), 'nothing of it reached a member');
  });
});
