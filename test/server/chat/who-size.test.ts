// Every reply fits, or is cut by the rule: a !WHO whose member list outgrows the header
// (the reproduction: --header-bytes 4 --max-message-bytes 9000, 700 connections)
// used to kill a worker thread, and the answer through Redis the bus handler. Now it names
// as many as fit, the asker first, then ` +N`, within --max-message-bytes plus a prefix.
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { ChatPeer } from '../../helpers/chat-wire.ts';
import { chatServer } from '../../helpers/chat-redis.ts';
import { listening, run } from '../../helpers/process.ts';
import { redisAvailable, startRedis } from '../../helpers/redis.ts';

const H = 4;

/** `count` peers, connected 50 at a time, not settled (a !WHO each would cost O(n^2)). */
async function peers(t: TestContext, address: { host: string; port: number }, count: number): Promise<ChatPeer[]> {
  const out: ChatPeer[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from({ length: Math.min(50, count - i) }, () =>
      ChatPeer.connect(t, address, { settle: false, keepDeliveries: false, headerBytes: H }),
    );
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

/** Checks one !WHO reply against the rule, knowing every member's name; returns how many it listed. */
function checkWho(reply: string, room: string, asker: string, everyone: string[], maxBytes: number): number {
  assert.ok(Buffer.byteLength(reply) <= maxBytes, `${Buffer.byteLength(reply)} bytes, at most ${maxBytes}`);
  const words = reply.split(' ');
  assert.deepEqual(words.slice(0, 3), ['!OK', 'WHO', room]);
  const marker = words.at(-1)!;
  assert.match(marker, /^\+\d+$/, 'they do not all fit: the reply ends with +N');
  const listed = words.slice(3, -1);
  assert.equal(listed[0], asker, 'the asker first');
  assert.equal(listed.length + Number(marker.slice(1)), everyone.length, 'listed + N is every member');
  const others = new Set(everyone.filter((n) => n !== asker));
  for (const name of listed.slice(1)) assert.ok(others.delete(name), `${name} is a member, listed once`);
  // As many as fit: not even the shortest one left out would have.
  const shortest = Math.min(...[...others].map((n) => n.length));
  const left = Number(marker.slice(1)) - 1;
  const withOneMore =
    Buffer.byteLength(reply) - marker.length + shortest + 1 + (left > 0 ? String(left).length + 1 : -1);
  assert.ok(withOneMore > maxBytes, `one more name (${withOneMore} bytes) would not fit ${maxBytes}`);
  return listed.length;
}

test('--header-bytes 4 --max-message-bytes 9000, 700 connections, !WHO: cut to fit, the worker lives', async (t) => {
  const p = run(
    t,
    ['serve', '--port', '0', '--json', '--mode', 'chat', '--workers', '2', '--header-bytes', '4'].concat([
      '--max-message-bytes',
      '9000',
    ]),
  );
  const address = await listening(p);
  const all = await peers(t, address, 700);
  const asker = all[0]!;
  const names = all.map((x) => x.address);
  // Every connection is in the lobby on both threads once each has had its first reply.
  await Promise.all(all.map((x) => x.request('here', 20_000)));
  const reply = await asker.request('!WHO', 10_000);
  const listed = checkWho(reply, 'lobby', asker.address, names, 9000 + 100);
  t.diagnostic(`${listed} of 700 named in ${Buffer.byteLength(reply)} bytes`);
  assert.equal(p.child.exitCode, null);
  assert.ok(!p.stdout.some((l) => l.includes('worker-died')), 'no worker thread died');
  // Every connection is still served.
  for (const x of [all[1]!, all[350]!, all[699]!]) assert.match(await x.request('!WHO', 10_000), /^!OK WHO lobby /);
});

describe('!WHO through Redis', { skip: redisAvailable() ? false : 'redis-server is not installed' }, () => {
  test('320 members with 32-byte names on two servers, --header-bytes 4: the answer from Redis is cut to fit too', async (t) => {
    const redis = await startRedis(t);
    const flags = ['--workers', '2', '--header-bytes', String(H), '--max-message-bytes', '100'];
    const servers = await Promise.all([chatServer(t, redis.url, flags), chatServer(t, redis.url, flags)]);
    const all = [...(await peers(t, servers[0].address, 160)), ...(await peers(t, servers[1].address, 160))];
    const names = all.map((_, i) => `member-${String(i).padStart(3, '0')}-${'x'.repeat(21)}`);
    assert.equal(names[0]!.length, 32);
    await Promise.all(all.map((x, i) => x.request(`!NICK ${names[i]}`, 30_000)));
    for (const asker of [all[0]!, all[200]!]) {
      const reply = await asker.request('!WHO', 10_000);
      checkWho(reply, 'lobby', names[all.indexOf(asker)]!, names, 100 + 100);
    }
    for (const s of servers) {
      assert.equal(s.p.child.exitCode, null);
      assert.ok(!s.p.stdout.some((l) => l.includes('worker-died')), 'no worker thread died');
    }
  });
});
