/**
 * Judges one chat fuzz session: the server's bytes split into frames by the spec
 * (judge.ts, no src/protocol code), deliveries set apart (the frames that start
 * with `!MSG `, `!JOINED `, `!LEFT `), the replies compared with the oracle's.
 */
import { type ExpectedSession, whoProblem } from './chat-oracle.ts';
import type { Ending } from './judge.ts';
import { splitFrames } from './judge.ts';

const DELIVERY_HEADS = ['!MSG ', '!JOINED ', '!LEFT '].map((h) => Buffer.from(h, 'latin1'));

export function isDeliveryFrame(payload: Buffer): boolean {
  return DELIVERY_HEADS.some((h) => payload.length >= h.length && payload.subarray(0, h.length).equals(h));
}

/** The replies (not deliveries) in what the server sent so far, and whether bytes are left over. */
export function repliesIn(received: Buffer, headerBytes: number): { replies: Buffer[]; rest: number } {
  const { frames, rest } = splitFrames(received, headerBytes);
  return { replies: frames.filter((f) => !isDeliveryFrame(f)), rest: rest.length };
}

const show = (b: Buffer) => JSON.stringify(b.subarray(0, 60).toString('latin1'));

/** Null when the session went as the oracle says; else what was wrong. */
export function judgeSession(
  expected: ExpectedSession,
  received: Buffer,
  ending: Ending,
  config: { headerBytes: number; maxMessageBytes: number },
): string | null {
  const { replies, rest } = repliesIn(received, config.headerBytes);
  // The client closes an `open` session as soon as its last reply is in: a delivery may be half read then.
  if (rest > 0 && expected.end !== 'open') return `${rest} byte(s) after the last whole frame`;
  const want = expected.replies;
  let i = 0;
  for (; i < Math.min(want.length, replies.length); i++) {
    const got = replies[i]!;
    const text = got.toString('utf8');
    const w = want[i]!;
    if (expected.end === 'too-large' && text.startsWith('!ERROR ')) break;
    if (w.kind === 'exact' && text !== w.text) return `reply ${i + 1} is ${show(got)}, not ${JSON.stringify(w.text)}`;
    if (w.kind === 'refusal' && !new RegExp(`^!NO ${w.code} \\S`).test(text)) {
      return `reply ${i + 1} is ${show(got)}, not !NO ${w.code} <text>`;
    }
    if (w.kind === 'who') {
      const problem = whoProblem(text, w.room, w.self, config.maxMessageBytes + 100);
      if (problem) return `reply ${i + 1} ${show(got)}: ${problem}`;
    }
  }
  if (expected.end === 'too-large') {
    // A fatal error may overtake replies that still wait for a membership change to be
    // confirmed: every reply before it must be right, and the last frame is the error.
    const last = replies.at(-1)?.toString('utf8') ?? '';
    if (!/^!ERROR TOO_LARGE \S/.test(last))
      return `ended with ${JSON.stringify(last.slice(0, 60))}, not !ERROR TOO_LARGE`;
    if (i !== replies.length - 1)
      return `${replies.length - 1} replies before the error, more than the ${want.length} frames`;
    return ending === 'left-open' ? 'left open after the error' : null;
  }
  if (replies.length !== want.length) {
    const missing = want[replies.length];
    const next = missing
      ? `; the first missing: ${missing.kind === 'exact' ? JSON.stringify(missing.text) : missing.kind === 'who' ? '!OK WHO' : `!NO ${missing.code}`}`
      : '';
    return `${replies.length} replies, expected ${want.length}${next}`;
  }
  // After the FIN, a client still sending what the server ignores (bytes after !DISCONNECT, the rest
  // of its pieces) may be answered with a reset once the server closes: with every reply in, nothing was lost.
  if (expected.end === 'fin' && ending === 'left-open') return 'left open after !DISCONNECT';
  return null;
}
