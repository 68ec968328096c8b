/**
 * The soak: `clients` connections through load threads (src/bench/load's
 * thread pool, reading path and HDR histograms) against a `handoff serve`
 * child process for `minutes`, with connections leaving and coming back at
 * random. Every sampling period it records the server's descriptors and RSS
 * (/proc) and the period's p99; at the end, the server's message count (its
 * /metrics endpoint) against the clients'.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { metricValue, scrapeMetrics } from '../../server/observe/metrics-text.ts';
import type { Strategy } from '../../server/options.ts';
import { startEmbeddedServer } from '../load/embedded-server.ts';
import { createLatencyHistogram, mergeHistograms, summarize, type LatencySummaryUs } from '../load/histogram.ts';
import { ThreadPool } from '../load/pool.ts';
import { processFdCount, processRssBytes } from '../load/system.ts';
import { checkSoak, type SoakCheck, type SoakCounts, type SoakLimits, type SoakPoint, SOAK_LIMITS } from './checks.ts';
import type { FromSoakThread, SoakSample, ToSoakThread } from './messages.ts';
import { siblingModule } from '../../options/sibling-module.ts';

export interface SoakOptions extends SoakLimits {
  minutes: number;
  clients: number;
  threads: number;
  workers: number;
  strategy: Strategy;
  sizeBytes: number;
  meanLifetimeS: number;
  seed: number;
  /** Seconds between samples; 0 = about 40 samples over the run (at least one a second). */
  sampleEveryS: number;
}

export const SOAK_DEFAULTS: SoakOptions = {
  minutes: 10,
  clients: 500,
  threads: 1,
  workers: 2,
  strategy: 'handoff',
  sizeBytes: 64,
  meanLifetimeS: 30,
  seed: 1,
  sampleEveryS: 0,
  ...SOAK_LIMITS,
};

export interface SoakSamplePoint extends SoakPoint {
  messagesPerS: number;
  p50Us: number | null;
  open: number;
  serverActive: number | null;
}

export interface SoakReport {
  options: SoakOptions;
  durationS: number;
  counts: SoakCounts;
  disconnects: number;
  aborts: number;
  latency: LatencySummaryUs;
  samples: SoakSamplePoint[];
  checks: SoakCheck[];
  connectFailures: number;
}

const HEADER_BYTES = 64;
const SOAK_THREAD = { url: siblingModule('worker', import.meta.url), fields: 1, spinField: 0 };
const STOP_TIMEOUT_MS = 10_000;

function sum(samples: SoakSample[], field: 'sent' | 'acked' | 'disconnects' | 'aborts' | 'open'): number {
  return samples.reduce((n, s) => n + s[field], 0);
}

export async function runSoak(options: SoakOptions, onProgress?: (line: string) => void): Promise<SoakReport> {
  const server = await startEmbeddedServer({
    workers: options.workers,
    strategy: options.strategy,
    mode: 'ack',
    headerBytes: HEADER_BYTES,
    maxConnections: options.clients * 2 + 100,
    extraArgs: ['--metrics-port', '0'],
  });
  const pool = new ThreadPool<ToSoakThread, FromSoakThread>(options.threads, SOAK_THREAD);
  try {
    await sleep(100); // the metrics line follows the listening line
    const metricsPort = Number(server.lastLine?.('metrics')?.port);
    const pid = server.pid!;
    const share = (i: number) =>
      Math.floor(options.clients / options.threads) + (i < options.clients % options.threads ? 1 : 0);
    const started = await pool.all<'started'>((i) => ({
      type: 'start',
      setup: {
        host: server.host,
        port: server.port,
        connections: share(i),
        headerBytes: HEADER_BYTES,
        sizeBytes: options.sizeBytes,
        meanLifetimeS: options.meanLifetimeS,
        seed: options.seed * 1000 + i,
        connectTimeoutMs: 10_000,
      },
    }));
    const totalS = options.minutes * 60;
    const everyS = options.sampleEveryS > 0 ? options.sampleEveryS : Math.max(1, totalS / 40);
    const samples: SoakSamplePoint[] = [];
    const whole = createLatencyHistogram();
    const began = performance.now();
    let lastSent = 0;
    let lastAt = began;
    for (let next = everyS; next <= totalS + 1e-9; next += everyS) {
      await sleep(Math.max(0, began + next * 1000 - performance.now()));
      const replies = await pool.all<'sample'>({ type: 'sample' });
      const now = performance.now();
      const periodHistogram = mergeHistograms(replies.map((r) => r.histogram));
      whole.add(periodHistogram);
      const period = summarize(periodHistogram);
      const sent = sum(replies, 'sent');
      const active = Number.isFinite(metricsPort)
        ? metricValue(await scrapeMetrics('127.0.0.1', metricsPort), 'handoff_connections_active')
        : undefined;
      const point: SoakSamplePoint = {
        tS: (now - began) / 1000,
        fds: processFdCount(pid),
        rssBytes: processRssBytes(pid),
        p99Us: period.count > 0 ? period.p99 : null,
        p50Us: period.count > 0 ? period.p50 : null,
        messagesPerS: (sent - lastSent) / ((now - lastAt) / 1000),
        open: sum(replies, 'open'),
        serverActive: active ?? null,
      };
      samples.push(point);
      lastSent = sent;
      lastAt = now;
      onProgress?.(
        `soak: ${point.tS.toFixed(0)} s, ${Math.round(point.messagesPerS)} msg/s, p99 ${((point.p99Us ?? 0) / 1000).toFixed(2)} ms, ${point.fds} fds, RSS ${((point.rssBytes ?? 0) / 1e6).toFixed(0)} MB`,
      );
    }
    const stopped = await pool.all<'stopped'>({ type: 'stop', timeoutMs: STOP_TIMEOUT_MS });
    const durationS = (performance.now() - began) / 1000;
    const serverMessages = Number.isFinite(metricsPort)
      ? (metricValue(await scrapeMetrics('127.0.0.1', metricsPort), 'handoff_messages_total') ?? null)
      : null;
    const errorKinds: Record<string, number> = {};
    for (const s of stopped)
      for (const [k, n] of Object.entries(s.errorKinds)) errorKinds[k] = (errorKinds[k] ?? 0) + n;
    const connectFailures = started.reduce((n, s) => n + s.failed, 0);
    if (connectFailures > 0) errorKinds.ERR_CONNECT = (errorKinds.ERR_CONNECT ?? 0) + connectFailures;
    const counts: SoakCounts = {
      clientSent: sum(stopped, 'sent'),
      clientAcked: sum(stopped, 'acked'),
      serverMessages,
      unanswered: stopped.reduce((n, s) => n + s.unanswered, 0),
      errorKinds,
      firstError: started.find((s) => s.error)?.error || stopped.find((s) => s.firstError)?.firstError || '',
    };
    return {
      options,
      durationS,
      counts,
      disconnects: sum(stopped, 'disconnects'),
      aborts: sum(stopped, 'aborts'),
      latency: summarize(mergeHistograms([whole, ...stopped.map((s) => s.histogram)])),
      samples,
      checks: checkSoak(counts, samples, options),
      connectFailures,
    };
  } finally {
    await pool.all({ type: 'exit' }).catch(() => {});
    await pool.destroy();
    await server.stop();
  }
}

/** One line per failed check. */
export function soakProblems(report: SoakReport): string[] {
  return report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
}
