/**
 * The three protocols a chat measurement speaks, each as what a connection
 * sends (to enter the room, and per message) and a parser of what it reads:
 *
 * - handoff chat (PROTOCOL.md "Chat mode (v2)"): frames; `!WHO` in the lobby or
 *   `!JOIN <room>` enters, its `!OK` reply says the connection is in; a message
 *   is a frame, its reply `Msg received`; deliveries are `!MSG <room> <from> <text>`.
 * - NATS (its text protocol): `CONNECT`, `SUB <subject> 1`, then `PING`: the
 *   `PONG` says the subscription is in place; `PUB <subject> <n>`; deliveries
 *   are `MSG <subject> <sid> <n>`. NATS acknowledges nothing, so senders add a
 *   `PING` every k messages and count the `PONG`s.
 * - Redis pub/sub (RESP2): `SUBSCRIBE <channel>` and its confirmation; `PUBLISH`
 *   answered with the number of subscribers reached; deliveries are
 *   `message <channel> <payload>` pushes. Senders send `PING` to be sure they are up.
 *
 * Parsers are hot: they run once per delivery, take byte ranges of a reused
 * read buffer and report through the ChatSink's methods, allocating nothing
 * unless something is wrong. A parser stops on the first incomplete frame and
 * returns where it starts, with `sink.need` set to the bytes that frame needs
 * in all when it knows (0 otherwise).
 */
import {
  ACK_TEXT,
  BadReplyError,
  encodeFrame,
  encodeTextFrame,
  type HandoffError,
  parseErrorPayload,
  parseHeader,
  parseRefusal,
} from '../../../protocol/index.ts';

import type { TargetKind } from '../../results/chat-result.ts';

/** Largest frame, line or element any parser accepts from a server. */
const MAX_FRAME_BYTES = 16 * 1024 * 1024;

export interface ChatSink {
  /** Set by a parser that stopped on an incomplete frame: the bytes it needs in all (0: not known yet). */
  need: number;
  /** True once the connection is given up: parsers stop. */
  readonly dead: boolean;
  /** The room (subject, channel) this connection is in, as bytes: a delivery from any other is an error. */
  readonly room: Uint8Array;
  /** The payload length of the deliveries it expects (parsers take it as the usual case, not as a rule). */
  readonly textBytes: number;
  /** A message for this connection (from its room): its payload is buf[textStart, textEnd). */
  delivery(buf: Buffer, textStart: number, textEnd: number): void;
  /** The answer to a message sent: `Msg received` (reported -1) or PUBLISH's count of subscribers reached. */
  ack(reported: number): void;
  /** A PONG (NATS, Redis). */
  pong(): void;
  /** The server asks whether we are alive (NATS PING): answer PONG. */
  ping(): void;
  /** The join is confirmed: handoff's `!OK`, Redis's subscribe confirmation. */
  joined(): void;
  /** A handoff presence event (`!JOINED`, `!LEFT`). */
  presence(): void;
  /** Anything wrong: the server's error, a refusal, bytes that are not the protocol. */
  fail(err: HandoffError): void;
}

export interface ChatWire {
  readonly kind: TargetKind;
  /** Handoff's senders are room members, so they receive each other's messages too. */
  readonly sendersReceive: boolean;
  /** What a connection sends, once connected, to enter `room` (a sender of NATS and Redis enters nothing). */
  join(room: string, sender: boolean, lobby: boolean): Buffer;
  /** One message into `room`: its bytes with a `sizeBytes` payload, and where in them the payload starts. */
  message(room: string, payload: Buffer): { bytes: Buffer; payloadAt: number };
  /**
   * Parses the whole frames of buf[start, end); returns where the first incomplete
   * one starts. `words` is an Int32Array over the same memory as `buf`, which
   * starts on a 4-byte boundary (wordsOf): the handoff parser checks header
   * padding 4 bytes at a time.
   */
  parse(sink: ChatSink, buf: Buffer, words: Int32Array, start: number, end: number): number;
}

// The bytes the parsers test: ' ', CR, LF, '!', '0', '9'.
const [SPACE, CR, LF, BANG, DIGIT_0, DIGIT_9] = [0x20, 0x0d, 0x0a, 0x21, 0x30, 0x39] as const;

/** Where the digits read by digitsAt ended (module state: no allocation). */
let digitsEnd = 0;

/**
 * The decimal number at buf[at, end), as far as the digits go (digitsEnd: the
 * first other byte); more than MAX_FRAME_BYTES saturates just above it.
 */
function digitsAt(buf: Buffer, at: number, end: number): number {
  let i = at;
  let value = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c < DIGIT_0 || c > DIGIT_9) break;
    if (value <= MAX_FRAME_BYTES) value = value * 10 + (c - DIGIT_0);
  }
  digitsEnd = i;
  return value;
}

/** Literal bytes to compare with. */
function latin1<T extends readonly string[]>(...texts: T): { [I in keyof T]: Buffer } {
  return texts.map((t) => Buffer.from(t, 'latin1')) as { [I in keyof T]: Buffer };
}

function bad(sink: ChatSink, what: string): void {
  sink.fail(new BadReplyError(what));
}

function matches(buf: Uint8Array, at: number, end: number, literal: Uint8Array): boolean {
  if (end - at < literal.length) return false;
  for (let i = 0; i < literal.length; i++) if (buf[at + i] !== literal[i]) return false;
  return true;
}

/** buf[start, end) is exactly `literal`. */
function sameBytes(buf: Uint8Array, start: number, end: number, literal: Uint8Array): boolean {
  return end - start === literal.length && matches(buf, start, end, literal);
}

/** Hands over a delivery whose room is buf[roomStart, roomEnd), if it is the sink's room. */
function deliverIn(
  sink: ChatSink,
  buf: Buffer,
  roomStart: number,
  roomEnd: number,
  textStart: number,
  textEnd: number,
) {
  if (sameBytes(buf, roomStart, roomEnd, sink.room)) sink.delivery(buf, textStart, textEnd);
  else bad(sink, `a delivery from another room: ${shownText(buf, roomStart, roomEnd)}`);
}

/** Printable text of a server's error line, for a report. */
function shownText(buf: Buffer, start: number, end: number): string {
  return buf.toString('latin1', start, Math.min(end, start + 200)).replace(/[^\x20-\x7e]/g, '?');
}

// ---------------------------------------------------------------------------
// handoff chat

const [ACK_BYTES, MSG_PREFIX, JOINED_PREFIX, LEFT_PREFIX, OK_PREFIX, NO_PREFIX, ERROR_PREFIX] = latin1(
  ACK_TEXT,
  '!MSG ',
  '!JOINED ',
  '!LEFT ',
  '!OK ',
  '!NO ',
  '!ERROR ',
);

const SPACES4 = 0x20202020;

/** A buffer of `bytes` on a 4-byte boundary, and the Int32Array over it that parse() takes. */
export function alignedBuffer(bytes: number): { buf: Buffer; words: Int32Array } {
  const memory = new ArrayBuffer(Math.ceil(bytes / 4) * 4);
  return { buf: Buffer.from(memory, 0, bytes), words: new Int32Array(memory) };
}

/**
 * The payload length in the header at buf[pos, pos + h), or -1 when the header
 * is malformed. The usual header (digits first, then spaces) is read in one
 * pass, the padding a word at a time with one test at the end (this runs once
 * per delivery, and a byte loop over 60 spaces was a third of the parser's
 * time); any other shape goes to the protocol's own parser.
 */
function frameLength(buf: Buffer, words: Int32Array, pos: number, h: number): number {
  const end = pos + h;
  const value = digitsAt(buf, pos, end);
  let i = digitsEnd;
  if (i === pos || value > MAX_FRAME_BYTES) return parseHeader(buf, pos, h, MAX_FRAME_BYTES);
  let notSpace = 0;
  for (; i < end && (i & 3) !== 0; i++) notSpace |= buf[i]! ^ SPACE;
  const wordsEnd = end & ~3;
  for (let w = i >> 2, last = wordsEnd >> 2; w < last; w++) notSpace |= words[w]! ^ SPACES4;
  if (wordsEnd > i) i = wordsEnd;
  for (; i < end; i++) notSpace |= buf[i]! ^ SPACE;
  return notSpace === 0 ? value : -1;
}

function handoffFrame(sink: ChatSink, buf: Buffer, p: number, e: number): void {
  if (buf[p] !== BANG) {
    if (e - p === ACK_BYTES.length && matches(buf, p, e, ACK_BYTES)) sink.ack(-1);
    else bad(sink, `a frame that is neither a reply nor a delivery (${e - p} bytes)`);
    return;
  }
  // '!MSG ' tested byte by byte (not with matches()): this is the path of every delivery.
  if (buf[p + 1] === 0x4d && buf[p + 2] === 0x53 && buf[p + 3] === 0x47 && buf[p + 4] === SPACE) {
    // !MSG <room> <from> <text>: room and from hold no space, the text may.
    const roomStart = p + MSG_PREFIX.length;
    const room = sink.room;
    let roomEnd = roomStart + room.length;
    // The room is known: compared in place rather than searched for.
    let ours = roomEnd < e && buf[roomEnd] === SPACE;
    for (let i = 0; ours && i < room.length; i++) ours = buf[roomStart + i] === room[i];
    // The usual delivery, a text of the expected length after a space: taken from the end, the
    // sender's name between is not read (the stamp says who sent it).
    const textStart = e - sink.textBytes;
    if (ours && textStart - 1 > roomEnd + 1 && buf[textStart - 1] === SPACE) {
      sink.delivery(buf, textStart, e);
      return;
    }
    if (!ours) {
      roomEnd = roomStart;
      while (roomEnd < e && buf[roomEnd] !== SPACE) roomEnd++;
    }
    let fromEnd = roomEnd + 1;
    while (fromEnd < e && buf[fromEnd] !== SPACE) fromEnd++;
    if (roomEnd === roomStart || fromEnd >= e || fromEnd === roomEnd + 1) bad(sink, 'a malformed !MSG delivery');
    else deliverIn(sink, buf, roomStart, roomEnd, fromEnd + 1, e);
  } else if (matches(buf, p, e, JOINED_PREFIX) || matches(buf, p, e, LEFT_PREFIX)) {
    sink.presence();
  } else if (matches(buf, p, e, OK_PREFIX)) {
    sink.joined();
  } else if (matches(buf, p, e, NO_PREFIX)) {
    sink.fail(parseRefusal(buf.subarray(p, e))!);
  } else if (matches(buf, p, e, ERROR_PREFIX)) {
    sink.fail(parseErrorPayload(buf.subarray(p, e)) ?? new BadReplyError(shownText(buf, p, e)));
  } else {
    bad(sink, `an unknown frame: ${shownText(buf, p, e)}`);
  }
}

export function handoffWire(headerBytes: number): ChatWire {
  const frame = (text: string) => encodeTextFrame(text, headerBytes);
  return {
    kind: 'handoff',
    sendersReceive: true,
    join: (room, _sender, lobby) => frame(lobby ? '!WHO' : `!JOIN ${room}`),
    message: (_room, payload) => ({ bytes: encodeFrame(payload, headerBytes), payloadAt: headerBytes }),
    parse(sink, buf, words, start, end) {
      let pos = start;
      for (;;) {
        if (end - pos < headerBytes) {
          sink.need = headerBytes;
          return pos;
        }
        const length = frameLength(buf, words, pos, headerBytes);
        if (length < 0) {
          bad(sink, 'a frame header that is not digits padded with spaces (or above 16 MiB)');
          return end;
        }
        const p = pos + headerBytes;
        if (end - p < length) {
          sink.need = headerBytes + length;
          return pos;
        }
        handoffFrame(sink, buf, p, p + length);
        pos = p + length;
        if (sink.dead) return end;
      }
    },
  };
}

// ---------------------------------------------------------------------------
// NATS

const [NATS_MSG, NATS_PING, NATS_PONG, NATS_INFO, NATS_OK, NATS_ERR] = latin1(
  'MSG ',
  'PING\r\n',
  'PONG\r\n',
  'INFO ',
  '+OK',
  '-ERR',
);
/** Longest control line accepted before its end is seen. */
const MAX_LINE_BYTES = 64 * 1024;
const NATS_CONNECT = 'CONNECT {"verbose":false,"pedantic":false,"name":"handoff-bench"}\r\n';

/** A PING for a NATS sender to put after every k-th message: its PONG acknowledges the batch. */
export const NATS_PING_BYTES: Buffer = NATS_PING;
/** What a NATS client answers to the server's PING. */
export const NATS_PONG_BYTES: Buffer = NATS_PONG;

/**
 * The usual delivery, `MSG <our subject> 1 <#bytes>\r\n<payload>\r\n`, read in place
 * without first searching for the line's end: returns the frame's end, 0 when it is
 * incomplete or not of that shape (the general path then reads it).
 */
function natsUsual(sink: ChatSink, buf: Buffer, pos: number, end: number): number {
  const room = sink.room;
  let i = pos + 4;
  if (end - i < room.length + 6 || buf[pos] !== 0x4d || buf[pos + 1] !== 0x53 || buf[pos + 2] !== 0x47) return 0;
  if (buf[pos + 3] !== SPACE) return 0;
  for (let k = 0; k < room.length; k++) if (buf[i + k] !== room[k]) return 0;
  i += room.length;
  if (buf[i] !== SPACE || buf[i + 1] !== 0x31 || buf[i + 2] !== SPACE) return 0;
  i += 3;
  let size = 0;
  const digits = i;
  for (; i < end && i - digits < 9; i++) {
    const c = buf[i]!;
    if (c < DIGIT_0 || c > DIGIT_9) break;
    size = size * 10 + (c - DIGIT_0);
  }
  const payload = i + 2;
  if (i === digits || end - payload < size + 2 || buf[i] !== CR || buf[i + 1] !== LF) return 0;
  if (buf[payload + size] !== CR || buf[payload + size + 1] !== LF) return 0;
  sink.delivery(buf, payload, payload + size);
  return payload + size + 2;
}

/** `MSG <subject> <sid> [reply-to] <#bytes>\r\n` at buf[pos, nl]: sets the delivery, returns the frame's end or -1. */
function natsMessage(sink: ChatSink, buf: Buffer, pos: number, nl: number, end: number): number {
  const subjectStart = pos + NATS_MSG.length;
  let subjectEnd = subjectStart;
  while (subjectEnd < nl && buf[subjectEnd] !== SPACE) subjectEnd++;
  let d = nl - 1; // the CR
  while (d > subjectEnd && buf[d - 1]! >= DIGIT_0 && buf[d - 1]! <= DIGIT_9) d--;
  if (subjectEnd === subjectStart || d === nl - 1 || buf[d - 1] !== SPACE || nl - 1 - d > 9) {
    bad(sink, `a malformed NATS MSG line: ${shownText(buf, pos, nl)}`);
    return -1;
  }
  let size = 0;
  for (let i = d; i < nl - 1; i++) size = size * 10 + (buf[i]! - DIGIT_0);
  if (size > MAX_FRAME_BYTES) {
    bad(sink, `a NATS message of ${size} bytes`);
    return -1;
  }
  const payload = nl + 1;
  if (end - payload < size + 2) {
    sink.need = payload + size + 2 - pos;
    return 0;
  }
  if (buf[payload + size] !== CR || buf[payload + size + 1] !== LF) {
    bad(sink, 'a NATS message not followed by CRLF');
    return -1;
  }
  deliverIn(sink, buf, subjectStart, subjectEnd, payload, payload + size);
  return payload + size + 2;
}

export const natsWire: ChatWire = {
  kind: 'nats',
  sendersReceive: false,
  join: (room, sender) => Buffer.from(sender ? `${NATS_CONNECT}PING\r\n` : `${NATS_CONNECT}SUB ${room} 1\r\nPING\r\n`),
  message(room, payload) {
    const head = Buffer.from(`PUB ${room} ${payload.length}\r\n`, 'latin1');
    return { bytes: Buffer.concat([head, payload, Buffer.from('\r\n')]), payloadAt: head.length };
  },
  parse(sink, buf, _words, start, end) {
    let pos = start;
    while (pos < end) {
      const usual = natsUsual(sink, buf, pos, end);
      if (usual > 0) {
        pos = usual;
        if (sink.dead) return end;
        continue;
      }
      let nl = pos;
      while (nl < end && buf[nl] !== LF) nl++;
      if (nl === end) {
        sink.need = 0;
        if (end - pos <= MAX_LINE_BYTES) return pos;
        bad(sink, 'a NATS line longer than 64 KiB');
        return end;
      }
      if (nl - pos < 2 || buf[nl - 1] !== CR) {
        bad(sink, `a NATS line not ended by CRLF: ${shownText(buf, pos, nl)}`);
        return end;
      }
      if (matches(buf, pos, nl, NATS_MSG)) {
        const next = natsMessage(sink, buf, pos, nl, end);
        if (next < 0) return end;
        if (next === 0) return pos;
        pos = next;
      } else {
        if (matches(buf, pos, nl + 1, NATS_PING)) sink.ping();
        else if (matches(buf, pos, nl + 1, NATS_PONG)) sink.pong();
        else if (matches(buf, pos, nl, NATS_ERR))
          sink.fail(new BadReplyError(`nats-server: ${shownText(buf, pos, nl - 1)}`));
        else if (!matches(buf, pos, nl, NATS_INFO) && !matches(buf, pos, nl, NATS_OK))
          bad(sink, `an unknown NATS line: ${shownText(buf, pos, nl - 1)}`);
        pos = nl + 1;
      }
      if (sink.dead) return end;
    }
    sink.need = 0;
    return pos;
  },
};

// ---------------------------------------------------------------------------
// Redis (RESP2)

const [RESP_MESSAGE, RESP_SUBSCRIBE, RESP_PONG] = latin1('message', 'subscribe', 'PONG');

/** Where the last element read by respInteger/respBulk ends, and a bulk string's bytes (module state: no allocation). */
let elementEnd = 0;
let bulkStart = 0;
let bulkEnd = 0;
const INCOMPLETE = -1;
const MALFORMED = -2;

/** `<prefix><digits>\r\n` at buf[at] (no sign: nothing here is negative): its value (elementEnd after the LF), INCOMPLETE or MALFORMED. */
function respNumberLine(buf: Buffer, at: number, end: number): number {
  const first = at + 1;
  const value = digitsAt(buf, first, end);
  if (value > MAX_FRAME_BYTES) return MALFORMED;
  const i = digitsEnd;
  if (end - i < 2) return end - at > 32 ? MALFORMED : INCOMPLETE;
  if (i === first || buf[i] !== CR || buf[i + 1] !== LF) return MALFORMED;
  elementEnd = i + 2;
  return value;
}

/** A bulk string `$<n>\r\n<bytes>\r\n` at buf[at]: 1 (bulkStart/bulkEnd/elementEnd set), INCOMPLETE or MALFORMED. */
function respBulk(sink: ChatSink, buf: Buffer, at: number, end: number, frameStart: number): number {
  if (at >= end) return INCOMPLETE;
  if (buf[at] !== 0x24) return MALFORMED;
  const n = respNumberLine(buf, at, end);
  if (n < 0) return n === INCOMPLETE ? INCOMPLETE : MALFORMED;
  const start = elementEnd;
  if (end - start < n + 2) {
    sink.need = start + n + 2 - frameStart;
    return INCOMPLETE;
  }
  if (buf[start + n] !== CR || buf[start + n + 1] !== LF) return MALFORMED;
  bulkStart = start;
  bulkEnd = start + n;
  elementEnd = start + n + 2;
  return 1;
}

const RESP_MESSAGE_HEAD = Buffer.from('*3\r\n$7\r\nmessage\r\n', 'latin1');

/**
 * The usual push, `*3 $7 message $<n> <our channel> $<m> <payload>`, read in place:
 * returns its end, or 0 when it is incomplete or not of that shape (the general
 * path then reads it).
 */
function redisUsual(sink: ChatSink, buf: Buffer, pos: number, end: number): number {
  const head = RESP_MESSAGE_HEAD;
  if (end - pos < head.length + 4) return 0;
  for (let k = 0; k < head.length; k++) if (buf[pos + k] !== head[k]) return 0;
  let i = pos + head.length;
  if (buf[i] !== 0x24) return 0;
  const channel = digitsAt(buf, i + 1, end);
  i = digitsEnd;
  const room = sink.room;
  if (channel !== room.length || end - i < channel + 5 || buf[i] !== CR || buf[i + 1] !== LF) return 0;
  i += 2;
  for (let k = 0; k < channel; k++) if (buf[i + k] !== room[k]) return 0;
  i += channel;
  if (buf[i] !== CR || buf[i + 1] !== LF || buf[i + 2] !== 0x24) return 0;
  const size = digitsAt(buf, i + 3, end);
  i = digitsEnd;
  const payload = i + 2;
  if (end - payload < size + 2 || buf[i] !== CR || buf[i + 1] !== LF) return 0;
  if (buf[payload + size] !== CR || buf[payload + size + 1] !== LF) return 0;
  sink.delivery(buf, payload, payload + size);
  return payload + size + 2;
}

/** A reply to a sender or a push to a subscriber at buf[pos]: its end, INCOMPLETE or MALFORMED (reported). */
function redisElement(sink: ChatSink, buf: Buffer, pos: number, end: number): number {
  const type = buf[pos];
  if (type === 0x3a) {
    // :<n> PUBLISH's reply: the subscribers reached.
    const n = respNumberLine(buf, pos, end);
    if (n === INCOMPLETE || n === MALFORMED) return n;
    sink.ack(n);
    return elementEnd;
  }
  if (type === 0x2b || type === 0x2d) {
    // +PONG, -ERR ...
    let nl = pos;
    while (nl < end && buf[nl] !== LF) nl++;
    if (nl === end) return end - pos > MAX_LINE_BYTES ? MALFORMED : INCOMPLETE;
    if (buf[nl - 1] !== CR) return MALFORMED;
    if (type === 0x2d) sink.fail(new BadReplyError(`redis-server: ${shownText(buf, pos + 1, nl - 1)}`));
    else if (sameBytes(buf, pos + 1, nl - 1, RESP_PONG)) sink.pong();
    else return MALFORMED;
    return nl + 1;
  }
  if (type !== 0x2a) return MALFORMED;
  // *3 [message|subscribe] <channel> <payload|count>
  const count = respNumberLine(buf, pos, end);
  if (count === INCOMPLETE) return INCOMPLETE;
  if (count !== 3) return MALFORMED;
  let r = respBulk(sink, buf, elementEnd, end, pos);
  if (r !== 1) return r;
  const kindStart = bulkStart;
  const kindEnd = bulkEnd;
  r = respBulk(sink, buf, elementEnd, end, pos);
  if (r !== 1) return r;
  const channelStart = bulkStart;
  const channelEnd = bulkEnd;
  if (sameBytes(buf, kindStart, kindEnd, RESP_MESSAGE)) {
    r = respBulk(sink, buf, elementEnd, end, pos);
    if (r !== 1) return r;
    const next = elementEnd;
    deliverIn(sink, buf, channelStart, channelEnd, bulkStart, bulkEnd);
    return next;
  }
  if (sameBytes(buf, kindStart, kindEnd, RESP_SUBSCRIBE)) {
    if (elementEnd >= end) return INCOMPLETE;
    if (buf[elementEnd] !== 0x3a) return MALFORMED;
    const n = respNumberLine(buf, elementEnd, end);
    if (n === INCOMPLETE || n === MALFORMED) return n;
    sink.joined();
    return elementEnd;
  }
  return MALFORMED;
}

function resp(...parts: Array<string | Buffer>): Buffer {
  const items = parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p));
  const chunks: Buffer[] = [Buffer.from(`*${items.length}\r\n`)];
  for (const item of items) chunks.push(Buffer.from(`$${item.length}\r\n`), item, Buffer.from('\r\n'));
  return Buffer.concat(chunks);
}

export const redisWire: ChatWire = {
  kind: 'redis',
  sendersReceive: false,
  join: (room, sender) => (sender ? resp('PING') : resp('SUBSCRIBE', room)),
  message(room, payload) {
    const bytes = resp('PUBLISH', room, payload);
    return { bytes, payloadAt: bytes.length - 2 - payload.length };
  },
  parse(sink, buf, _words, start, end) {
    let pos = start;
    while (pos < end) {
      sink.need = 0;
      const usual = redisUsual(sink, buf, pos, end);
      const next = usual > 0 ? usual : redisElement(sink, buf, pos, end);
      if (next === INCOMPLETE) return pos;
      if (next === MALFORMED) {
        bad(sink, `bytes that are not the RESP expected: ${shownText(buf, pos, end)}`);
        return end;
      }
      pos = next;
      if (sink.dead) return end;
    }
    sink.need = 0;
    return pos;
  },
};

export function wireFor(kind: TargetKind, headerBytes: number): ChatWire {
  if (kind === 'nats') return natsWire;
  if (kind === 'redis') return redisWire;
  return handoffWire(headerBytes);
}
