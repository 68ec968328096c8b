// The chat's guarantees (PROTOCOL.md, chat mode) through real servers, the same cases on every
// bus: local (one server, 2 worker threads: its threads are the two sides), one redis-server,
// a 3-master Redis Cluster (sharded pub/sub) and a 3-node routed NATS cluster (each server on
// its own node). Each bus's service and its two servers are started once for its describe();
// each case uses rooms of its own. Membership is effective on reply, !WHO spans the servers
// (the asker first), presence crosses, each sender's order holds, rooms stay apart, the size
// limits hold, and the members of a server killed with SIGKILL get their !LEFT within 15 s.
import assert from 'node:assert/strict';
import { after, before, describe, type TestContext, test } from 'node:test';
import { ACK_TEXT, encodeFrame } from '../../../src/protocol/index.ts';
import { BUS_TEST_ENV, CHAT_BUSES, type ChatServer, chatServerOn, suiteScope } from '../../helpers/chat-buses.ts';
import { ChatPeer, parseMessage } from '../../helpers/chat-wire.ts';
import { eventually, sleep } from '../../helpers/wire.ts';

/** Small, so that a message at the limit is cheap; every server of one chat must run the same. */
const MAX_MESSAGE_BYTES = 4096;
const SERVER_ARGS = ['--workers', '2', '--max-message-bytes', String(MAX_MESSAGE_BYTES)];

for (const target of CHAT_BUSES) {
  describe(`chat through the server on the ${target.kind} bus`, { skip: target.skip }, () => {
    const scope = suiteScope();
    let bus: Awaited<ReturnType<typeof target.start>>;
    /** The two sides: two servers on the bus, or (local) one server twice. */
    let sides: [ChatServer, ChatServer];
    before(async () => {
      bus = await target.start(scope.t);
      const first = await chatServerOn(scope.t, bus.flags(0), SERVER_ARGS, BUS_TEST_ENV);
      sides = [first, target.servers ? await chatServerOn(scope.t, bus.flags(1), SERVER_ARGS, BUS_TEST_ENV) : first];
    });
    after(() => scope.close());

    /** A peer on side `side`, named `name`, in `room`. */
    async function member(t: TestContext, side: 0 | 1, name: string, room: string): Promise<ChatPeer> {
      const peer = await ChatPeer.connect(t, sides[side].address);
      assert.equal(await peer.request(`!NICK ${name}`), `!OK NICK ${name}`);
      assert.equal(await peer.request(`!JOIN ${room}`), `!OK JOIN ${room}`);
      return peer;
    }

    test('effective on reply: a message sent right after !OK JOIN reaches the joiner on the other side, and !WHO lists it at once', async (t) => {
      const a = await member(t, 0, 'alice', 'eff-start');
      const b = await member(t, 1, 'bob', 'eff-start');
      for (let round = 0; round < 5; round++) {
        const room = `eff-${round}`;
        // bob joins on side 1; the moment its reply is in, alice (side 0, already there) reaches it.
        assert.equal(await a.request(`!JOIN ${room}`), `!OK JOIN ${room}`);
        assert.equal(await b.request(`!JOIN ${room}`), `!OK JOIN ${room}`);
        assert.deepEqual((await a.who()).members, ['alice', 'bob']);
        assert.equal(await a.request(`to bob ${round}`), ACK_TEXT);
        await b.waitDelivery(`!MSG ${room} alice to bob ${round}`);
        // And the other way: bob's message right after alice's own (repeated) join reply.
        assert.equal(await b.request(`to alice ${round}`), ACK_TEXT);
        await a.waitDelivery(`!MSG ${room} bob to alice ${round}`);
      }
      // Left behind: nothing more from the rooms they left, and nothing of their own came back.
      assert.equal(await a.request('!JOIN eff-after'), '!OK JOIN eff-after');
      assert.equal(await b.request('late in eff-4'), ACK_TEXT);
      assert.equal(await b.request('!JOIN eff-after'), '!OK JOIN eff-after');
      assert.equal(await b.request('in eff-after'), ACK_TEXT);
      await a.waitDelivery('!MSG eff-after bob in eff-after');
      assert.ok(!a.texts().includes('!MSG eff-4 bob late in eff-4'), 'nothing from a room after leaving it');
      assert.deepEqual(
        a.deliveries.filter((d) => parseMessage(d)?.from === 'alice'),
        [],
        'a member never gets its own messages back',
      );
    });

    test('!WHO spans both sides, the asker first; a member that left is gone from it', async (t) => {
      const a1 = await member(t, 0, 'who-a1', 'who');
      const a2 = await member(t, 0, 'who-a2', 'who');
      const b1 = await member(t, 1, 'who-b1', 'who');
      for (const [peer, name] of [
        [a1, 'who-a1'],
        [b1, 'who-b1'],
      ] as const) {
        const reply = await peer.request('!WHO');
        const [, , room, first, ...rest] = reply.split(' ');
        assert.equal(room, 'who');
        assert.equal(first, name, `the asker first: ${reply}`);
        assert.deepEqual([first, ...rest].sort(), ['who-a1', 'who-a2', 'who-b1']);
      }
      assert.equal(await a2.request('!JOIN who-elsewhere'), '!OK JOIN who-elsewhere');
      assert.deepEqual((await b1.who()).members, ['who-a1', 'who-b1']);
      a1.wire.destroy();
      await b1.waitDelivery('!LEFT who who-a1', 2000);
      assert.deepEqual((await b1.who()).members, ['who-b1']);
    });

    test('!JOINED, !LEFT and a !NICK rename are seen on the other side', async (t) => {
      const a = await member(t, 0, 'pres-a', 'pres');
      const b = await member(t, 1, 'pres-b', 'pres-hall');
      assert.equal(await b.request('!JOIN pres'), '!OK JOIN pres');
      await a.waitDelivery('!JOINED pres pres-b');
      assert.equal(await b.request('!NICK pres-renamed'), '!OK NICK pres-renamed');
      assert.deepEqual((await a.who()).members, ['pres-a', 'pres-renamed']);
      assert.equal(await b.request('after the rename'), ACK_TEXT);
      await a.waitDelivery('!MSG pres pres-renamed after the rename');
      assert.equal(await b.request('!JOIN pres-hall'), '!OK JOIN pres-hall');
      await a.waitDelivery('!LEFT pres pres-renamed');
      assert.equal(await b.request('!JOIN pres'), '!OK JOIN pres');
      await a.waitDelivery('!JOINED pres pres-renamed');
      // A connection that closes: its room gets its !LEFT within 1 s.
      const closedAt = performance.now();
      b.wire.destroy();
      const lefts = () => a.texts().filter((d) => d === '!LEFT pres pres-renamed').length;
      await a.wire.until(() => lefts() === 2, 'the !LEFT of a closed connection', 1500);
      t.diagnostic(`!LEFT after a close: ${(performance.now() - closedAt).toFixed(0)} ms`);
      // Nobody heard its own presence.
      assert.ok(!a.texts().some((d) => d.endsWith(' pres-a')));
      assert.ok(!b.texts().some((d) => d.endsWith(' pres-b') || d.endsWith(' pres-renamed')));
    });

    test('each sender keeps its order across sides: 200 pipelined messages per sender, each once, in order', async (t) => {
      const MESSAGES = 200;
      const seen = new Map<string, Map<string, number[]>>();
      const peers: ChatPeer[] = [];
      const names = ['ord-0', 'ord-1', 'ord-2', 'ord-3'];
      for (let i = 0; i < names.length; i++) {
        const mine = new Map<string, number[]>();
        seen.set(names[i]!, mine);
        const peer = await ChatPeer.connect(t, sides[(i % 2) as 0 | 1].address, {
          keepDeliveries: false,
          onDelivery: (payload) => {
            const m = parseMessage(payload);
            if (!m || m.room !== 'ord') return;
            let list = mine.get(m.from);
            if (!list) mine.set(m.from, (list = []));
            list.push(Number(m.text.toString().split(' ')[1]));
          },
        });
        await peer.request(`!NICK ${names[i]}`);
        await peer.request('!JOIN ord');
        peers.push(peer);
      }
      // Two senders, one per side, all their messages written at once.
      const senders = [0, 1];
      await Promise.all(
        senders.map((i) =>
          peers[i]!.wire.sendRaw(
            Buffer.concat(Array.from({ length: MESSAGES }, (_, n) => encodeFrame(Buffer.from(`${names[i]} ${n}`), 64))),
          ),
        ),
      );
      const inOrder = Array.from({ length: MESSAGES }, (_, n) => n);
      const expected = (receiver: string) => senders.map((i) => names[i]!).filter((n) => n !== receiver);
      for (const receiver of names) {
        await eventually(
          () => expected(receiver).every((s) => (seen.get(receiver)!.get(s)?.length ?? 0) >= MESSAGES),
          `every message at ${receiver}`,
          15_000,
        );
      }
      await sleep(200);
      for (const receiver of names) {
        for (const sender of expected(receiver)) {
          assert.deepEqual(seen.get(receiver)!.get(sender), inOrder, `${sender} -> ${receiver}`);
        }
        assert.equal(seen.get(receiver)!.size, expected(receiver).length, `${receiver} got nothing of its own`);
      }
    });

    test('rooms stay apart across sides', async (t) => {
      const a = await member(t, 0, 'apart-a', 'apart-1');
      const b = await member(t, 1, 'apart-b', 'apart-1');
      const c = await member(t, 1, 'apart-c', 'apart-2');
      const d = await member(t, 0, 'apart-d', 'apart-2');
      assert.equal(await a.request('for room 1'), ACK_TEXT);
      assert.equal(await c.request('for room 2'), ACK_TEXT);
      await b.waitDelivery('!MSG apart-1 apart-a for room 1');
      await d.waitDelivery('!MSG apart-2 apart-c for room 2');
      // One more round trip on each side: anything misrouted would have come by now.
      assert.equal(await b.request('room 1 again'), ACK_TEXT);
      assert.equal(await d.request('room 2 again'), ACK_TEXT);
      await a.waitDelivery('!MSG apart-1 apart-b room 1 again');
      await c.waitDelivery('!MSG apart-2 apart-d room 2 again');
      for (const peer of [a, b])
        assert.ok(
          peer.texts().every((x) => !x.includes('apart-2')),
          peer.texts().join('|'),
        );
      for (const peer of [c, d])
        assert.ok(
          peer.texts().every((x) => !x.includes('apart-1')),
          peer.texts().join('|'),
        );
      assert.deepEqual((await a.who()).members, ['apart-a', 'apart-b']);
      assert.deepEqual((await d.who()).members, ['apart-c', 'apart-d']);
    });

    test('a message at --max-message-bytes crosses byte for byte; one byte more is TOO_LARGE and crosses nothing', async (t) => {
      const a = await member(t, 0, 'size-a', 'size');
      const b = await member(t, 1, 'size-b', 'size');
      const atLimit = Buffer.alloc(MAX_MESSAGE_BYTES, 0x61);
      atLimit.write('edge', 0);
      atLimit[MAX_MESSAGE_BYTES - 1] = 0xff; // bytes, not text: the transport is byte-exact
      assert.equal(await a.request(atLimit), ACK_TEXT);
      const got = await b.waitDelivery((d) => d.toString('latin1').startsWith('!MSG size size-a edge'));
      assert.ok(got.equals(Buffer.concat([Buffer.from('!MSG size size-a '), atLimit])), 'the same bytes');

      const tooLarge = Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x62);
      tooLarge.write('over', 0);
      await a.send(tooLarge);
      assert.match(await a.nextReply(), /^!ERROR TOO_LARGE \S/);
      await a.wire.until(() => a.wire.closedBy !== null, 'the connection closed', 5000);
      await b.waitDelivery('!LEFT size size-a', 2000);
      assert.ok(
        !b.texts().some((d) => d.startsWith('!MSG size size-a over')),
        'nothing of the refused message crossed',
      );
    });

    test(
      'a server killed with SIGKILL: its members leave !WHO on the other server and their rooms get !LEFT within 15 s',
      { skip: target.servers ? false : 'one server: it has no other server to outlive it' },
      async (t) => {
        const doomedServer = await chatServerOn(t, bus.flags(2), SERVER_ARGS, BUS_TEST_ENV);
        const survivor = await member(t, 0, 'survivor', 'dies');
        const doomed = [
          await ChatPeer.connect(t, doomedServer.address),
          await ChatPeer.connect(t, doomedServer.address),
          await ChatPeer.connect(t, doomedServer.address),
        ];
        const rooms = ['dies', 'dies', 'dies-too'];
        for (const [i, peer] of doomed.entries()) {
          await peer.request(`!NICK doomed${i}`);
          await peer.request(`!JOIN ${rooms[i]}`);
        }
        const watcher = await member(t, 1, 'watcher', 'dies-too');
        assert.deepEqual((await survivor.who()).members, ['doomed0', 'doomed1', 'survivor']);
        assert.deepEqual((await watcher.who()).members, ['doomed2', 'watcher']);
        const killedAt = performance.now();
        doomedServer.p.child.kill('SIGKILL');
        for (const name of ['doomed0', 'doomed1']) await survivor.waitDelivery(`!LEFT dies ${name}`, 15_000);
        await watcher.waitDelivery('!LEFT dies-too doomed2', 15_000);
        const took = performance.now() - killedAt;
        t.diagnostic(`!LEFT after ${(took / 1000).toFixed(1)} s (bus times halved)`);
        assert.ok(took < 15_000);
        assert.deepEqual((await survivor.who()).members, ['survivor']);
        assert.deepEqual((await watcher.who()).members, ['watcher']);
        // Each !LEFT once.
        assert.equal(survivor.texts().filter((d) => d === '!LEFT dies doomed0').length, 1);
      },
    );
  });
}
