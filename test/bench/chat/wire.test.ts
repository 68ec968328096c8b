// The chat parsers (handoff frames, NATS lines, Redis RESP) behind the per-connection
// split-frame reader: fed whole, split at every offset, and one byte at a time, they
// report the same events; what is not the protocol is one error with a code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SplitFrames } from '../../../src/bench/load/chat/split-frames.ts';
import { payloadTemplate, stampSeq, stampSender, writeStamp } from '../../../src/bench/load/chat/stamp.ts';
import {
  alignedBuffer,
  type ChatSink,
  type ChatWire,
  handoffWire,
  natsWire,
  redisWire,
} from '../../../src/bench/load/chat/wire.ts';
import { encodeFrame, encodeTextFrame, type HandoffError } from '../../../src/protocol/index.ts';

class Recorder implements ChatSink {
  need = 0;
  dead = false;
  readonly room: Buffer;
  readonly textBytes = 16;
  readonly events: string[] = [];
  error: HandoffError | null = null;
  constructor(room: string) {
    this.room = Buffer.from(room);
  }
  delivery(buf: Buffer, start: number, end: number) {
    this.events.push(`msg ${stampSender(buf, start)}:${stampSeq(buf, start)} ${end - start}`);
  }
  ack(reported: number) {
    this.events.push(`ack ${reported}`);
  }
  pong() {
    this.events.push('pong');
  }
  ping() {
    this.events.push('ping');
  }
  joined() {
    this.events.push('joined');
  }
  presence() {
    this.events.push('presence');
  }
  fail(err: HandoffError) {
    this.error = err;
    this.dead = true;
  }
}

/** Feeds `bytes` in reads cut at `cuts` through one reused read buffer (as a load thread does). */
function feed(wire: ChatWire, room: string, bytes: Buffer, cuts: number[]): Recorder {
  const sink = new Recorder(room);
  const frames = new SplitFrames(wire);
  const { buf, words } = alignedBuffer(Math.max(1, bytes.length));
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut <= at) continue;
    buf.fill(0xee); // the reused buffer's old bytes must never be read again
    bytes.copy(buf, 0, at, cut);
    frames.consume(sink, buf, words, cut - at);
    at = cut;
    if (sink.dead) break;
  }
  assert.equal(frames.pending, sink.dead ? frames.pending : 0, 'nothing left over at the end of whole frames');
  return sink;
}

/** Whole, split at every offset, and byte by byte: the same events. */
function byEverySplit(wire: ChatWire, room: string, bytes: Buffer, expected: string[]) {
  assert.deepEqual(feed(wire, room, bytes, []).events, expected, 'whole');
  for (let cut = 1; cut < bytes.length; cut++) {
    assert.deepEqual(feed(wire, room, bytes, [cut]).events, expected, `split at ${cut}`);
  }
  const bytewise = Array.from({ length: bytes.length }, (_, i) => i);
  assert.deepEqual(feed(wire, room, bytes, bytewise).events, expected, 'one byte at a time');
}

function stamped(sid: number, seq: number, size = 16): Buffer {
  const p = payloadTemplate(size);
  writeStamp(p, 0, sid, seq, true, 12345);
  return p;
}

const H = 16;
const hf = (payload: string | Buffer) =>
  typeof payload === 'string' ? encodeTextFrame(payload, H) : encodeFrame(payload, H);
const msg = (room: string, from: string, payload: Buffer) =>
  hf(Buffer.concat([Buffer.from(`!MSG ${room} ${from} `), payload]));

test('handoff: deliveries, replies, presence and !OK, by every split of the stream', () => {
  const bytes = Buffer.concat([
    hf('!OK WHO lobby 127.0.0.1:1 127.0.0.1:2'),
    hf('!JOINED lobby 127.0.0.1:3'),
    msg('lobby', '127.0.0.1:40000', stamped(3, 7)),
    hf('Msg received'),
    // A text holding spaces and a payload of 40 bytes: the text is everything after <from>.
    msg('lobby', 'alice', Buffer.concat([stamped(1, 0, 16), Buffer.from(' with spaces in it here!')])),
    hf('!LEFT lobby 127.0.0.1:3'),
  ]);
  byEverySplit(handoffWire(H), 'lobby', bytes, [
    'joined',
    'presence',
    'msg 3:7 16',
    'ack -1',
    'msg 1:0 40',
    'presence',
  ]);
});

test('handoff: a header with leading spaces and zeros is read; one with a tab is an error', () => {
  const payload = Buffer.from('Msg received');
  const header = Buffer.from('  012'.padEnd(H, ' '));
  assert.deepEqual(feed(handoffWire(H), 'lobby', Buffer.concat([header, payload]), []).events, ['ack -1']);
  const bad = Buffer.from('12\t'.padEnd(H, ' '));
  const sink = feed(handoffWire(H), 'lobby', Buffer.concat([bad, payload]), []);
  assert.equal(sink.error?.code, 'ERR_BAD_REPLY');
});

test('handoff: padding that is not spaces anywhere in the header is an error (checked a word at a time)', () => {
  for (let at = 2; at < H; at++) {
    const header = Buffer.from('12'.padEnd(H, ' '));
    header[at] = 0x41;
    const sink = feed(handoffWire(H), 'lobby', Buffer.concat([header, Buffer.from('Msg received')]), []);
    assert.equal(sink.error?.code, 'ERR_BAD_REPLY', `a letter at byte ${at}`);
  }
});

test('handoff: !ERROR and !NO carry their codes; a delivery from another room is an error', () => {
  assert.equal(feed(handoffWire(H), 'lobby', hf('!ERROR SLOW_CONSUMER too slow'), []).error?.code, 'SLOW_CONSUMER');
  assert.equal(feed(handoffWire(H), 'lobby', hf('!NO BAD_ROOM no such room'), []).error?.code, 'BAD_ROOM');
  const other = feed(handoffWire(H), 'lobby', msg('lounge', 'x', stamped(0, 0)), []);
  assert.equal(other.error?.code, 'ERR_BAD_REPLY');
  assert.match(other.error!.message, /another room: lounge/);
  assert.equal(feed(handoffWire(H), 'lobby', hf('!MSG lobby'), []).error?.code, 'ERR_BAD_REPLY');
  assert.equal(feed(handoffWire(H), 'lobby', hf('something else'), []).error?.code, 'ERR_BAD_REPLY');
});

test('NATS: INFO, PONG, MSG (with and without reply-to), PING, by every split', () => {
  const bytes = Buffer.concat([
    Buffer.from('INFO {"server_id":"x","max_payload":1048576}\r\n'),
    Buffer.from('PONG\r\n'),
    Buffer.from('MSG bench 1 16\r\n'),
    stamped(2, 5),
    Buffer.from('\r\nMSG bench 1 _INBOX.x 16\r\n'),
    stamped(2, 6),
    Buffer.from('\r\nPING\r\n+OK\r\n'),
  ]);
  byEverySplit(natsWire, 'bench', bytes, ['pong', 'msg 2:5 16', 'msg 2:6 16', 'ping']);
});

test('NATS: -ERR is an error with the server text; a MSG of another subject and a bad line are errors', () => {
  const err = feed(natsWire, 'bench', Buffer.from("-ERR 'Slow Consumer'\r\n"), []);
  assert.equal(err.error?.code, 'ERR_BAD_REPLY');
  assert.match(err.error!.message, /Slow Consumer/);
  const other = Buffer.concat([Buffer.from('MSG other 1 16\r\n'), stamped(0, 0), Buffer.from('\r\n')]);
  assert.equal(feed(natsWire, 'bench', other, []).error?.code, 'ERR_BAD_REPLY');
  assert.equal(feed(natsWire, 'bench', Buffer.from('HELLO\r\n'), []).error?.code, 'ERR_BAD_REPLY');
  const noCrlf = Buffer.concat([Buffer.from('MSG bench 1 16\r\n'), stamped(0, 0), Buffer.from('xx')]);
  assert.equal(feed(natsWire, 'bench', noCrlf, []).error?.code, 'ERR_BAD_REPLY');
});

test('Redis: subscribe confirmation, messages, PUBLISH replies and PONG, by every split', () => {
  const bulk = (b: Buffer | string) => {
    const x = typeof b === 'string' ? Buffer.from(b) : b;
    return Buffer.concat([Buffer.from(`$${x.length}\r\n`), x, Buffer.from('\r\n')]);
  };
  const bytes = Buffer.concat([
    Buffer.from('*3\r\n'),
    bulk('subscribe'),
    bulk('bench'),
    Buffer.from(':1\r\n'),
    Buffer.from('*3\r\n'),
    bulk('message'),
    bulk('bench'),
    bulk(stamped(4, 9)),
    Buffer.from(':500\r\n+PONG\r\n'),
  ]);
  byEverySplit(redisWire, 'bench', bytes, ['joined', 'msg 4:9 16', 'ack 500', 'pong']);
});

test('Redis: -ERR is an error with the server text; a message on another channel is an error', () => {
  const err = feed(redisWire, 'bench', Buffer.from('-ERR max number of clients reached\r\n'), []);
  assert.equal(err.error?.code, 'ERR_BAD_REPLY');
  assert.match(err.error!.message, /max number of clients/);
  const other = Buffer.from('*3\r\n$7\r\nmessage\r\n$5\r\nother\r\n$2\r\nhi\r\n');
  assert.equal(feed(redisWire, 'bench', other, []).error?.code, 'ERR_BAD_REPLY');
  assert.equal(feed(redisWire, 'bench', Buffer.from('?what\r\n'), []).error?.code, 'ERR_BAD_REPLY');
});

test('what each protocol sends: the join and one message with the payload where it says', () => {
  const payload = stamped(1, 2);
  assert.equal(handoffWire(H).join('lobby', false, true).subarray(H).toString(), '!WHO');
  assert.equal(handoffWire(H).join('r1', true, false).subarray(H).toString(), '!JOIN r1');
  assert.match(natsWire.join('bench', false, false).toString(), /^CONNECT \{.*\}\r\nSUB bench 1\r\nPING\r\n$/);
  assert.doesNotMatch(natsWire.join('bench', true, false).toString(), /SUB/);
  assert.equal(redisWire.join('bench', false, false).toString(), '*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nbench\r\n');
  for (const wire of [handoffWire(H), natsWire, redisWire]) {
    const m = wire.message('bench', payload);
    assert.deepEqual(m.bytes.subarray(m.payloadAt, m.payloadAt + payload.length), payload, wire.kind);
  }
  assert.equal(natsWire.message('bench', payload).bytes.toString('latin1', 0, 13), 'PUB bench 16\r');
});
