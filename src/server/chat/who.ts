/**
 * The `!WHO` reply and its size rule (PROTOCOL.md): never longer than the
 * longest delivery the server sends (--max-message-bytes plus a delivery's
 * prefix), which options validation has made sure fits the header. When the
 * members do not all fit, the reply names as many as fit, the asker first, and
 * ends with ` +N`, N being how many it left out.
 */
import { MAX_DELIVERY_PREFIX_BYTES } from '../../protocol/index.ts';

/** The longest `!WHO` reply payload a server with this --max-message-bytes builds. */
export function maxWhoBytes(maxMessageBytes: number): number {
  return maxMessageBytes + MAX_DELIVERY_PREFIX_BYTES;
}

/**
 * What a member name read from another server (through Redis) must look like to be
 * listed: a name (`A-Z a-z 0-9 _ . -`) or an address (`1.2.3.4:5`, `[::1]:5`, with a
 * zone). Anything else was not written by a handoff server, and is not listed: above
 * all, no entry may start with `+` or hold a space.
 */
const FROM_PATTERN = /^[A-Za-z0-9_.\-:[\]%]{1,64}$/;

export function isListableName(name: string): boolean {
  return FROM_PATTERN.test(name);
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** `!OK WHO <room> <asker> <others...>`, cut to `maxBytes` with ` +N` when they do not all fit. */
export function whoReply(room: string, asker: string, others: readonly string[], maxBytes: number): string {
  const head = `!OK WHO ${room}`;
  let all = bytes(head) + 1 + bytes(asker);
  for (const name of others) all += 1 + bytes(name);
  if (all <= maxBytes) return others.length === 0 ? `${head} ${asker}` : `${head} ${asker} ${others.join(' ')}`;
  // Shortest first: as many names as possible. A name listed costs its bytes and a space and can
  // shorten ` +N` by at most one digit, so once one does not fit, no later (longer) one does.
  const ordered = [asker, ...[...others].sort((a, b) => bytes(a) - bytes(b))];
  let used = bytes(head);
  let listed = 0;
  for (; listed < ordered.length; listed++) {
    const leftOut = ordered.length - listed - 1;
    const next = used + 1 + bytes(ordered[listed]!);
    if (next + (leftOut === 0 ? 0 : 2 + String(leftOut).length) > maxBytes) break;
    used = next;
  }
  const names = ordered.slice(0, listed);
  return `${head}${names.length > 0 ? ` ${names.join(' ')}` : ''} +${ordered.length - listed}`;
}
