/**
 * What the reports say when a load thread was the limit: by how much (each
 * thread's busy share, the machine's) and what to do about it: more
 * `--workers` while the machine has idle cores, else a second load machine
 * whose run is added to this one with `bench:merge`.
 */
import { availableParallelism } from 'node:os';

/** What a measurement knows of its tester's load. */
export interface TesterLoad {
  /** Busy share of each load thread over the window. */
  readonly threadUtilization: readonly number[];
  /** Busy share of the whole machine (null off Linux). */
  readonly machineBusy: number | null;
  /** The tester machine's cores; runs saved before it was recorded take this machine's. */
  readonly cores?: number;
}

/** Idle cores below which a machine has none to give another load thread. */
const ONE_CORE = 1;

const percent = (x: number) => `${Math.round(x * 100)}%`;

/** `load threads 100%/98% busy, machine 95% busy` */
function testerLoadText(t: TesterLoad): string {
  const threads = t.threadUtilization.map(percent).join('/');
  const noun = t.threadUtilization.length === 1 ? 'load thread' : 'load threads';
  return `${noun} ${threads} busy${t.machineBusy === null ? '' : `, machine ${percent(t.machineBusy)} busy`}`;
}

/** What to do: more load threads if cores are idle, else another load machine and bench:merge. */
function saturationAdvice(t: TesterLoad): string {
  const workers = t.threadUtilization.length;
  const cores = t.cores ?? availableParallelism();
  const merge =
    'run the tester on another machine too (the same command on each, at the same time, --target this server) ' +
    'and add the runs up with `npm run bench:merge -- a.json b.json`';
  if (t.machineBusy === null) {
    return workers < cores ? `try --workers ${workers + 1} if cores are idle; else ${merge}` : merge;
  }
  const idle = cores * (1 - t.machineBusy);
  if (idle >= ONE_CORE && workers < cores) {
    const more = Math.min(cores, workers + Math.floor(idle));
    return `about ${idle.toFixed(1)} of the ${cores} cores were idle: run with --workers ${more}`;
  }
  return `no core of this ${cores}-core machine was idle: ${merge}`;
}

/** The whole sentence: by how much, what it means, what to do. */
export function saturationText(t: TesterLoad): string {
  return `${testerLoadText(t)}: the figures are the tester's limit, not the server's; ${saturationAdvice(t)}`;
}

/**
 * What a measurement's terminal report says, in two rows of at most 80 columns:
 * that the figures are the tester's limit (the tester's row above gives the
 * busy shares), and the fix: more `--workers`, or a second load machine and
 * bench:merge. The saved report has the whole sentence (saturationText).
 */
export function saturationLines(t: TesterLoad): [string, string] {
  const workers = t.threadUtilization.length;
  const cores = t.cores ?? availableParallelism();
  const elsewhere = 'the same command on a second machine at once, then bench:merge';
  if (t.machineBusy === null) {
    return [
      "  SATURATED: the tester's limit, not the server's",
      workers < cores
        ? `  fix: --workers ${workers + 1} if a core is idle; else a second machine and bench:merge`
        : `  fix: ${elsewhere}`,
    ];
  }
  const idle = cores * (1 - t.machineBusy);
  if (idle >= ONE_CORE && workers < cores) {
    const more = Math.min(cores, workers + Math.floor(idle));
    return [
      `  SATURATED: the tester's limit, not the server's (${idle.toFixed(1)} of ${cores} cores idle)`,
      `  fix: --workers ${more}`,
    ];
  }
  return [`  SATURATED: the tester's limit, not the server's (no core was idle)`, `  fix: ${elsewhere}`];
}
