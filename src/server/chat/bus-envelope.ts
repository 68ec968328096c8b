/**
 * What every bus puts on a room's channel or subject: the publishing server's id around
 * the bytes, so that a server drops its own entries when they come back, and so that a
 * bus can send its own control entries (a reaper's "these members are gone", a NATS
 * membership event) on the same channel, in order with the batches.
 *
 *   byte 0       ENVELOPE_VERSION
 *   byte 1       kind: ENTRY.BATCH (the body is the caller's batch) or ENTRY.CONTROL (the body is JSON)
 *   byte 2       L, the length of the sender's server id
 *   3 .. 3+L     the sender's server id (SERVER_ID)
 *   3+L .. end   the body
 *
 * Read from the service, so untrusted: openEnvelope() returns null for anything else.
 */
import { SERVER_ID } from './server-bus.ts';

const ENVELOPE_VERSION = 1;
export const ENTRY = { BATCH: 1, CONTROL: 2 } as const;
export type EntryKind = (typeof ENTRY)[keyof typeof ENTRY];

export interface Envelope {
  kind: EntryKind;
  server: string;
  /** A view into the envelope's bytes, not a copy. */
  body: Buffer;
}

/** One allocation: the header and the body copied in once (the service client would copy a list anyway). */
export function sealEnvelope(kind: EntryKind, server: string, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(3 + server.length + body.length);
  out[0] = ENVELOPE_VERSION;
  out[1] = kind;
  out[2] = server.length;
  out.write(server, 3, 'latin1');
  out.set(body, 3 + server.length);
  return out;
}

export function sealControl(server: string, control: object): Buffer {
  return sealEnvelope(ENTRY.CONTROL, server, Buffer.from(JSON.stringify(control), 'utf8'));
}

export function openEnvelope(bytes: Buffer): Envelope | null {
  if (bytes.length < 3 || bytes[0] !== ENVELOPE_VERSION) return null;
  const kind = bytes[1];
  if (kind !== ENTRY.BATCH && kind !== ENTRY.CONTROL) return null;
  const idEnd = 3 + bytes[2]!;
  if (idEnd > bytes.length) return null;
  const server = bytes.toString('latin1', 3, idEnd);
  if (!SERVER_ID.test(server)) return null;
  return { kind, server, body: bytes.subarray(idEnd) };
}

/** The JSON object of a control entry, or null when it is not one. */
export function controlOf(envelope: Envelope): Record<string, unknown> | null {
  if (envelope.kind !== ENTRY.CONTROL) return null;
  return jsonObject(envelope.body);
}

/** `bytes` parsed as a JSON object, or null (invalid JSON, or not an object). */
function jsonObject(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
