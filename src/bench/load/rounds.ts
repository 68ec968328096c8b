/**
 * The shape both kinds of run share: rounds, and in each round every variant
 * (a server, started for the round) in turn, A B A B, so that slow drift of the
 * machine hits every variant alike; inside a variant, every point of the sweep
 * (sizes, connection counts). Plus the warnings list and the result's envelope.
 */
import type { ResolvedBenchOptions } from '../options.ts';
import type { RunEnvelope } from '../results/result.ts';
import { checkFileLimit, environment } from '../shared/system.ts';
import type { PlanInfo, RunHooks } from './window.ts';

export interface Rounds<V, S extends { stop(): Promise<void> }, X extends { key: string }, M> {
  variants: readonly V[];
  /** Starts what variant `v` measures (once per round). */
  start(v: V): Promise<S>;
  /** Where the server answers, for the result (the last one started). */
  address(server: S): { host: string; port: number | null };
  /** The sweep inside one variant: each point is what its measurement's plan adds to PlanInfo. */
  points(v: V): readonly X[];
  measure(server: S, plan: PlanInfo & X, warn: (text: string) => void): Promise<M>;
  /** True ends the run after this measurement (--bailout): the result has the measurements made so far. */
  stopAfter?(m: M): boolean;
}

/**
 * Runs every measurement of every round with `pool`'s threads (destroyed at the
 * end, whatever happens), and makes the result: `finish` adds the schema,
 * measurements and summary to the envelope and the warnings.
 */
export async function runRounds<V, S extends { stop(): Promise<void> }, X extends { key: string }, M, R>(
  options: ResolvedBenchOptions,
  pool: { destroy(): Promise<void> },
  hooks: RunHooks<PlanInfo & X, M>,
  r: Rounds<V, S, X, M>,
  finish: (measurements: M[]) => R,
): Promise<R & RunEnvelope> {
  const startedAt = new Date().toISOString();
  const { warnings, warn } = warningsFor(hooks);
  const total = options.repeat * r.variants.reduce((a, v) => a + r.points(v).length, 0);
  const measurements: M[] = [];
  let last: { host: string; port: number | null } = { host: '127.0.0.1', port: null };
  let index = 0;
  try {
    checkFileLimit(options.clients);
    let stopped = false;
    for (let round = 1; round <= options.repeat && !stopped; round++) {
      for (const v of r.variants) {
        if (stopped) break;
        const server = await r.start(v);
        last = r.address(server);
        try {
          for (const x of r.points(v)) {
            const plan = { index: index++, total, round, ...x };
            hooks.onMeasurementStart?.(plan);
            const m = await r.measure(server, plan, warn);
            measurements.push(m);
            hooks.onMeasurementEnd?.(plan, m);
            stopped = r.stopAfter?.(m) ?? false;
            if (stopped) break;
          }
        } finally {
          await server.stop();
        }
      }
    }
  } finally {
    await pool.destroy();
  }
  return { ...finish(measurements), ...envelope(options, startedAt, last), warnings };
}

/** A run's warnings, each once, passed on to the hooks as they come. */
function warningsFor(hooks: { onWarning?(text: string): void }): {
  warnings: string[];
  warn: (text: string) => void;
} {
  const warnings: string[] = [];
  return {
    warnings,
    warn(text) {
      if (warnings.includes(text)) return;
      warnings.push(text);
      hooks.onWarning?.(text);
    },
  };
}

/** What every saved run says about itself, besides its measurements. */
function envelope(
  options: ResolvedBenchOptions,
  startedAt: string,
  last: { host: string; port: number | null },
): Omit<RunEnvelope, 'warnings'> {
  return {
    label: options.label,
    environment: environment(),
    options,
    target: { kind: options.target ? 'external' : 'embedded', ...last },
    startedAt,
    finishedAt: new Date().toISOString(),
  };
}
