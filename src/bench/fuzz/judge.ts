/**
 * Compares what a connection received with what the oracle expects. The
 * server's bytes are split into frames here with the spec's rules (no
 * src/protocol code), so a server that sends a bad frame is caught too.
 */
import type { Expected } from './oracle.ts';
import { headerValue } from './oracle.ts';

/** How the connection ended, seen from the client. */
export type Ending = 'fin' | 'reset' | 'left-open';

export interface Verdict {
  ok: boolean;
  /** The !ERROR code received, if any. */
  code: string | null;
  /** What was wrong, when not ok. */
  problem?: string;
}

const ERROR_PREFIX = Buffer.from('!ERROR ', 'ascii');

/** The server's stream as frames; a trailing part that is not a whole frame is returned as `rest`. */
export function splitFrames(bytes: Buffer, headerBytes: number): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let pos = 0;
  while (bytes.length - pos >= headerBytes) {
    const value = headerValue(bytes.subarray(pos, pos + headerBytes));
    if (value === null || bytes.length - pos - headerBytes < Number(value)) break;
    const n = Number(value);
    frames.push(bytes.subarray(pos + headerBytes, pos + headerBytes + n));
    pos += headerBytes + n;
  }
  return { frames, rest: bytes.subarray(pos) };
}

const show = (b: Buffer) => JSON.stringify(b.subarray(0, 60).toString('latin1'));

export function judge(expected: Expected, received: Buffer, ending: Ending, headerBytes: number): Verdict {
  const { frames, rest } = splitFrames(received, headerBytes);
  const fail = (problem: string, code: string | null = null): Verdict => ({ ok: false, code, problem });
  if (ending === 'left-open') return fail(`left open after ${frames.length} frame(s), no close`);
  if (rest.length > 0) return fail(`${rest.length} byte(s) after the last whole frame: ${show(rest)}`);
  const replies = expected.replies;
  const wantFrames = replies.length + (expected.end.kind === 'error' ? 1 : 0);
  for (let i = 0; i < Math.min(replies.length, frames.length); i++) {
    if (!frames[i]!.equals(replies[i]!)) return fail(`reply ${i + 1} is ${show(frames[i]!)}, not ${show(replies[i]!)}`);
  }
  if (frames.length !== wantFrames) {
    const last = frames.at(-1);
    return fail(
      `${frames.length} frame(s), expected ${wantFrames} (${replies.length} replies${expected.end.kind === 'error' ? ` + !ERROR ${expected.end.codes.join('|')}` : ' + FIN'}); last: ${last ? show(last) : 'none'}; ${ending}`,
    );
  }
  // After the FIN, a client still sending what the server ignores may be answered with a reset once the
  // server closes: with every reply there, nothing was lost.
  if (expected.end.kind === 'fin') return { ok: true, code: null };
  const error = frames.at(-1)!;
  if (!error.subarray(0, ERROR_PREFIX.length).equals(ERROR_PREFIX))
    return fail(`last frame ${show(error)} is no !ERROR`);
  const [code, ...text] = error.subarray(ERROR_PREFIX.length).toString('utf8').split(' ');
  if (!expected.end.codes.includes(code!))
    return fail(`!ERROR ${code}, expected ${expected.end.codes.join('|')}`, code);
  if (text.join(' ').trim() === '') return fail(`!ERROR ${code} with no text`, code);
  return { ok: true, code: code! };
}
