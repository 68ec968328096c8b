/**
 * The load tester as a library: options in (the same BenchOptions the command
 * line's flags set), the same result object out (what `--json` prints and
 * results/ keeps), progress as events.
 *
 *   import { bench } from 'handoff/bench';
 *   const run = bench({ target: '127.0.0.1:5050', clients: 10, amount: 10_000 });
 *   run.on('tick', (plan, tick) => console.log(plan.key, tick.msgsPerSec));
 *   const result = await run;
 *
 * Options are validated when the run starts; a bad one rejects the run with an
 * InvalidOptionError naming the option (never a flag).
 */
import { EventEmitter } from 'node:events';
import { type BenchOptions, resolveBenchOptions, type ResolvedBenchOptions } from './options.ts';
import { runBench } from './load/run.ts';
import { runChatBench } from './load/chat/run.ts';
import { startOnPort } from './load/on-port.ts';
import { withTargetAddress } from './load/target-address.ts';
import type { PlanInfo, RunHooks, RunPhase, Tick } from './load/window.ts';
import type { AnyResult } from './results/saved-runs.ts';
import type { Measurement } from './results/result.ts';
import type { ChatMeasurement } from './results/chat-result.ts';

export type { BenchOptions, ResolvedBenchOptions } from './options.ts';
export type { AnyResult } from './results/saved-runs.ts';
export { saveRun } from './results/saved-runs.ts';
export type { BenchResult, Measurement } from './results/result.ts';
export type { ChatMeasurement, ChatResult } from './results/chat-result.ts';
export type { PlanInfo, RunPhase, Tick } from './load/window.ts';

/** What a run emits, in order: per measurement `start`, `phase`s and `tick`s, `measurement`; `warning` any time. */
export interface BenchEvents {
  start: [plan: PlanInfo];
  phase: [plan: PlanInfo, phase: RunPhase];
  tick: [plan: PlanInfo, tick: Tick];
  measurement: [plan: PlanInfo, measurement: Measurement | ChatMeasurement];
  warning: [text: string];
}

/** A running bench: an EventEmitter of BenchEvents, and a promise of the result (`await run`, or `run.result`). */
export class BenchRun extends EventEmitter<BenchEvents> implements PromiseLike<AnyResult> {
  readonly result: Promise<AnyResult>;

  constructor(options: BenchOptions) {
    super();
    // Started on a later turn, so that listeners added right after bench() hear everything.
    this.result = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      runResolved(resolveBenchOptions(options), this.#hooks()),
    );
  }

  then<A = AnyResult, B = never>(
    onResult?: ((result: AnyResult) => A | PromiseLike<A>) | null,
    onError?: ((err: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.result.then(onResult, onError);
  }

  #hooks(): RunHooks<PlanInfo, Measurement | ChatMeasurement> {
    return {
      onMeasurementStart: (plan) => this.emit('start', plan),
      onPhase: (plan, phase) => this.emit('phase', plan, phase),
      onTick: (plan, tick) => this.emit('tick', plan, tick),
      onMeasurementEnd: (plan, m) => this.emit('measurement', plan, m),
      onWarning: (text) => this.emit('warning', text),
    };
  }
}

/** Starts a bench run (ack, echo or chat, embedded server or `target` or `onPort`). Nothing is saved: see saveRun. */
export function bench(options: BenchOptions = {}): BenchRun {
  return new BenchRun(options);
}

/**
 * Runs options already resolved, with hooks (the command line's progress bars):
 * starts the --on-port command first and stops it after, looks the target up
 * once under the connect deadline.
 */
export async function runResolved(
  options: ResolvedBenchOptions,
  hooks: RunHooks<never, never> | RunHooks<PlanInfo, Measurement | ChatMeasurement>,
): Promise<AnyResult> {
  if (options.onPort.length === 0) return runAt(await withTargetAddress(options), hooks);
  const server = await startOnPort(options.onPort, options.connectTimeoutS);
  try {
    return await runAt(Object.freeze({ ...options, target: { host: server.host, port: server.port } }), hooks);
  } finally {
    await server.stop();
  }
}

function runAt(options: ResolvedBenchOptions, hooks: object): Promise<AnyResult> {
  return options.mode === 'chat' ? runChatBench(options, hooks) : runBench(options, hooks);
}
