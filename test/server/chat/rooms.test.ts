// Chat mode (PROTOCOL.md "Chat mode (v2)"): messages reach the other members of the
// sender's room and nobody else; presence; names; !WHO; every strategy, 1 and 2 workers
// (with 2 workers the members of one room sit on different threads).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT } from '../../../src/protocol/index.ts';
import { ChatPeer, parseMessage } from '../../helpers/chat-wire.ts';
import { eventually, forEachVariant, variantOptions, withServer } from '../../helpers/wire.ts';

forEachVariant((variant) => {
  const chat = (t: Parameters<typeof withServer>[0]) => withServer(t, variantOptions(variant, { mode: 'chat' }));

  test('a message reaches every other member of the room, byte for byte, and not its sender, who gets the ack', async (t) => {
    const server = await chat(t);
    const [a, b, c] = [
      await ChatPeer.connect(t, server),
      await ChatPeer.connect(t, server),
      await ChatPeer.connect(t, server),
    ];
    assert.equal(await a.request('hello everyone'), ACK_TEXT);
    for (const peer of [b, c]) {
      const got = parseMessage(await peer.waitDelivery((p) => parseMessage(p) !== null));
      assert.deepEqual(
        { ...got, text: got!.text.toString() },
        { room: 'lobby', from: a.address, text: 'hello everyone' },
      );
    }
    assert.ok(
      (await a.wire.staysQuiet(200)) || a.deliveries.every((d) => parseMessage(d) === null),
      'the sender gets no copy',
    );
    assert.equal(a.deliveries.filter((d) => parseMessage(d) !== null).length, 0);
  });

  test('payloads are delivered byte for byte: empty, spaces, newlines, invalid UTF-8, a leading !', async (t) => {
    const server = await chat(t);
    const [a, b] = [await ChatPeer.connect(t, server), await ChatPeer.connect(t, server)];
    const payloads = [
      Buffer.alloc(0),
      Buffer.from('  two  spaces  '),
      Buffer.from('line one\nline two\r\n'),
      Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x41]),
      Buffer.from('!hello is a message, not a command'),
      Buffer.from('! neither is this'),
      Buffer.from('!'),
      Buffer.from('ünïcødé ✓'),
    ];
    for (const p of payloads) assert.equal(await a.request(p), ACK_TEXT, `ack for ${JSON.stringify(p.toString())}`);
    await eventually(() => b.deliveries.filter((d) => parseMessage(d)).length === payloads.length, 'every payload');
    const texts = b.deliveries
      .map(parseMessage)
      .filter((m) => m !== null)
      .map((m) => m.text);
    assert.deepEqual(texts, payloads);
    // An empty message leaves the frame ending in the space after <from>.
    assert.equal(b.deliveries.find((d) => parseMessage(d)?.text.length === 0)!.toString(), `!MSG lobby ${a.address} `);
  });

  test('presence: a new connection is announced to the lobby, a !JOIN moves it with !LEFT and !JOINED, a close says !LEFT', async (t) => {
    const server = await chat(t);
    const a = await ChatPeer.connect(t, server);
    const b = await ChatPeer.connect(t, server);
    await a.waitDelivery(`!JOINED lobby ${b.address}`);
    const c = await ChatPeer.connect(t, server);
    await c.request('!JOIN games');
    assert.equal(await b.request('!JOIN games'), '!OK JOIN games');
    await a.waitDelivery(`!LEFT lobby ${b.address}`);
    await c.waitDelivery(`!JOINED games ${b.address}`);
    assert.ok(!b.texts().includes(`!JOINED games ${b.address}`), 'no presence event about itself');
    b.wire.destroy();
    const started = performance.now();
    await c.waitDelivery(`!LEFT games ${b.address}`, 1000);
    t.diagnostic(`!LEFT after ${(performance.now() - started).toFixed(0)} ms`);
    assert.ok(!a.texts().includes(`!LEFT games ${b.address}`), 'the lobby hears nothing of the games room');
  });

  test('!DISCONNECT is acked, then the connection is closed and its room gets !LEFT', async (t) => {
    const server = await chat(t);
    const [a, b] = [await ChatPeer.connect(t, server), await ChatPeer.connect(t, server)];
    assert.equal(await b.request('!DISCONNECT'), ACK_TEXT);
    assert.equal(await b.wire.waitClose(), 'fin');
    await a.waitDelivery(`!LEFT lobby ${b.address}`, 1000);
    assert.deepEqual((await a.who()).members, [a.address]);
  });

  test('rooms are apart: a message reaches only its own room; !WHO lists the room, its asker included', async (t) => {
    const server = await chat(t);
    const lobby = [await ChatPeer.connect(t, server), await ChatPeer.connect(t, server)];
    const games = [
      await ChatPeer.connect(t, server),
      await ChatPeer.connect(t, server),
      await ChatPeer.connect(t, server),
    ];
    for (const g of games) assert.equal(await g.request('!JOIN games'), '!OK JOIN games');
    assert.deepEqual(await games[0]!.who(), { room: 'games', members: games.map((g) => g.address).sort() });
    assert.deepEqual(await lobby[1]!.who(), { room: 'lobby', members: lobby.map((l) => l.address).sort() });
    await games[1]!.request('only for games');
    await games[0]!.waitDelivery(`!MSG games ${games[1]!.address} only for games`);
    await games[2]!.waitDelivery(`!MSG games ${games[1]!.address} only for games`);
    await lobby[0]!.request('only for the lobby');
    await lobby[1]!.waitDelivery(`!MSG lobby ${lobby[0]!.address} only for the lobby`);
    await new Promise((r) => setTimeout(r, 100));
    for (const l of lobby)
      assert.ok(!l.texts().some((d) => d.startsWith('!MSG games')), 'no games message in the lobby');
    for (const g of games) assert.ok(!g.texts().some((d) => d.startsWith('!MSG lobby')), 'no lobby message in games');
  });

  test('!NICK names later deliveries and !WHO; names need not be unique; joining the room you are in changes nothing', async (t) => {
    const server = await chat(t);
    const [a, b, c] = [
      await ChatPeer.connect(t, server),
      await ChatPeer.connect(t, server),
      await ChatPeer.connect(t, server),
    ];
    assert.equal(await a.request('!NICK alice'), '!OK NICK alice');
    assert.equal(await c.request('!NICK alice'), '!OK NICK alice');
    await a.request('hi from alice');
    await b.waitDelivery('!MSG lobby alice hi from alice');
    assert.deepEqual((await b.who()).members, [b.address, 'alice', 'alice'].sort());
    const before = b.deliveries.length;
    assert.equal(await a.request('!JOIN lobby'), '!OK JOIN lobby');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(b.deliveries.length, before, 'no presence for a join to the same room');
  });

  test('the command grammar: !NO codes for bad commands, the connection stays usable', async (t) => {
    const server = await chat(t);
    const [a, b] = [await ChatPeer.connect(t, server), await ChatPeer.connect(t, server)];
    const cases: Array<[string, string]> = [
      ['!PING', 'BAD_COMMAND'],
      ['!NICK', 'BAD_COMMAND'],
      ['!JOIN', 'BAD_COMMAND'],
      ['!WHO x', 'BAD_COMMAND'],
      ['!WHO ', 'BAD_COMMAND'],
      ['!DISCONNECT ', 'BAD_COMMAND'],
      ['!Join games', 'BAD_COMMAND'],
      ['!JOIN\tgames', 'BAD_COMMAND'],
      ['!MSG lobby x y', 'BAD_COMMAND'],
      ['!NICK bad name', 'BAD_NAME'],
      ['!NICK ', 'BAD_NAME'],
      ['!NICK ' + 'x'.repeat(33), 'BAD_NAME'],
      ['!NICK émile', 'BAD_NAME'],
      ['!JOIN a/b', 'BAD_ROOM'],
      ['!JOIN ', 'BAD_ROOM'],
      ['!JOIN ' + 'r'.repeat(33), 'BAD_ROOM'],
    ];
    for (const [payload, code] of cases) {
      const reply = await a.request(payload);
      const m = /^!NO ([A-Z_]+) (.+)$/.exec(reply);
      assert.ok(m, `${JSON.stringify(payload)} -> ${JSON.stringify(reply)}`);
      assert.equal(m[1], code, `${JSON.stringify(payload)} -> ${reply}`);
    }
    // Valid edge cases.
    assert.equal(await a.request('!NICK ' + 'x'.repeat(32)), `!OK NICK ${'x'.repeat(32)}`);
    assert.equal(await a.request('!JOIN A-z_0.9'), '!OK JOIN A-z_0.9');
    assert.equal(await a.request('!JOIN lobby'), '!OK JOIN lobby');
    assert.equal(await a.request('still here'), ACK_TEXT);
    await b.waitDelivery(`!MSG lobby ${'x'.repeat(32)} still here`);
    assert.ok(!b.texts().some((d) => d.includes('!PING')), 'a refused command is not delivered');
  });
});
