/**
 * The chat fuzz's inputs (`npm run fuzz:chat`): each is either a session (one
 * connection's random chat commands and messages, to one of the two servers) or a
 * batch published straight onto a room's Redis channel, as another server, a
 * stranger or a broken peer would: valid, foreign, truncated, oversize, of another
 * version or other limits, or not deliveries. Input `index` of `seed` is always
 * the same. Batches are written here from the format docs/chat.md ("Several servers")
 * and src/server/chat/batch-codec.ts's comment describe, not with that code.
 */
import { Random } from '../shared/random.ts';

/** The rooms a session may join and batches are published to; a listener sits in each on each server. */
export const CHAT_FUZZ_ROOMS = ['lobby', 'r0', 'r1', 'r2'] as const;

export const BATCH_VARIANTS = [
  'valid',
  'valid-empty',
  'valid-longest',
  'garbage',
  'text',
  'truncated',
  'oversize',
  'other-version',
  'other-header-bytes',
  'other-max-message-bytes',
  'not-delivery',
  'other-room',
  'trailing-bytes',
  'bad-id',
  'huge-count',
] as const;
type BatchVariant = (typeof BATCH_VARIANTS)[number];

export interface ChatFuzzConfig {
  headerBytes: number;
  maxMessageBytes: number;
}

export interface SessionInput {
  index: number;
  kind: 'session';
  /** Which of the two servers. */
  server: 0 | 1;
  /** The payloads sent, in order (then, maybe, an oversize header, or `!DISCONNECT`). */
  payloads: Buffer[];
  /** Ends with a header above --max-message-bytes. */
  tooLarge: boolean;
  /** Ends with `!DISCONNECT` (and maybe bytes after it, which are ignored). */
  disconnect: boolean;
  /** The whole stream. */
  bytes: Buffer;
  /** Where the stream is cut into separate writes. */
  splits: number[];
}

interface BatchInput {
  index: number;
  kind: 'batch';
  variant: BatchVariant;
  room: string;
  bytes: Buffer;
}

export type ChatInput = SessionInput | BatchInput;

const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-';

function name(r: Random, length = r.between(1, 32)): string {
  let out = '';
  for (let i = 0; i < length; i++) out += NAME_CHARS[r.below(NAME_CHARS.length)];
  return out;
}

function badName(r: Random): string {
  return r.pick(['', 'two words', name(r, 33), 'fz~1', 'a/b', 'é', '+3', `${name(r, 3)}!`, '\t']);
}

function text(r: Random, max: number): Buffer {
  const n = r.chance(0.1) ? 0 : r.chance(0.9) ? r.between(1, 60) : r.between(61, Math.min(max, 3000));
  const body = r.chance(0.5) ? r.bytes(n) : Buffer.from('héllo wörld ✓ '.repeat(Math.ceil(n / 16) + 1)).subarray(0, n);
  // A message, not a command: not `!` followed by a capital letter.
  if (body.length >= 2 && body[0] === 0x21 && body[1]! >= 0x41 && body[1]! <= 0x5a) body[1] = 0x61;
  return body;
}

/** One frame's payload: a message, or a command, well-formed or not. */
function sessionPayload(r: Random, config: ChatFuzzConfig): Buffer {
  const s = (v: string) => Buffer.from(v, 'latin1');
  switch (r.below(14)) {
    case 0:
    case 1:
    case 2:
      return text(r, config.maxMessageBytes);
    case 3:
      return s(`!NICK ${name(r)}`);
    case 4:
      return Buffer.from(`!NICK ${badName(r)}`, 'utf8');
    case 5:
      return s(`!JOIN ${r.pick(CHAT_FUZZ_ROOMS)}`);
    case 6:
      return Buffer.from(`!JOIN ${r.chance(0.5) ? badName(r) : name(r)}`, 'utf8');
    case 7:
    case 8:
      return s('!WHO');
    case 9:
      return s(r.pick(['!WHO x', '!WHO ', '!DISCONNECT ', '!DISCONNECT x', '!NICK', '!JOIN']));
    case 10:
      return s(r.pick(['!PING', '!X', `!${'Q'.repeat(r.between(1, 200))}`, '!OK', '!NO', '!MSG lobby x y', '!NICKx']));
    case 11:
      return s(r.pick(['!hello', '! hi', '!', '!!', '!1', 'NICK x', ' !WHO']));
    case 12:
      return s(`!JOIN ${r.pick(CHAT_FUZZ_ROOMS)}`);
    default:
      return Buffer.concat([s('!'), s(String.fromCharCode(0x41 + r.below(26))), r.bytes(r.below(8))]);
  }
}

/** A frame as the spec says: the digits of N left-aligned, spaces to H bytes, N payload bytes. */
export function frameOf(payload: Uint8Array, headerBytes: number): Buffer {
  const head = Buffer.alloc(headerBytes, 0x20);
  head.write(String(payload.length), 0, 'latin1');
  return Buffer.concat([head, payload]);
}

function session(r: Random, index: number, config: ChatFuzzConfig): SessionInput {
  const payloads = Array.from({ length: r.between(1, 8) }, () => sessionPayload(r, config));
  const tooLarge = r.chance(0.03);
  const disconnect = !tooLarge && r.chance(0.5);
  const h = config.headerBytes;
  const parts = payloads.map((p) => frameOf(p, h));
  if (tooLarge) {
    const head = Buffer.alloc(h, 0x20);
    head.write(String(config.maxMessageBytes + r.between(1, 100_000)), 0, 'latin1');
    parts.push(head, r.bytes(r.below(20)));
  }
  if (disconnect) {
    parts.push(frameOf(Buffer.from('!DISCONNECT', 'latin1'), h));
    if (r.chance(0.3)) parts.push(r.bytes(r.between(1, 40)));
  }
  const bytes = Buffer.concat(parts);
  const splits: number[] = [];
  if (r.chance(0.3) && bytes.length > 2) {
    for (let i = r.between(1, 4); i > 0; i--) splits.push(r.between(1, bytes.length - 1));
    splits.sort((a, b) => a - b);
  }
  return { index, kind: 'session', server: r.chance(0.5) ? 1 : 0, payloads, tooLarge, disconnect, bytes, splits };
}

interface BatchFields {
  magic: string;
  version: number;
  headerBytes: number;
  maxMessageBytes: number;
  id: Buffer;
  count: number | null;
  payloads: Buffer[];
}

function writeBatch(f: BatchFields): Buffer {
  const fixed = Buffer.alloc(12);
  fixed.write(f.magic, 0, 'latin1');
  fixed[4] = f.version;
  fixed.writeUInt16BE(f.headerBytes, 5);
  fixed.writeUInt32BE(f.maxMessageBytes, 7);
  fixed[11] = f.id.length;
  const count = Buffer.alloc(4);
  count.writeUInt32BE(f.count ?? f.payloads.length);
  const parts: Buffer[] = [fixed, f.id, count];
  for (const p of f.payloads) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(p.length);
    parts.push(length, p);
  }
  return Buffer.concat(parts);
}

/**
 * `batch` as it travels on a room's channel: in the bus envelope (src/server/chat/bus-envelope.ts:
 * version 1, kind 1 = batch, the length of the sender's id, its 16 hex digits), written here from
 * the format rather than with the server's code, so that the fuzz checks the server against the
 * format. The sender is a server id no real server has (ids are random), so no server drops the
 * batch as its own: what happens to it is the batch's doing.
 */
export function enveloped(batch: Buffer): Buffer {
  return Buffer.concat([Buffer.from([1, 1, FUZZ_SENDER.length]), Buffer.from(FUZZ_SENDER, 'latin1'), batch]);
}
const FUZZ_SENDER = 'f0220f0220f0220f';

/** Payloads a real server would publish: `!MSG`/`!JOINED`/`!LEFT` of `room`, each from a tag `fz~<index>.<k>`. */
function deliveries(r: Random, index: number, room: string, config: ChatFuzzConfig, n: number): Buffer[] {
  return Array.from({ length: n }, (_, k) => {
    const from = `fz~${index}.${k}`;
    const kind = r.below(5);
    if (kind === 0) return Buffer.from(`!JOINED ${room} ${from}`, 'latin1');
    if (kind === 1) return Buffer.from(`!LEFT ${room} ${from}`, 'latin1');
    return Buffer.concat([Buffer.from(`!MSG ${room} ${from} `, 'latin1'), text(r, config.maxMessageBytes)]);
  });
}

function batch(r: Random, index: number, config: ChatFuzzConfig): BatchInput {
  const variant = r.pick(BATCH_VARIANTS);
  const room = r.pick(CHAT_FUZZ_ROOMS);
  const f: BatchFields = {
    magic: 'hbus',
    version: 1,
    headerBytes: config.headerBytes,
    maxMessageBytes: config.maxMessageBytes,
    id: Buffer.from(`fuzz-${r.below(8)}`, 'latin1'),
    count: null,
    payloads: deliveries(r, index, room, config, r.between(1, 4)),
  };
  const bytes = SPOIL[variant](r, f, { index, room, config, longest: config.maxMessageBytes + 100 });
  return { index, kind: 'batch', variant, room, bytes: bytes ?? writeBatch(f) };
}

/** What a variant's spoiling knows: the input, its room, and the longest delivery a server may make. */
interface SpoilContext {
  index: number;
  room: string;
  config: ChatFuzzConfig;
  longest: number;
}

/**
 * How each variant spoils a valid batch: by changing its fields (null: the batch is written from
 * them), or by giving the bytes to publish instead.
 */
const SPOIL: Record<BatchVariant, (r: Random, f: BatchFields, c: SpoilContext) => Buffer | null> = {
  valid: () => null,
  'valid-empty': (_r, f) => {
    f.payloads = [];
    return null;
  },
  'valid-longest': (_r, f, { index, room, longest }) => {
    // A delivery of exactly the longest length a server may deliver.
    const head = Buffer.from(`!MSG ${room} fz~${index}.0 `, 'latin1');
    f.payloads = [Buffer.concat([head, Buffer.alloc(longest - head.length, 0x61)])];
    return null;
  },
  garbage: (r) => r.bytes(r.between(0, 200)),
  text: (r, _f, { index, room }) =>
    Buffer.from(r.pick(['hello', '', 'hbus', 'PING', `!MSG ${room} fz~${index}.0 plain`]), 'latin1'),
  truncated: (r, f) => {
    const whole = writeBatch(f);
    return whole.subarray(0, r.between(4, whole.length - 1));
  },
  oversize: (r, f, { index, room, longest }) => {
    const head = Buffer.from(`!MSG ${room} fz~${index}.9 `, 'latin1');
    f.payloads.splice(
      r.below(f.payloads.length + 1),
      0,
      Buffer.concat([head, Buffer.alloc(longest + r.between(1, 5000) - head.length, 0x62)]),
    );
    return null;
  },
  'other-version': (r, f) => {
    f.version = r.pick([0, 2, 3, 255]);
    return null;
  },
  'other-header-bytes': (r, f, { config }) => {
    f.headerBytes = r.pick([4, 8, 63, 65, 1024].filter((h) => h !== config.headerBytes));
    return null;
  },
  'other-max-message-bytes': (r, f, { config }) => {
    f.maxMessageBytes = r.pick([0, config.maxMessageBytes - 1, config.maxMessageBytes + 1, 2 ** 31]);
    return null;
  },
  'not-delivery': (r, f, { room }) => {
    const notOne = [
      'hello',
      'Msg received',
      `!OK WHO ${room} a`,
      `!JOINED ${room} a b`,
      `!MSG ${room} a`,
      `!LEFT ${room} `,
      '',
    ];
    f.payloads.splice(r.below(f.payloads.length + 1), 0, Buffer.from(r.pick(notOne), 'latin1'));
    return null;
  },
  'other-room': (_r, f, { index, room }) => {
    f.payloads.push(Buffer.from(`!MSG ${room === 'r0' ? 'r1' : 'r0'} fz~${index}.8 elsewhere`, 'latin1'));
    return null;
  },
  'trailing-bytes': (r, f) => Buffer.concat([writeBatch(f), r.bytes(r.between(1, 10))]),
  'bad-id': (r, f) => {
    f.id = r.chance(0.5) ? Buffer.alloc(0) : Buffer.alloc(r.between(65, 255), 0x61);
    return null;
  },
  'huge-count': (r, f) => {
    f.count = r.pick([f.payloads.length + 1, 2 ** 32 - 1, 1_000_000]);
    return null;
  },
};

/** Input `index` of `seed`: about half sessions, half batches. */
export function generateChatInput(seed: number, index: number, config: ChatFuzzConfig): ChatInput {
  const r = new Random(seed ^ 0x63686174, index); // another stream than the echo fuzz's inputs
  return r.chance(0.5) ? session(r, index, config) : batch(r, index, config);
}
