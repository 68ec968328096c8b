/**
 * A log line for the first of a burst of like events (dropped batches, late
 * confirmations), then silence for a window, then one line with how many more
 * there were. A peer that sends garbage a thousand times a second costs the log
 * one line every ten seconds, and nothing is hidden: the count is in the next line.
 */
import type { ServerLog } from '../observe/log.ts';

const WINDOW_MS = 10_000;

export class BurstLog {
  readonly #log: ServerLog;
  readonly #event: string;
  readonly #windowMs: number;
  /** Events since the last line, not logged. */
  #suppressed = 0;
  #lastText = '';
  #timer: NodeJS.Timeout | undefined;

  constructor(log: ServerLog, event: string, windowMs = WINDOW_MS) {
    this.#log = log;
    this.#event = event;
    this.#windowMs = windowMs;
  }

  /** One event; `text` is the line for it, written only when it opens a burst. */
  report(text: string, fields: Record<string, unknown> = {}): void {
    if (this.#timer) {
      this.#suppressed++;
      this.#lastText = text;
      return;
    }
    this.#log.essential(this.#event, text, fields);
    this.#timer = setTimeout(() => this.#windowEnd(), this.#windowMs);
    this.#timer.unref();
  }

  #windowEnd(): void {
    this.#timer = undefined;
    if (this.#suppressed === 0) return;
    const n = this.#suppressed;
    this.#suppressed = 0;
    this.#log.essential(
      this.#event,
      `${n} more like it in the last ${this.#windowMs / 1000} s; the last: ${this.#lastText}`,
      { more: n },
    );
    // The summary opens a new window: a burst that goes on stays at one line per window.
    this.#timer = setTimeout(() => this.#windowEnd(), this.#windowMs);
    this.#timer.unref();
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
