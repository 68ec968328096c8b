/**
 * The batch format of the chat bus between servers (Redis today; any bus that
 * carries opaque messages later), and what a server accepts from it. A batch
 * comes from outside this process: anyone who can PUBLISH on the bus can send
 * one, and another server may run other limits or another version. Nothing here
 * reads past the bytes it was given, and nothing throws on bad input: decoding
 * says why a batch cannot be served, and the caller drops it.
 *
 * Format version 1, every integer big-endian:
 *
 *     offset  bytes  field
 *     0       4      magic "hbus"
 *     4       1      format version (1)
 *     5       2      the sender's --header-bytes
 *     7       4      the sender's --max-message-bytes
 *     11      1      L, length of the sender's server id (1 to 64)
 *     12      L      the sender's server id (ASCII)
 *     12+L    4      C, number of payloads
 *     then C times:  4-byte length n, n payload bytes (a delivery payload: `!MSG ...`, `!JOINED ...`, `!LEFT ...`)
 *
 * and nothing after the last payload.
 */
import type { BatchDropReason } from '../observe/counters.ts';

/** The format this server writes and the only one it reads. */
export const BATCH_FORMAT_VERSION = 1;
const MAGIC = Buffer.from('hbus', 'latin1');
const FIXED_BYTES = 12;
const MAX_ID_BYTES = 64;
const COUNT_BYTES = 4;
const LENGTH_BYTES = 4;

/** The limits a server runs with, as far as the servers of one chat must agree on them. */
export interface BusLimits {
  /** Batch format version. */
  format: number;
  headerBytes: number;
  maxMessageBytes: number;
}

export interface DecodedBatch {
  ok: true;
  server: string;
  limits: BusLimits;
  /** Views of the batch's bytes. */
  payloads: Buffer[];
}

export interface RejectedBatch {
  ok: false;
  reason: BatchDropReason;
  /** The sender's server id when the batch got that far, else null. */
  server: string | null;
  /** In words, for the log. */
  detail: string;
}

const rejected = (reason: BatchDropReason, server: string | null, detail: string): RejectedBatch => ({
  ok: false,
  reason,
  server,
  detail,
});

export function encodeBatch(server: string, limits: BusLimits, payloads: readonly Uint8Array[]): Buffer {
  const id = Buffer.from(server, 'latin1');
  if (id.length < 1 || id.length > MAX_ID_BYTES) throw new RangeError(`a server id is 1 to ${MAX_ID_BYTES} bytes`);
  let size = FIXED_BYTES + id.length + COUNT_BYTES;
  for (const p of payloads) size += LENGTH_BYTES + p.length;
  const out = Buffer.allocUnsafe(size);
  MAGIC.copy(out, 0);
  out[4] = limits.format;
  out.writeUInt16BE(limits.headerBytes, 5);
  out.writeUInt32BE(limits.maxMessageBytes, 7);
  out[11] = id.length;
  id.copy(out, FIXED_BYTES);
  let at = FIXED_BYTES + id.length;
  out.writeUInt32BE(payloads.length, at);
  at += COUNT_BYTES;
  for (const p of payloads) {
    out.writeUInt32BE(p.length, at);
    out.set(p, at + LENGTH_BYTES);
    at += LENGTH_BYTES + p.length;
  }
  return out;
}

/** A server id as a log may show it: printable ASCII, at most 64 characters. */
function printable(bytes: Buffer): string {
  return bytes.toString('latin1').replace(/[^\x21-\x7e]/g, '?');
}

/** Reads a batch; never reads outside `batch`, never throws. */
export function decodeBatch(batch: Buffer): DecodedBatch | RejectedBatch {
  if (batch.length < MAGIC.length || !batch.subarray(0, MAGIC.length).equals(MAGIC)) {
    return rejected('garbage', null, `${batch.length} bytes that are not a handoff batch`);
  }
  if (batch.length < FIXED_BYTES)
    return rejected('truncated', null, `${batch.length} bytes, shorter than a batch's fixed fields`);
  const format = batch[4]!;
  if (format !== BATCH_FORMAT_VERSION) {
    return rejected(
      'version',
      null,
      `batch format version ${format}; this server reads version ${BATCH_FORMAT_VERSION}`,
    );
  }
  const headerBytes = batch.readUInt16BE(5);
  const maxMessageBytes = batch.readUInt32BE(7);
  const idLength = batch[11]!;
  if (idLength < 1 || idLength > MAX_ID_BYTES) return rejected('malformed', null, `a ${idLength}-byte server id`);
  let at = FIXED_BYTES + idLength;
  if (batch.length < at + COUNT_BYTES) return rejected('truncated', null, 'it ends inside the server id');
  const server = printable(batch.subarray(FIXED_BYTES, at));
  const count = batch.readUInt32BE(at);
  at += COUNT_BYTES;
  // Each payload takes at least its length field: a count beyond that cannot be true (and is never allocated).
  if (count > (batch.length - at) / LENGTH_BYTES) {
    return rejected('truncated', server, `${count} payloads declared in ${batch.length - at} bytes`);
  }
  const payloads = new Array<Buffer>(count);
  for (let i = 0; i < count; i++) {
    if (batch.length - at < LENGTH_BYTES)
      return rejected('truncated', server, `it ends before payload ${i + 1} of ${count}`);
    const length = batch.readUInt32BE(at);
    at += LENGTH_BYTES;
    if (length > batch.length - at) {
      return rejected(
        'truncated',
        server,
        `payload ${i + 1} of ${count} declares ${length} bytes, ${batch.length - at} left`,
      );
    }
    payloads[i] = batch.subarray(at, at + length);
    at += length;
  }
  if (at !== batch.length) return rejected('malformed', server, `${batch.length - at} bytes after the last payload`);
  return { ok: true, server, limits: { format, headerBytes, maxMessageBytes }, payloads };
}

/** Where two servers' limits differ: the first field that does, with both values. */
export interface LimitsMismatch {
  reason: 'version' | 'header_bytes' | 'max_message_bytes';
  /** The field, as the programmatic API names it (`format` is the batch format version). */
  option: 'format' | 'headerBytes' | 'maxMessageBytes';
  /** As a command line names it. */
  flag: string;
  theirs: number;
  mine: number;
}

/** Why two servers with these limits cannot be one chat; null when they can. */
export function limitsMismatch(mine: BusLimits, theirs: BusLimits): LimitsMismatch | null {
  if (theirs.format !== mine.format) {
    return {
      reason: 'version',
      option: 'format',
      flag: 'batch format version',
      theirs: theirs.format,
      mine: mine.format,
    };
  }
  if (theirs.headerBytes !== mine.headerBytes) {
    const { headerBytes } = theirs;
    return {
      reason: 'header_bytes',
      option: 'headerBytes',
      flag: '--header-bytes',
      theirs: headerBytes,
      mine: mine.headerBytes,
    };
  }
  if (theirs.maxMessageBytes !== mine.maxMessageBytes) {
    return {
      reason: 'max_message_bytes',
      option: 'maxMessageBytes',
      flag: '--max-message-bytes',
      theirs: theirs.maxMessageBytes,
      mine: mine.maxMessageBytes,
    };
  }
  return null;
}

const BANG = 0x21;
const SPACE = 0x20;
const DELIVERY_HEADS = ['!MSG ', '!JOINED ', '!LEFT '].map((s) => Buffer.from(s, 'latin1'));
const MSG = 0;

/** The delivery kind `payload` starts with (an index of DELIVERY_HEADS), or -1. */
function headOf(payload: Buffer): number {
  if (payload[0] !== BANG) return -1;
  for (let k = 0; k < DELIVERY_HEADS.length; k++) {
    const head = DELIVERY_HEADS[k]!;
    if (payload.length >= head.length && payload.compare(head, 0, head.length, 0, head.length) === 0) return k;
  }
  return -1;
}

/**
 * True when `payload` is a delivery this server may hand to the members of `room`:
 * `!MSG <room> <from> <text>`, or `!JOINED <room> <from>` / `!LEFT <room> <from>`, with a
 * non-empty `<from>` without spaces. Anything else would reach clients as a reply.
 */
export function isDeliveryFor(payload: Buffer, room: Buffer): boolean {
  const kind = headOf(payload);
  if (kind < 0) return false;
  const roomAt = DELIVERY_HEADS[kind]!.length;
  const fromAt = roomAt + room.length + 1;
  if (payload.length <= fromAt) return false;
  if (payload.compare(room, 0, room.length, roomAt, roomAt + room.length) !== 0 || payload[fromAt - 1] !== SPACE) {
    return false;
  }
  const fromEnd = payload.indexOf(SPACE, fromAt);
  if (kind === MSG) return fromEnd > fromAt;
  return fromEnd === -1;
}

/**
 * Whether this server can serve a decoded batch that arrived on `room`'s channel:
 * its sender's limits are this server's, and every payload is a delivery for that
 * room no longer than `maxDeliveryBytes`. Null when it can.
 */
export function refusalOf(
  batch: DecodedBatch,
  mine: BusLimits,
  room: Buffer,
  maxDeliveryBytes: number,
): RejectedBatch | null {
  const mismatch = limitsMismatch(mine, batch.limits);
  if (mismatch) {
    const { flag, theirs, mine: ours } = mismatch;
    return rejected(mismatch.reason, batch.server, `it runs ${flag} ${theirs}, this server ${ours}`);
  }
  for (let i = 0; i < batch.payloads.length; i++) {
    const p = batch.payloads[i]!;
    if (p.length > maxDeliveryBytes) {
      return rejected(
        'too_large',
        batch.server,
        `a ${p.length}-byte delivery; this server delivers at most ${maxDeliveryBytes}`,
      );
    }
    if (!isDeliveryFor(p, room)) {
      return rejected(
        'not_delivery',
        batch.server,
        `payload ${i + 1} is not a delivery for room ${room.toString('latin1')}`,
      );
    }
  }
  return null;
}

/** The limits record a server keeps in the bus's shared store, for the others' start-up check. */
export interface ServerRecord extends BusLimits {
  host: string;
  pid: number;
}

export function encodeServerRecord(record: ServerRecord): string {
  return JSON.stringify(record);
}

/** Reads another server's record; null when it is not one (an older handoff, or anything else). */
export function decodeServerRecord(text: string | null): ServerRecord | null {
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  const int = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  if (!int(r.format) || !int(r.headerBytes) || !int(r.maxMessageBytes) || !int(r.pid)) return null;
  return {
    format: r.format as number,
    headerBytes: r.headerBytes as number,
    maxMessageBytes: r.maxMessageBytes as number,
    host: typeof r.host === 'string' ? r.host.slice(0, 255) : '?',
    pid: r.pid as number,
  };
}
