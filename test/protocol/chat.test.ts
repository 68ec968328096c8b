// Chat mode on the wire (PROTOCOL.md "Chat mode (v2)"): commands, names, deliveries, refusals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CHAT_NAME_PATTERN,
  DEFAULT_ROOM,
  deliveryKind,
  deliveryPayload,
  isChatName,
  isCommand,
  MAX_CHAT_NAME_BYTES,
  parseDelivery,
  parseRefusal,
  refusalPayload,
} from '../../src/protocol/chat.ts';
import { BadCommandError, BadNameError, BadRoomError, CommandRefusedError } from '../../src/protocol/index.ts';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

test('a command is ! followed by an ASCII capital letter; anything else is a message', () => {
  for (const command of ['!PING', '!NICK bob', '!JOIN', '!WHO', '!DISCONNECT', '!A', '!NICK ', '!Xhello'])
    assert.equal(isCommand(bytes(command)), true, command);
  for (const message of ['!hello', '! hi', '!', '', 'hello', '!1', '!_', '!\u00c9COLE', ' !PING', 'PING'])
    assert.equal(isCommand(bytes(message)), false, JSON.stringify(message));
});

test('names and rooms are 1 to 32 bytes of A-Z a-z 0-9 _ . -, as strings and as bytes in place', () => {
  const good = ['a', 'lobby', 'Room_1.b-c', 'x'.repeat(MAX_CHAT_NAME_BYTES), '...', '-', '0'];
  const bad = ['', 'x'.repeat(MAX_CHAT_NAME_BYTES + 1), 'bad name', 'a/b', '\u00e9', 'a\n', 'a:b', ' a', '[::1]'];
  for (const name of good) {
    assert.equal(isChatName(name), true, name);
    assert.equal(isChatName(bytes(name)), true, name);
    assert.match(name, CHAT_NAME_PATTERN);
  }
  for (const name of bad) {
    assert.equal(isChatName(name), false, JSON.stringify(name));
    assert.equal(isChatName(bytes(name)), false, JSON.stringify(name));
  }
  // A command's argument, checked where it lies in the payload.
  const payload = bytes('!JOIN room-7');
  assert.equal(isChatName(payload, 6), true);
  assert.equal(isChatName(payload, 5), false, 'the space is not a name byte');
  assert.equal(isChatName(payload, 6, 6), false, 'empty');
  assert.equal(isChatName('!JOIN room-7', 6), true);
  assert.equal(DEFAULT_ROOM, 'lobby');
});

test('deliveries are exactly the frames starting with "!MSG ", "!JOINED " or "!LEFT "', () => {
  assert.equal(deliveryKind(bytes('!MSG lobby a hi')), 'message');
  assert.equal(deliveryKind(bytes('!JOINED lobby a')), 'joined');
  assert.equal(deliveryKind(bytes('!LEFT lobby a')), 'left');
  for (const reply of [
    'Msg received',
    '!MSG',
    '!MSGlobby a b',
    '!JOINED',
    '!LEFTlobby a',
    '!OK JOIN x',
    '!msg a b c',
    '',
  ])
    assert.equal(deliveryKind(bytes(reply)), null, JSON.stringify(reply));
});

test('a !MSG text is everything after the space that ends <from>, byte for byte', () => {
  const cases: Array<[string, Buffer]> = [
    ['hello', bytes('hello')],
    ['with  spaces ', bytes('with  spaces ')],
    ['empty', Buffer.alloc(0)],
    ['leading space', bytes(' x')],
    ['newlines', bytes('line 1\nline 2\r\n')],
    ['looks like a command', bytes('!ERROR TIMEOUT not really')],
    ['invalid UTF-8', Buffer.from([0x68, 0xff, 0x20, 0xc3, 0x0a, 0x00])],
  ];
  for (const [what, text] of cases) {
    const payload = Buffer.concat([bytes('!MSG room.1 alice '), text]);
    const delivery = parseDelivery(payload);
    assert.ok(delivery, what);
    assert.equal(delivery.kind, 'message');
    assert.equal(delivery.room, 'room.1');
    assert.equal(delivery.from, 'alice');
    assert.deepEqual(delivery.bytes, text, what);
    assert.equal(delivery.text, text.toString('utf8'), what);
  }
});

test('the text of a delivery is a copy: reusing the read buffer later does not change it', () => {
  const chunk = Buffer.concat([bytes('xx'), bytes('!MSG lobby bob hi there'), bytes('yy')]);
  const view = chunk.subarray(2, chunk.length - 2);
  const delivery = parseDelivery(view)!;
  chunk.fill(0);
  assert.equal(delivery.text, 'hi there');
  assert.equal(delivery.bytes.toString(), 'hi there');
  // A plain Uint8Array view with an offset reads the same.
  const u8 = new Uint8Array(bytes('__!LEFT lobby [::1]:5000')).subarray(2);
  assert.deepEqual(parseDelivery(u8), {
    kind: 'left',
    room: 'lobby',
    from: '[::1]:5000',
    text: '',
    bytes: Buffer.alloc(0),
  });
});

test('presence deliveries carry room and sender, and no text', () => {
  assert.deepEqual(parseDelivery(bytes('!JOINED lobby 127.0.0.1:5123')), {
    kind: 'joined',
    room: 'lobby',
    from: '127.0.0.1:5123',
    text: '',
    bytes: Buffer.alloc(0),
  });
  assert.deepEqual(parseDelivery(bytes('!LEFT games bob')), {
    kind: 'left',
    room: 'games',
    from: 'bob',
    text: '',
    bytes: Buffer.alloc(0),
  });
});

test('a malformed delivery parses as null: missing room or sender, no space after <from>, extra words', () => {
  for (const payload of [
    '!MSG ',
    '!MSG lobby',
    '!MSG lobby ',
    '!MSG lobby alice',
    '!MSG  alice hi',
    '!MSG lobby  hi',
    '!JOINED ',
    '!JOINED lobby',
    '!JOINED lobby ',
    '!JOINED lobby bob extra',
    '!LEFT lobby bob ',
    'Msg received',
  ])
    assert.equal(parseDelivery(bytes(payload)), null, JSON.stringify(payload));
});

test('deliveryPayload builds what parseDelivery reads, byte for byte', () => {
  const text = Buffer.from([0xff, 0x20, 0x0a, 0x41]);
  const payload = deliveryPayload('message', 'lobby', 'alice', text);
  assert.deepEqual(payload, Buffer.concat([bytes('!MSG lobby alice '), text]));
  assert.deepEqual(parseDelivery(payload)!.bytes, text);
  assert.equal(
    deliveryPayload('message', 'lobby', 'alice').toString(),
    '!MSG lobby alice ',
    'empty text keeps the space',
  );
  assert.equal(deliveryPayload('message', 'r', 'b', 'h\u00e9').toString(), '!MSG r b h\u00e9');
  assert.equal(deliveryPayload('joined', 'lobby', 'bob', 'ignored').toString(), '!JOINED lobby bob');
  assert.equal(deliveryPayload('left', 'lobby', '[::1]:9').toString(), '!LEFT lobby [::1]:9');
});

test('a !NO refusal becomes its CommandRefusedError class, with code and text', () => {
  const name = parseRefusal(bytes('!NO BAD_NAME names are 1 to 32 bytes of A-Z a-z 0-9 _ . -'));
  assert.ok(name instanceof BadNameError);
  assert.equal(name.code, 'BAD_NAME');
  assert.equal(name.text, 'names are 1 to 32 bytes of A-Z a-z 0-9 _ . -');
  assert.ok(parseRefusal(bytes('!NO BAD_ROOM no')) instanceof BadRoomError);
  assert.ok(parseRefusal(bytes('!NO BAD_COMMAND unknown command !PING')) instanceof BadCommandError);
  const unknown = parseRefusal(bytes('!NO RATE_LIMITED slow down'));
  assert.ok(unknown instanceof CommandRefusedError);
  assert.equal(unknown.code, 'RATE_LIMITED');
  assert.equal(unknown.text, 'slow down');
  assert.equal(parseRefusal(bytes('!NO BAD_NAME'))!.text, '');
  for (const other of ['!NOPE x', '!NO', 'Msg received', '!OK JOIN x', '!ERROR BAD_HEADER x', ''])
    assert.equal(parseRefusal(bytes(other)), null, JSON.stringify(other));
});

test('refusalPayload is the !NO frame parseRefusal reads back', () => {
  const payload = refusalPayload(new BadRoomError('rooms are 1 to 32 bytes'));
  assert.equal(payload.toString(), '!NO BAD_ROOM rooms are 1 to 32 bytes');
  const back = parseRefusal(payload)!;
  assert.ok(back instanceof BadRoomError);
  assert.equal(back.text, 'rooms are 1 to 32 bytes');
});
