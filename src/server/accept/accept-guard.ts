/**
 * What a listener does when accept() itself fails. The start-up budget
 * (descriptors.ts) keeps the server under its descriptor limit, so this is for
 * descriptors taken elsewhere. libuv first answers EMFILE itself (it closes its
 * one spare descriptor and accepts-and-closes everything waiting); when that
 * spare is gone too, it reports the error here and tries accept() again at
 * once, in a loop that would spin on the CPU. So: let this thread's spare
 * descriptors go, stop accepting (close the listening socket) for a short
 * delay, then listen again; one line when a burst starts and one when it ends,
 * never one per failure.
 */
import type net from 'node:net';
import type { ServerLog } from '../observe/log.ts';
import { SpareDescriptors } from './descriptors.ts';

/** Pause after a failed accept before listening again. */
export const ACCEPT_BACKOFF_MS = 100;
/** Spare descriptors each accepting thread holds for that moment. */
const SPARES_PER_LISTENER = 4;
const OUT_OF_DESCRIPTORS = new Set(['EMFILE', 'ENFILE']);

export interface GuardedListener {
  /** True while accepting is paused. */
  readonly backingOff: boolean;
  /** Stops for good (no relisten after a pause). */
  stop(): void;
}

/**
 * Watches a listening `server`'s accept errors; after a pause it listens again with
 * `options` on the port it is bound to now (a port 0 stays the port it became).
 */
export function guardAccepts(
  server: net.Server,
  options: net.ListenOptions,
  log: ServerLog,
  spares = new SpareDescriptors(SPARES_PER_LISTENER),
): GuardedListener {
  const again = { ...options, port: (server.address() as net.AddressInfo).port };
  let failures = 0;
  let code = '';
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const resume = () => {
    timer = undefined;
    if (stopped) return;
    spares.take();
    server.listen(again);
    const n = failures;
    failures = 0;
    log.essential(
      'accept-resumed',
      `[INFO] accepting connections again after ${n.toLocaleString('en-US')} failed accept${n === 1 ? '' : 's'} (${code})`,
      { failures: n, code },
    );
  };

  // Also a failure to listen again after a pause (the port was taken meanwhile): paused again.
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (stopped) return;
    failures++;
    if (timer) return; // this burst has been reported and handled
    code = err.code ?? 'unknown';
    const why = OUT_OF_DESCRIPTORS.has(code) ? 'out of file descriptors' : err.message;
    log.essential(
      'accept-failed',
      `[WARNING] accepting connections failed (${code}: ${why}); pausing for ${ACCEPT_BACKOFF_MS} ms`,
      { code },
    );
    spares.release();
    if (server.listening) server.close();
    timer = setTimeout(resume, ACCEPT_BACKOFF_MS);
    timer.unref();
  });

  return {
    get backingOff() {
      return timer !== undefined;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      spares.release();
    },
  };
}
