/**
 * Live view of a run on stderr (cli-progress), or nothing when stderr is not a
 * terminal: an overall line with the run's ETA (`[8/42] handoff h64 16 B ...
 * about 3 min left`) and the current measurement's bar with its phase and live
 * rate, both sized to the terminal's width. Warnings and the per-measurement
 * reports go above the bars: the bars are cleared, the text written, the bars
 * drawn again below it, so that nothing is overwritten and no piece of a bar
 * stays in a report line.
 */
import cliProgress from 'cli-progress';
import type { ResolvedBenchOptions } from './options.ts';
import { fmtInt } from './format.ts';
import type { PlanInfo, RunHooks, RunPhase } from './load/window.ts';
import { terminalWidth, wrapText } from './results/fit.ts';

/** What the view writes to: stdout for reports, stderr for the bars and warnings. */
export interface ViewStreams {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  err: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export interface LiveView {
  hooks: RunHooks;
  /** A measurement's report, on stdout, above the bars. */
  report(text: string): void;
  /** Takes the bars away (the run is over, or failed). */
  close(): void;
}

/** Seconds a measurement takes besides its window: connect, ramp, drain (a guess until one is done). */
const OVERHEAD_S = 1.5;
const PHASE_WIDTH = 'connect'.length;

/** `about 40 s left`, `about 3 min left`, `about 1 h 5 min left`. */
export function etaText(seconds: number | null): string {
  if (seconds === null) return 'time left: after the first';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `about ${s} s left`;
  const min = Math.round(s / 60);
  if (min < 60) return `about ${min} min left`;
  return `about ${Math.floor(min / 60)} h ${min % 60} min left`;
}

export function liveView(
  options: ResolvedBenchOptions,
  streams: ViewStreams = { out: process.stdout, err: process.stderr },
  now: () => number = Date.now,
): LiveView {
  const unitOfRate = options.mode === 'chat' ? 'deliveries/s' : 'msgs/s';
  const live = options.progress && !options.json && streams.err.isTTY === true;
  // --amount and --messages count messages; otherwise the bar counts seconds.
  const countedMsgs = options.amount || options.messages;
  const total = countedMsgs > 0 ? countedMsgs : options.durationS;
  const unit = countedMsgs > 0 ? 'msgs' : 's';
  const runStart = now();
  let completed = 0;
  let plan: PlanInfo | null = null;
  let measurementStart = runStart;
  let phase: RunPhase | 'done' = 'connect';
  let value = 0;
  let rate = '-';
  let bars: cliProgress.MultiBar | null = null;
  let overall: cliProgress.SingleBar | null = null;
  let current: cliProgress.SingleBar | null = null;

  const width = () => terminalWidth(streams.err);

  /** Seconds left in the run: from the measurements done so far, else from the options. */
  function secondsLeft(): number | null {
    if (!plan) return null;
    const elapsedInCurrent = (now() - measurementStart) / 1000;
    let each: number;
    if (completed > 0) each = (measurementStart - runStart) / 1000 / completed;
    else if (countedMsgs > 0) return null;
    else each = options.warmupS + options.durationS + OVERHEAD_S;
    return Math.max(0, each * (plan.total - completed) - elapsedInCurrent);
  }

  const heading = (p: PlanInfo) => `[${p.index + 1}/${p.total}] ${p.key}${p.round > 1 ? ` r${p.round}` : ''}`;
  const counted = () => `${value}/${total} ${unit}`.padStart(`${total}/${total} ${unit}`.length);
  const rateText = () => `${rate} ${unitOfRate}`.padStart(`10,000,000 ${unitOfRate}`.length);

  /** The two lines' fixed parts, and bars that take what is left of the width (at least 4). */
  function layout() {
    const cols = width() - 1; // never the last column: some terminals wrap there
    const head = plan ? heading(plan) : '';
    const eta = etaText(secondsLeft()).padEnd(etaText(3599).length + 2);
    const phaseText = phase.padEnd(PHASE_WIDTH);
    return {
      head,
      eta,
      phaseText,
      overallBar: Math.max(4, Math.min(40, cols - head.length - eta.length - 2)),
      currentBar: Math.max(4, Math.min(40, cols - 2 - PHASE_WIDTH - counted().length - rateText().length - 4)),
    };
  }

  function draw(): void {
    if (!live || !plan) return;
    const l = layout();
    bars = new cliProgress.MultiBar(
      {
        stream: streams.err,
        hideCursor: true,
        clearOnComplete: true,
        fps: 5,
        barCompleteChar: '#',
        barIncompleteChar: '-',
      },
      cliProgress.Presets.shades_classic,
    );
    overall = bars.create(
      plan.total,
      completed,
      { head: l.head, left: l.eta },
      {
        format: '{head} {bar} {left}',
        barsize: l.overallBar,
      },
    );
    current = bars.create(
      total,
      value,
      { phase: l.phaseText, counted: counted(), rate: rateText() },
      {
        format: '  {phase} {bar} {counted}  {rate}',
        barsize: l.currentBar,
      },
    );
    bars.update();
  }

  function erase(): void {
    if (!bars) return;
    bars.stop();
    bars = overall = current = null;
  }

  /** Text above the bars: clear them, write, draw them again below. */
  function above(stream: ViewStreams['out'], text: string): void {
    const shown = bars !== null;
    erase();
    stream.write(`${text}\n`);
    if (shown) draw();
  }

  function refresh(): void {
    if (!bars || !overall || !current || !plan) return;
    const l = layout();
    overall.update(Math.min(plan.total, completed + (phase === 'measure' ? value / total : 0)), {
      head: l.head,
      left: l.eta,
    });
    current.update(Math.min(total, value), { phase: l.phaseText, counted: counted(), rate: rateText() });
    bars.update(); // drawn now, not at the next frame: the view changes about once a second
  }

  const hooks: RunHooks = {
    onMeasurementStart(p) {
      plan = p;
      measurementStart = now();
      phase = 'connect';
      value = 0;
      rate = '-';
      if (!live) return;
      if (bars) refresh();
      else draw();
    },
    onPhase(_p, next) {
      phase = next;
      refresh();
    },
    onTick(_p, tick) {
      phase = tick.phase;
      value = tick.phase !== 'measure' ? 0 : countedMsgs > 0 ? tick.messages : Math.round(tick.elapsedS);
      rate = fmtInt(tick.msgsPerSec);
      refresh();
    },
    onMeasurementEnd() {
      completed += 1;
      phase = 'done';
      value = total;
      refresh();
    },
    onWarning(text) {
      above(streams.err, wrapText(`warning: ${text}`, live ? width() - 1 : Number.POSITIVE_INFINITY));
    },
  };
  return {
    hooks,
    report(text) {
      above(streams.out, streams.out.isTTY ? wrapText(text, terminalWidth(streams.out) - 1) : text);
    },
    close: erase,
  };
}
