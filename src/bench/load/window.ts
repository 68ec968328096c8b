/**
 * The timing both kinds of run share: the warm-up's ticks, the measured
 * window's per-second samples (on the window's second boundaries, not
 * drifting with timer lateness), and the hooks a command line watches them
 * through. Generic over what the load threads count (acks, deliveries).
 */
import type { EventLoopUtilization } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Control, epochNowMs, PHASE } from './counters.ts';
import { machineCpuSeconds } from '../shared/system.ts';

/** What a progress display needs of a measurement (ack runs and chat runs add their own fields). */
export interface PlanInfo {
  index: number;
  total: number;
  key: string;
  round: number;
}

export type RunPhase = 'connect' | 'ramp' | 'warmup' | 'measure' | 'drain';

export interface Tick {
  phase: RunPhase;
  elapsedS: number;
  /** Over the last second or so: msgs/s (ack, echo) or deliveries/s (chat). */
  msgsPerSec: number;
  /** Counted since the phase began. */
  messages: number;
}

/** What the CLI shows while running; all optional. */
export interface RunHooks<P extends PlanInfo = PlanInfo, M = unknown> {
  onMeasurementStart?(plan: P): void;
  onPhase?(plan: P, phase: RunPhase): void;
  /** About every second of the window (and of the warm-up), with the live rate. */
  onTick?(plan: P, tick: Tick): void;
  onMeasurementEnd?(plan: P, m: M): void;
  onWarning?(text: string): void;
}

/** The load threads' live counters, and the one the window is about. */
export interface CounterReader<C> {
  read(): C;
  count(c: C): number;
}

/** How long the window lasts: a duration, or until `count` reaches `stopAtCount` (bounded by `limitMs`). */
export interface WindowLength<C = unknown> {
  durationMs: number;
  /** 0: the duration decides. */
  stopAtCount: number;
  limitMs: number;
  /** Also ends the window, checked every 20 ms or so (--bailout's errors, --amount's last reply). */
  stopWhen?: (c: C) => boolean;
}

/** Calls `tick` about once a second for `seconds`, with the live rate. */
async function tickFor<C>(reader: CounterReader<C>, seconds: number, tick: (tick: Tick) => void) {
  const start = performance.now();
  let last = reader.count(reader.read());
  const first = last;
  let lastAt = start;
  for (;;) {
    const left = seconds * 1000 - (performance.now() - start);
    if (left <= 0) break;
    await sleep(Math.min(1000, left));
    const now = performance.now();
    const c = reader.count(reader.read());
    tick({
      phase: 'warmup',
      elapsedS: (now - start) / 1000,
      msgsPerSec: (c - last) / ((now - lastAt) / 1000),
      messages: c - first,
    });
    last = c;
    lastAt = now;
  }
}

/**
 * The measured window: one sample per second on the second boundaries of the
 * window, until the duration or the count is reached. A last partial second
 * is kept as a shorter sample. `sample(later, earlier, t, seconds)` makes one.
 */
async function sampleWindow<C, S extends { t: number }>(
  reader: CounterReader<C>,
  length: WindowLength<C>,
  c0: C,
  windowStartEpochMs: number,
  sample: (later: C, earlier: C, t: number, seconds: number) => S,
  tick: (tick: Tick) => void,
): Promise<S[]> {
  const samples: S[] = [];
  const start = performance.now() - (epochNowMs() - windowStartEpochMs);
  const durationMs = length.stopAtCount > 0 ? Number.POSITIVE_INFINITY : length.durationMs;
  let prev = c0;
  let prevAt = start;
  let nextSampleAt = start + 1000;
  const finish = (now: number, c: C) => {
    const seconds = (now - prevAt) / 1000;
    if (seconds <= 0.001) return;
    const s = sample(c, prev, (now - start) / 1000, seconds);
    samples.push(s);
    const counted = reader.count(c);
    tick({
      phase: 'measure',
      elapsedS: s.t,
      msgsPerSec: (counted - reader.count(prev)) / seconds,
      messages: counted - reader.count(c0),
    });
    prev = c;
    prevAt = now;
  };
  for (;;) {
    const now = performance.now();
    const endAt = start + Math.min(durationMs, length.limitMs);
    if (now >= endAt) {
      finish(now, reader.read());
      break;
    }
    if (length.stopAtCount > 0 || length.stopWhen) {
      const c = reader.read();
      const counted = length.stopAtCount > 0 && reader.count(c) - reader.count(c0) >= length.stopAtCount;
      if (counted || length.stopWhen?.(c)) {
        finish(now, c);
        break;
      }
      if (now >= nextSampleAt) {
        finish(now, c);
        nextSampleAt += 1000;
      }
      await sleep(Math.min(20, nextSampleAt - now));
      continue;
    }
    if (now >= nextSampleAt) {
      finish(now, reader.read());
      nextSampleAt += 1000;
      continue;
    }
    await sleep(Math.max(1, Math.min(nextSampleAt, endAt) - now));
  }
  return samples;
}

/** Event-loop utilisation above which a load thread is the limit, not the server. */
export const SATURATED_UTILIZATION = 0.9;

/** What measureWindow needs of a pool of load threads. */
export interface WindowPool {
  readonly control: Control;
  utilization(): EventLoopUtilization[];
  spinMs(): number[];
  utilizationSince(before: EventLoopUtilization[], spinBefore: number[]): number[];
}

export interface WindowFigures<C, S> {
  samples: S[];
  /** The counters at the window's edges. */
  c0: C;
  c1: C;
  seconds: number;
  /** When the window began, ms since the Unix epoch (bench:merge checks that runs of several machines overlap). */
  startEpochMs: number;
  /** CPU of the server's processes over the window (null when they are not ours to read). */
  serverCpuSeconds: number | null;
  /** This process's CPU (every load thread) over the window. */
  testerCpuSeconds: number;
  /** Busy share of each load thread, spin excluded. */
  threadUtilization: number[];
  /** Share of the whole machine that was busy (null off Linux). */
  machineBusy: number | null;
}

/**
 * The warm-up (ticks, nothing kept), then the measured window: MEASURE is set for
 * the load threads at its start and DRAIN at its end, and the CPU of the tester,
 * the server and the machine is read at both edges.
 */
export async function measureWindow<C, S extends { t: number }>(
  pool: WindowPool,
  reader: CounterReader<C>,
  warmupS: number,
  length: WindowLength<C>,
  sample: (later: C, earlier: C, t: number, seconds: number) => S,
  serverCpu: () => number | null,
  hooks: { onPhase: (phase: RunPhase) => void; onTick: (tick: Tick) => void; onWindowStart?: () => void },
): Promise<WindowFigures<C, S>> {
  if (warmupS > 0) {
    hooks.onPhase('warmup');
    await tickFor(reader, warmupS, hooks.onTick);
  }
  hooks.onPhase('measure');
  const eluBefore = pool.utilization();
  const spinBefore = pool.spinMs();
  const cpuBefore = process.cpuUsage();
  const machineBefore = machineCpuSeconds();
  const serverBefore = serverCpu();
  const windowStart = epochNowMs();
  pool.control.set(PHASE.MEASURE, windowStart);
  const c0 = reader.read();
  // --amount starts the load here: the window is the whole of it.
  hooks.onWindowStart?.();
  const samples = await sampleWindow(reader, length, c0, windowStart, sample, hooks.onTick);
  pool.control.set(PHASE.DRAIN);
  const windowEnd = epochNowMs();
  const c1 = reader.read();
  const serverAfter = serverCpu();
  const machineAfter = machineCpuSeconds();
  const cpu = process.cpuUsage(cpuBefore);
  return {
    samples,
    c0,
    c1,
    seconds: (windowEnd - windowStart) / 1000,
    startEpochMs: windowStart,
    serverCpuSeconds: serverBefore !== null && serverAfter !== null ? serverAfter - serverBefore : null,
    testerCpuSeconds: (cpu.user + cpu.system) / 1e6,
    threadUtilization: pool.utilizationSince(eluBefore, spinBefore),
    machineBusy:
      machineBefore && machineAfter
        ? (machineAfter.busy - machineBefore.busy) / Math.max(1e-9, machineAfter.total - machineBefore.total)
        : null,
  };
}
