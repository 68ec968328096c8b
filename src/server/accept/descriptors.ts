/**
 * File descriptors, as Redis handles them: every connection is one descriptor,
 * so --max-connections must fit under the process's limit (`ulimit -n`) with
 * what the server itself holds (listening sockets, the event loops of every
 * thread, pipes, stdout, Redis) and a reserve (refusals being answered,
 * reconnections, a log). At start-up the limit is lowered to what fits, with
 * one warning line; a server that never runs out never meets libuv's answer to
 * EMFILE (it accepts and closes everything waiting, each client getting a bare
 * close or reset instead of SERVER_FULL).
 *
 * Node already raises its soft limit to the hard one at start (as Redis does
 * with setrlimit), and offers no getrlimit: on Linux the limit is read from
 * /proc/self/limits; elsewhere nothing is checked.
 */
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';

/** Descriptors kept free beyond what the server holds at start (Redis keeps 32: CONFIG_MIN_RESERVED_FDS). */
const MIN_RESERVED_DESCRIPTORS = 32;
/** ...or this share of the limit, whichever is more: room for a burst of refusals in flight. */
const RESERVED_SHARE = 1 / 8;

/** The soft limit on open files of this process, or null where it cannot be read (not Linux). */
export function descriptorLimit(limitsText = readProcFile('/proc/self/limits')): number | null {
  const line = limitsText?.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === undefined) return null;
  if (soft === 'unlimited') return Number.POSITIVE_INFINITY;
  const n = Number(soft);
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** Descriptors this process has open now, or null where that cannot be seen. */
function openDescriptors(): number | null {
  try {
    return readdirSync('/proc/self/fd').length - 1; // less the one reading the folder
  } catch {
    return null;
  }
}

function readProcFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

export interface DescriptorBudget {
  /** The connection limit that fits (equal to `requested` when it fits). */
  maxConnections: number;
  requested: number;
  limit: number;
  inUse: number;
  reserved: number;
}

/**
 * How many connections fit under `limit` descriptors when `inUse` are held already,
 * keeping room for `lingering` refusals in flight. At least 1.
 */
export function fitConnections(requested: number, limit: number, inUse: number, lingering = 0): DescriptorBudget {
  const reserved = Math.max(MIN_RESERVED_DESCRIPTORS, Math.ceil(limit * RESERVED_SHARE), lingering + 16);
  const room = Number.isFinite(limit) ? limit - inUse - reserved : requested;
  return { maxConnections: Math.max(1, Math.min(requested, room)), requested, limit, inUse, reserved };
}

/** The budget of this process now, or null when the limit or the open descriptors cannot be read. */
export function currentBudget(requested: number, lingering: number): DescriptorBudget | null {
  const limit = descriptorLimit();
  const inUse = openDescriptors();
  if (limit === null || inUse === null) return null;
  return fitConnections(requested, limit, inUse, lingering);
}

/** The one warning line of a lowered limit, Redis's words in ours. */
export function budgetWarning(b: DescriptorBudget): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return (
    `[WARNING] --max-connections ${n(b.requested)} needs about ${n(b.requested + b.inUse + b.reserved)} file descriptors ` +
    `but this process may open ${n(b.limit)} (ulimit -n; ${n(b.inUse)} in use, ${n(b.reserved)} kept free): ` +
    `lowered to ${n(b.maxConnections)} connections; raise 'ulimit -n' for more`
  );
}

/**
 * A few descriptors an accepting thread holds open (on /dev/null) and lets go
 * when accept() fails with EMFILE/ENFILE anyway (descriptors taken elsewhere):
 * the next accept then succeeds and that client gets SERVER_FULL instead of
 * libuv retrying accept() in a tight loop. They are taken back after a delay.
 */
export class SpareDescriptors {
  readonly #count: number;
  #held: number[] = [];

  constructor(count: number) {
    this.#count = count;
    this.take();
  }

  get held(): number {
    return this.#held.length;
  }

  /** Opens spares up to the count; stops quietly at the first that cannot be opened. */
  take(): void {
    while (this.#held.length < this.#count) {
      try {
        this.#held.push(openSync('/dev/null', 'r'));
      } catch {
        return;
      }
    }
  }

  release(): void {
    for (const fd of this.#held) closeSync(fd);
    this.#held = [];
  }
}
