/**
 * Each serving thread measures its own event-loop delay (perf_hooks'
 * monitorEventLoopDelay, a libuv timer: no work on the message path) and
 * publishes it into its counter slot once per period, where the main thread's
 * metrics endpoint reads it at scrape time.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ThreadCounters } from './counters.ts';

/** How often the figures are published (and the histogram restarted): the lag reported is this recent. */
const PUBLISH_EVERY_MS = 1_000;
/** The sampling resolution of the delay monitor, ms. */
const RESOLUTION_MS = 10;
const NS_PER_S = 1e9;
const RESOLUTION_S = RESOLUTION_MS / 1000;

export interface LoopLagMonitor {
  stop(): void;
}

/** Starts measuring the calling thread's event-loop delay into `counters`. */
export function monitorLoopLag(counters: ThreadCounters): LoopLagMonitor {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const timer = setInterval(() => {
    if (histogram.count > 0) {
      // Each sample is the time between the monitor's own ticks, one resolution apart when the loop is free:
      // the lag is what goes beyond that.
      const lag = (ns: number) => Math.max(0, ns / NS_PER_S - RESOLUTION_S);
      counters.loopLag(lag(histogram.percentile(50)), lag(histogram.percentile(99)), lag(histogram.max));
    }
    histogram.reset();
  }, PUBLISH_EVERY_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
