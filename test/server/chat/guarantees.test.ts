// The guarantees of chat mode (PROTOCOL.md "Guarantees"), with the members of one room
// spread over the worker threads: per-sender order and exactly once with many senders
// pipelining, and "effective on reply" for !JOIN, for the lobby and for !WHO.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT, encodeFrame } from '../../../src/protocol/index.ts';
import { BUS_DELAY_ENV } from '../../../src/server/chat/injected-faults.ts';
import { ChatPeer, parseMessage } from '../../helpers/chat-wire.ts';
import { forEachVariant, variantOptions, withServer } from '../../helpers/wire.ts';

const SENDERS = 6;
const RECEIVERS = 10;
const MESSAGES = 400;

forEachVariant((variant) => {
  test(`${SENDERS} senders pipelining ${MESSAGES} messages each: every member gets every other sender's messages once, in order`, async (t) => {
    const server = await withServer(t, variantOptions(variant, { mode: 'chat' }));
    /** receiver -> sender -> sequence numbers in arrival order */
    const seen = new Map<ChatPeer, Map<string, number[]>>();
    const record = (peer: () => ChatPeer) => (payload: Buffer) => {
      const m = parseMessage(payload);
      if (!m) return;
      const bySender = seen.get(peer())!;
      let list = bySender.get(m.from);
      if (!list) bySender.set(m.from, (list = []));
      list.push(Number(m.text.toString('latin1').split(' ')[1]));
    };
    const peers: ChatPeer[] = [];
    for (let i = 0; i < SENDERS + RECEIVERS; i++) {
      const me: ChatPeer = await ChatPeer.connect(t, server, { keepDeliveries: false, onDelivery: record(() => me) });
      seen.set(me, new Map());
      peers.push(me);
    }
    const senders = peers.slice(0, SENDERS);
    // Each sender writes all its frames at once (pipelined), all senders at the same time.
    await Promise.all(
      senders.map((s, i) =>
        s.wire.sendRaw(
          Buffer.concat(Array.from({ length: MESSAGES }, (_, n) => encodeFrame(Buffer.from(`s${i} ${n} payload`), 64))),
        ),
      ),
    );
    for (const s of senders) {
      await s.wire.until(() => s.replies.length >= 1 + MESSAGES, 'every ack', 20_000);
      assert.ok(s.replies.slice(1).every((r) => r.toString() === ACK_TEXT));
    }
    const expectedFrom = (peer: ChatPeer) => senders.filter((s) => s !== peer).map((s) => s.address);
    const complete = (peer: ChatPeer) =>
      expectedFrom(peer).every((from) => (seen.get(peer)!.get(from)?.length ?? 0) >= MESSAGES);
    for (const peer of peers) await peer.wire.until(() => complete(peer), 'every delivery', 20_000);
    await new Promise((r) => setTimeout(r, 100)); // a duplicate would show up now
    const inOrder = Array.from({ length: MESSAGES }, (_, n) => n);
    for (const peer of peers) {
      const bySender = seen.get(peer)!;
      assert.deepEqual([...bySender.keys()].sort(), expectedFrom(peer).sort(), 'from every other sender, not itself');
      for (const from of expectedFrom(peer))
        assert.deepEqual(bySender.get(from), inOrder, `${from} -> ${peer.address}`);
    }
    assert.equal(server.stats().deliveries >= SENDERS * (SENDERS + RECEIVERS - 1) * MESSAGES, true);
  });

  test('effective on reply: once !OK JOIN arrives, the next message sent to that room (from any thread) reaches the joiner, and !WHO lists it', async (t) => {
    // Every thread applies what the others tell it 30 ms late (test-only switch): the guarantee
    // must hold because the reply waits for the others, not because the bus is fast.
    process.env[BUS_DELAY_ENV] = '30';
    const server = await withServer(t, variantOptions(variant, { mode: 'chat' }));
    delete process.env[BUS_DELAY_ENV];
    const others: ChatPeer[] = [];
    for (let i = 0; i < 4; i++) {
      const p = await ChatPeer.connect(t, server);
      assert.equal(await p.request('!JOIN r'), '!OK JOIN r');
      others.push(p);
    }
    for (let round = 0; round < 10; round++) {
      const joiner = await ChatPeer.connect(t, server, { settle: false });
      assert.equal(await joiner.request('!JOIN r'), '!OK JOIN r');
      // Right after the reply: every other member, whichever thread it is on, sees it and reaches it.
      const sender: ChatPeer = others[round % others.length]!;
      const asker: ChatPeer = others[(round + 1) % others.length]!;
      const [who] = await Promise.all([asker.who(), sender.request(`round ${round}`)]);
      assert.ok(who.members.includes(joiner.address), `round ${round}: !WHO lists the joiner`);
      await joiner.waitDelivery(`!MSG r ${sender.address} round ${round}`, 2000);
      // And once its !JOIN to another room is answered, it gets nothing more from r, and r's !WHO forgets it.
      assert.equal(await joiner.request('!JOIN elsewhere'), '!OK JOIN elsewhere');
      const [whoAfter] = await Promise.all([asker.who(), sender.request(`after ${round}`)]);
      assert.ok(!whoAfter.members.includes(joiner.address), `round ${round}: r's !WHO no longer lists it`);
      await asker.waitDelivery(`!MSG r ${sender.address} after ${round}`, 2000);
      assert.ok(!joiner.texts().includes(`!MSG r ${sender.address} after ${round}`), 'nothing from the room it left');
      joiner.wire.destroy();
    }
  });

  test('effective on reply in the lobby: after the reply to its first frame, a new connection gets the lobby messages', async (t) => {
    process.env[BUS_DELAY_ENV] = '30'; // slow threads, as above
    const server = await withServer(t, variantOptions(variant, { mode: 'chat' }));
    delete process.env[BUS_DELAY_ENV];
    const sender = await ChatPeer.connect(t, server);
    for (let round = 0; round < 10; round++) {
      const fresh = await ChatPeer.connect(t, server, { settle: false });
      assert.equal(await fresh.request(`first ${round}`), ACK_TEXT);
      await sender.request(`welcome ${round}`);
      await fresh.waitDelivery(`!MSG lobby ${sender.address} welcome ${round}`, 2000);
      fresh.wire.destroy();
    }
  });
});
