/**
 * One load thread's connection churn (--churn K): how many connections it made
 * and closed after their K messages, and how long each took to connect and to
 * get its first reply (HDR histograms, nanoseconds, only for connections begun
 * inside the measured window). worker.ts makes the connections again; this
 * only counts.
 */
import { createLatencyHistogram, encodeHistogram, type LatencyHistogram } from '../shared/latency.ts';
import type { ChurnDrained } from './messages.ts';

/** After a failed reconnect, a slot waits this long before its next try (no busy loop against a dead server). */
export const CHURN_RETRY_MS = 20;

export class Churn {
  /** Messages per connection. */
  readonly k: number;
  /** The load has started (and not been closed): connections are made again. */
  running = false;
  made = 0;
  completed = 0;
  readonly #connect: LatencyHistogram = createLatencyHistogram(32);
  readonly #firstReply: LatencyHistogram = createLatencyHistogram(32);
  readonly #inWindow: (began: number) => boolean;

  /** `inWindow(t)`: whether something begun at `t` (this thread's clock) belongs to the measured window. */
  constructor(k: number, inWindow: (began: number) => boolean) {
    this.k = k;
    this.#inWindow = inWindow;
  }

  /** A connection begun at `began` is connected at `now`. */
  connected(began: number, now: number): void {
    this.made++;
    this.#record(this.#connect, began, now);
  }

  /** A connection begun at `began` had its first reply at `now`. */
  firstReply(began: number, now: number): void {
    this.#record(this.#firstReply, began, now);
  }

  #record(h: LatencyHistogram, began: number, now: number): void {
    if (!this.#inWindow(began)) return;
    const ns = Math.round((now - began) * 1e6);
    h.recordValue(ns > 0 ? ns : 1);
  }

  report(): ChurnDrained {
    return {
      connections: this.made,
      completed: this.completed,
      connectHistogram: encodeHistogram(this.#connect),
      firstReplyHistogram: encodeHistogram(this.#firstReply),
    };
  }
}
