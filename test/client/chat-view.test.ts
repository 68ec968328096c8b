// What the chat REPL shows, and how it reads the friendly spellings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDelivery, formatWho, parseChatLine, printable } from '../../src/client/chat-view.ts';
import { parseDelivery } from '../../src/protocol/chat.ts';

const delivery = (payload: string | Buffer) => parseDelivery(Buffer.from(payload))!;

test('/join, /nick and /who map to the commands; the argument is everything after the first space', () => {
  assert.deepEqual(parseChatLine('/join games'), { kind: 'join', argument: 'games' });
  assert.deepEqual(parseChatLine('/join a b'), { kind: 'join', argument: 'a b' }, 'the server judges it');
  assert.deepEqual(parseChatLine('/join'), { kind: 'join', argument: '' });
  assert.deepEqual(parseChatLine('/nick bob'), { kind: 'nick', argument: 'bob' });
  assert.deepEqual(parseChatLine('/nick  x'), { kind: 'nick', argument: ' x' });
  assert.deepEqual(parseChatLine('/who'), { kind: 'who' });
});

test('every other line is a message, sent as typed', () => {
  for (const line of ['hello', '/who x', '/joined', '/Join a', '!JOIN a', ' /who', '/shrug', '/nickname bob'])
    assert.deepEqual(parseChatLine(line), { kind: 'send', message: line }, line);
});

test('deliveries read as [room] from: text, * from joined room, * from left room', () => {
  assert.equal(formatDelivery(delivery('!MSG lobby alice hello there')), '[lobby] alice: hello there');
  assert.equal(formatDelivery(delivery('!MSG lobby alice ')), '[lobby] alice: ');
  assert.equal(formatDelivery(delivery('!JOINED lobby bob')), '* bob joined lobby');
  assert.equal(formatDelivery(delivery('!LEFT games 127.0.0.1:5123')), '* 127.0.0.1:5123 left games');
});

test('who reads as room: member, member, ...', () => {
  assert.equal(
    formatWho({ room: 'lobby', members: ['alice', 'bob', '127.0.0.1:5123'], leftOut: 0 }),
    'lobby: alice, bob, 127.0.0.1:5123',
  );
});

test('a room too big for one !WHO reply reads "and N more", not as a member called +N', () => {
  assert.equal(
    formatWho({ room: 'lobby', members: ['alice', 'bob'], leftOut: 1998 }),
    'lobby: alice, bob and 1,998 more',
  );
});

test("another user's text cannot drive the terminal: controls are replaced, line breaks indented", () => {
  assert.equal(printable('a\nb\r\nc\rd'), 'a\n  b\n  c\n  d');
  assert.equal(printable('\x1b[2J\x1b]0;title\x07'), '\uFFFD[2J\uFFFD]0;title\uFFFD');
  assert.equal(printable('tab\tstays'), 'tab\tstays');
  assert.equal(printable('\u202eevil\u2028x'), '\uFFFDevil\n  x');
  assert.equal(printable('caf\u00e9 \u{1F600}'), 'caf\u00e9 \u{1F600}');
  assert.equal(
    formatDelivery(delivery(Buffer.from([...Buffer.from('!MSG lobby eve '), 0xff, 0x0a, 0x1b]))),
    '[lobby] eve: \uFFFD\n  \uFFFD',
  );
});
