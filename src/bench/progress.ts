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
import { fmtInt } from './shared/format.ts';
import type { PlanInfo, RunHooks, RunPhase, Tick } from './load/window.ts';
import { terminalWidth, wrapText } from './shared/fit.ts';

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
  const view = new Bars(options, streams, now);
  const hooks: RunHooks = {
    onMeasurementStart: (p) => view.start(p),
    onPhase: (_p, next) => view.phase(next),
    onTick: (_p, tick) => view.tick(tick),
    onMeasurementEnd: () => view.end(),
    onWarning: (text) => view.warning(text),
  };
  return { hooks, report: (text) => view.report(text), close: () => view.erase() };
}

/** The two bars and what they show: the run's progress and ETA, the current measurement's phase and rate. */
class Bars {
  readonly #options: ResolvedBenchOptions;
  readonly #streams: ViewStreams;
  readonly #now: () => number;
  readonly #unitOfRate: string;
  readonly #live: boolean;
  /** --amount and --messages count messages; otherwise the bar counts seconds. */
  readonly #countedMsgs: number;
  readonly #total: number;
  readonly #unit: string;
  readonly #runStart: number;
  #completed = 0;
  #plan: PlanInfo | null = null;
  #measurementStart: number;
  #phase: RunPhase | 'done' = 'connect';
  #value = 0;
  #rate = '-';
  #bars: cliProgress.MultiBar | null = null;
  #overall: cliProgress.SingleBar | null = null;
  #current: cliProgress.SingleBar | null = null;

  constructor(options: ResolvedBenchOptions, streams: ViewStreams, now: () => number) {
    this.#options = options;
    this.#streams = streams;
    this.#now = now;
    this.#unitOfRate = options.mode === 'chat' ? 'deliveries/s' : 'msgs/s';
    this.#live = options.progress && !options.json && streams.err.isTTY === true;
    this.#countedMsgs = options.amount || options.messages;
    this.#total = this.#countedMsgs > 0 ? this.#countedMsgs : options.durationS;
    this.#unit = this.#countedMsgs > 0 ? 'msgs' : 's';
    this.#runStart = now();
    this.#measurementStart = this.#runStart;
  }

  start(p: PlanInfo): void {
    this.#plan = p;
    this.#measurementStart = this.#now();
    this.#phase = 'connect';
    this.#value = 0;
    this.#rate = '-';
    if (!this.#live) return;
    if (this.#bars) this.#refresh();
    else this.#draw();
  }

  phase(next: RunPhase): void {
    this.#phase = next;
    this.#refresh();
  }

  tick(tick: Tick): void {
    this.#phase = tick.phase;
    this.#value = tick.phase !== 'measure' ? 0 : this.#countedMsgs > 0 ? tick.messages : Math.round(tick.elapsedS);
    this.#rate = fmtInt(tick.msgsPerSec);
    this.#refresh();
  }

  end(): void {
    this.#completed += 1;
    this.#phase = 'done';
    this.#value = this.#total;
    this.#refresh();
  }

  warning(text: string): void {
    this.#above(
      this.#streams.err,
      wrapText(`warning: ${text}`, this.#live ? this.#width() - 1 : Number.POSITIVE_INFINITY),
    );
  }

  report(text: string): void {
    const out = this.#streams.out;
    this.#above(out, out.isTTY ? wrapText(text, terminalWidth(out) - 1) : text);
  }

  erase(): void {
    if (!this.#bars) return;
    this.#bars.stop();
    this.#bars = this.#overall = this.#current = null;
  }

  #width(): number {
    return terminalWidth(this.#streams.err);
  }

  /** Seconds left in the run: from the measurements done so far, else from the options. */
  #secondsLeft(): number | null {
    if (!this.#plan) return null;
    const elapsedInCurrent = (this.#now() - this.#measurementStart) / 1000;
    let each: number;
    if (this.#completed > 0) each = (this.#measurementStart - this.#runStart) / 1000 / this.#completed;
    else if (this.#countedMsgs > 0) return null;
    else each = this.#options.warmupS + this.#options.durationS + OVERHEAD_S;
    return Math.max(0, each * (this.#plan.total - this.#completed) - elapsedInCurrent);
  }

  #counted(): string {
    const total = this.#total;
    return `${this.#value}/${total} ${this.#unit}`.padStart(`${total}/${total} ${this.#unit}`.length);
  }

  #rateText(): string {
    return `${this.#rate} ${this.#unitOfRate}`.padStart(`10,000,000 ${this.#unitOfRate}`.length);
  }

  /** The two lines' fixed parts, and bars that take what is left of the width (at least 4). */
  #layout() {
    const cols = this.#width() - 1; // never the last column: some terminals wrap there
    const head = this.#plan ? heading(this.#plan) : '';
    const eta = etaText(this.#secondsLeft()).padEnd(etaText(3599).length + 2);
    const phaseText = this.#phase.padEnd(PHASE_WIDTH);
    return {
      head,
      eta,
      phaseText,
      overallBar: Math.max(4, Math.min(40, cols - head.length - eta.length - 2)),
      currentBar: Math.max(
        4,
        Math.min(40, cols - 2 - PHASE_WIDTH - this.#counted().length - this.#rateText().length - 4),
      ),
    };
  }

  #draw(): void {
    if (!this.#live || !this.#plan) return;
    const l = this.#layout();
    const bars = new cliProgress.MultiBar(
      {
        stream: this.#streams.err,
        hideCursor: true,
        clearOnComplete: true,
        fps: 5,
        barCompleteChar: '#',
        barIncompleteChar: '-',
      },
      cliProgress.Presets.shades_classic,
    );
    this.#bars = bars;
    this.#overall = bars.create(
      this.#plan.total,
      this.#completed,
      { head: l.head, left: l.eta },
      { format: '{head} {bar} {left}', barsize: l.overallBar },
    );
    this.#current = bars.create(
      this.#total,
      this.#value,
      { phase: l.phaseText, counted: this.#counted(), rate: this.#rateText() },
      { format: '  {phase} {bar} {counted}  {rate}', barsize: l.currentBar },
    );
    bars.update();
  }

  /** Text above the bars: clear them, write, draw them again below. */
  #above(stream: ViewStreams['out'], text: string): void {
    const shown = this.#bars !== null;
    this.erase();
    stream.write(`${text}\n`);
    if (shown) this.#draw();
  }

  #refresh(): void {
    if (!this.#bars || !this.#overall || !this.#current || !this.#plan) return;
    const l = this.#layout();
    const inWindow = this.#phase === 'measure' ? this.#value / this.#total : 0;
    this.#overall.update(Math.min(this.#plan.total, this.#completed + inWindow), { head: l.head, left: l.eta });
    this.#current.update(Math.min(this.#total, this.#value), {
      phase: l.phaseText,
      counted: this.#counted(),
      rate: this.#rateText(),
    });
    this.#bars.update(); // drawn now, not at the next frame: the view changes about once a second
  }
}

const heading = (p: PlanInfo) => `[${p.index + 1}/${p.total}] ${p.key}${p.round > 1 ? ` r${p.round}` : ''}`;
