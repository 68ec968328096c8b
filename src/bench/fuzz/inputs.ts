/**
 * The fuzz inputs: one connection's byte stream each, random or mutated from
 * valid frames, with random split points (the stream is written in pieces).
 * Input `index` of `seed` is always the same bytes and the same splits.
 */
import { Random } from '../shared/random.ts';

export const INPUT_KINDS = [
  'valid',
  'header-mutation',
  'huge-length',
  'truncated',
  'random-bytes',
  'interleaved',
  'empty',
] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

export interface FuzzInput {
  index: number;
  kind: InputKind;
  /** What was done to the header, for the mutation kinds. */
  mutation?: string;
  bytes: Buffer;
  /** Offsets where the stream is cut into separate writes (ascending, inside the stream). */
  splits: number[];
}

export interface GeneratorConfig {
  headerBytes: number;
  maxMessageBytes: number;
}

const KIND_WEIGHTS: ReadonlyArray<[InputKind, number]> = [
  ['valid', 25],
  ['header-mutation', 30],
  ['huge-length', 8],
  ['truncated', 10],
  ['random-bytes', 10],
  ['interleaved', 15],
  ['empty', 2],
];
const TOTAL_WEIGHT = KIND_WEIGHTS.reduce((n, [, w]) => n + w, 0);

/** Digits that are not ASCII (Arabic-Indic, fullwidth, Devanagari, superscript), as UTF-8. */
const UNICODE_DIGITS = ['\u0663', '\uff13', '\u0967', '\u00b2', '\u2463'].map((d) => Buffer.from(d, 'utf8'));
const DISCONNECT = Buffer.from('!DISCONNECT', 'ascii');

function header(digits: string, h: number, leadingSpaces = 0): Buffer {
  const out = Buffer.alloc(h, 0x20);
  out.write(digits, Math.min(leadingSpaces, Math.max(0, h - digits.length)), 'latin1');
  return out;
}

function payload(r: Random, max: number): Buffer {
  const n = r.chance(0.1) ? 0 : r.chance(0.8) ? r.between(1, 40) : r.between(41, Math.min(max, 2000));
  switch (r.below(4)) {
    case 0:
      return r.bytes(n); // any bytes: NUL, invalid UTF-8
    case 1:
      return Buffer.from(`!ERROR BAD_HEADER ${'x'.repeat(n)}`.slice(0, Math.max(n, 1)), 'utf8');
    case 2:
      return Buffer.from('héllo wörld ✓ '.repeat(Math.ceil(n / 16) + 1), 'utf8').subarray(0, n);
    default:
      return Buffer.alloc(n, 0x61 + r.below(26));
  }
}

function frame(r: Random, config: GeneratorConfig, body = payload(r, config.maxMessageBytes)): Buffer {
  const h = config.headerBytes;
  const digits = String(body.length);
  // Valid variations: leading zeros, leading spaces.
  const padded = r.chance(0.2) ? digits.padStart(Math.min(h, digits.length + r.between(1, 5)), '0') : digits;
  const lead = r.chance(0.2) ? r.below(h - padded.length + 1) : 0;
  return Buffer.concat([header(padded, h, lead), body]);
}

function validFrames(r: Random, config: GeneratorConfig, count: number): Buffer[] {
  return Array.from({ length: count }, () => frame(r, config));
}

/** One header-level mutation of a valid frame; returns the bytes and what was done. */
function mutateHeader(r: Random, config: GeneratorConfig): { bytes: Buffer; mutation: string } {
  const h = config.headerBytes;
  const body = payload(r, config.maxMessageBytes);
  const digits = String(body.length);
  const mutation = r.pick([
    'bit-flip',
    'sign',
    'hex',
    'nul',
    'unicode-digit',
    'control',
    'spaces-only',
    'inner-space',
    'underscore',
    'leading-zeros',
    'decimal-point',
    'exponent',
  ]);
  let head: Buffer;
  switch (mutation) {
    case 'bit-flip': {
      head = header(digits, h);
      for (let i = r.between(1, 3); i > 0; i--) {
        const at = r.below(h);
        head[at] = head[at]! ^ (1 << r.below(8));
      }
      break;
    }
    case 'sign':
      head = header(`${r.pick(['+', '-'])}${digits}`, h, r.below(3));
      break;
    case 'hex':
      head = header(r.pick([`0x${body.length.toString(16)}`, body.length.toString(16) + 'f', 'ff', '0X1A']), h);
      break;
    case 'nul': {
      head = header(digits, h);
      head[r.below(h)] = 0;
      break;
    }
    case 'unicode-digit': {
      const u = r.pick(UNICODE_DIGITS);
      head = Buffer.alloc(h, 0x20);
      const text = Buffer.concat([Buffer.from(digits.slice(0, -1), 'ascii'), u]);
      text.copy(head, 0, 0, Math.min(text.length, h));
      break;
    }
    case 'control': {
      head = header(digits, h);
      head[digits.length + r.below(h - digits.length)] = r.pick([0x09, 0x0a, 0x0d, 0x0b, 0x7f]);
      break;
    }
    case 'spaces-only':
      head = Buffer.alloc(h, 0x20);
      break;
    case 'inner-space':
      head = header(digits.length > 1 ? `${digits[0]} ${digits.slice(1)}` : `${digits} 0`, h);
      break;
    case 'underscore':
      head = header(`1_${digits}`, h);
      break;
    case 'leading-zeros':
      head = header(digits.padStart(h - r.below(3), '0'), h); // valid: leading zeros up to the header's end
      break;
    case 'decimal-point':
      head = header(`${digits}.0`, h);
      break;
    default:
      head = header(`${digits}e0`, h);
  }
  return { bytes: Buffer.concat([head, body]), mutation };
}

/** A well-formed header whose value exceeds the limit (up to a header full of 9s). */
function hugeLength(r: Random, config: GeneratorConfig): Buffer {
  const h = config.headerBytes;
  const limit = config.maxMessageBytes;
  const digits = r.pick([
    String(limit + 1),
    String(limit + r.between(2, 1_000_000)),
    '9'.repeat(r.between(String(limit).length + 1, h)),
    `1${'0'.repeat(r.between(String(limit).length, h - 1))}`,
    String(2 ** 31),
    String(2 ** 53 + 1),
  ]);
  return Buffer.concat([header(digits, h, r.below(Math.max(1, h - digits.length))), r.bytes(r.below(50))]);
}

function splitPoints(r: Random, length: number): number[] {
  if (length < 2 || !r.chance(0.35)) return [];
  const points = new Set<number>();
  for (let i = r.between(1, 6); i > 0; i--) points.add(r.between(1, length - 1));
  return [...points].sort((a, b) => a - b);
}

function pickKind(r: Random): InputKind {
  let w = r.below(TOTAL_WEIGHT);
  for (const [kind, weight] of KIND_WEIGHTS) {
    if (w < weight) return kind;
    w -= weight;
  }
  return 'valid';
}

export function generateInput(seed: number, index: number, config: GeneratorConfig): FuzzInput {
  const r = new Random(seed, index);
  const kind = pickKind(r);
  let parts: Buffer[];
  let mutation: string | undefined;
  const disconnect = () => (r.chance(0.75) ? [frame(r, config, DISCONNECT)] : []);
  switch (kind) {
    case 'valid':
      parts = [...validFrames(r, config, r.between(1, 4)), ...disconnect()];
      if (parts.length > 0 && r.chance(0.3)) parts.push(r.bytes(r.between(1, 80))); // ignored after !DISCONNECT
      break;
    case 'header-mutation': {
      const m = mutateHeader(r, config);
      mutation = m.mutation;
      parts = [...validFrames(r, config, r.below(3)), m.bytes, ...disconnect()];
      break;
    }
    case 'huge-length':
      parts = [...validFrames(r, config, r.below(3)), hugeLength(r, config)];
      break;
    case 'truncated': {
      const whole = Buffer.concat([...validFrames(r, config, r.below(3)), frame(r, config)]);
      const last = whole.length;
      parts = [whole.subarray(0, r.between(Math.max(0, last - config.headerBytes - 60), last - 1))];
      break;
    }
    case 'random-bytes':
      parts = [r.bytes(r.between(1, 200))];
      break;
    case 'interleaved': {
      const m = mutateHeader(r, config);
      mutation = m.mutation;
      const pieces = [...validFrames(r, config, r.between(2, 6))];
      pieces.splice(r.below(pieces.length + 1), 0, r.chance(0.5) ? m.bytes : hugeLength(r, config));
      parts = [...pieces, ...disconnect()];
      break;
    }
    default:
      parts = [];
  }
  const bytes = Buffer.concat(parts);
  return { index, kind, ...(mutation ? { mutation } : {}), bytes, splits: splitPoints(r, bytes.length) };
}
