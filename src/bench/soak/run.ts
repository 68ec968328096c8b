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
import {
  createLatencyHistogram,
  type LatencyHistogram,
  mergeHistograms,
  summarize,
  type LatencySummaryUs,
} from '../shared/latency.ts';
import { ThreadPool } from '../load/pool.ts';
import { processFdCount, processRssBytes } from '../shared/system.ts';
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

interface SoakSamplePoint extends SoakPoint {
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

function sum(samples: readonly SoakSample[], field: 'sent' | 'acked' | 'disconnects' | 'aborts' | 'open'): number {
  return samples.reduce((n, s) => n + s[field], 0);
}

type SoakPool = ThreadPool<ToSoakThread, FromSoakThread>;
type Started = Extract<FromSoakThread, { type: 'started' }>;
type Stopped = Extract<FromSoakThread, { type: 'stopped' }>;

/** The server, the load threads, the sampling periods, then the stop and the counts on both sides. */
export async function runSoak(options: SoakOptions, onProgress?: (line: string) => void): Promise<SoakReport> {
  const server = await startEmbeddedServer({
    workers: options.workers,
    strategy: options.strategy,
    mode: 'ack',
    headerBytes: HEADER_BYTES,
    maxConnections: options.clients * 2 + 100,
    extraArgs: ['--metrics-port', '0'],
  });
  const pool: SoakPool = new ThreadPool(options.threads, SOAK_THREAD);
  try {
    await sleep(100); // the metrics line follows the listening line
    const watched = { pid: server.pid!, metricsPort: Number(server.lastLine?.('metrics')?.port) };
    const started = await startThreads(options, pool, server);
    const began = performance.now();
    const { samples, whole } = await samplePeriods(options, pool, watched, began, onProgress);
    const stopped = await pool.all<'stopped'>({ type: 'stop', timeoutMs: STOP_TIMEOUT_MS });
    const durationS = (performance.now() - began) / 1000;
    const serverMessages = Number.isFinite(watched.metricsPort)
      ? (metricValue(await scrapeMetrics('127.0.0.1', watched.metricsPort), 'handoff_messages_total') ?? null)
      : null;
    const counts = soakCounts(started, stopped, serverMessages);
    return {
      options,
      durationS,
      counts,
      disconnects: sum(stopped, 'disconnects'),
      aborts: sum(stopped, 'aborts'),
      latency: summarize(mergeHistograms([whole, ...stopped.map((s) => s.histogram)])),
      samples,
      checks: checkSoak(counts, samples, options),
      connectFailures: started.reduce((n, s) => n + s.failed, 0),
    };
  } finally {
    await pool.all({ type: 'exit' }).catch(() => {});
    await pool.destroy();
    await server.stop();
  }
}

/** Each load thread its share of the connections, and its own seed. */
function startThreads(
  options: SoakOptions,
  pool: SoakPool,
  server: { host: string; port: number },
): Promise<Started[]> {
  const share = (i: number) =>
    Math.floor(options.clients / options.threads) + (i < options.clients % options.threads ? 1 : 0);
  return pool.all<'started'>((i) => ({
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
}

/** The server process and its /metrics port (NaN: it printed none). */
interface Watched {
  pid: number;
  metricsPort: number;
}

/** Every sampling period until the end: one point each, and every period's latencies in one histogram. */
async function samplePeriods(
  options: SoakOptions,
  pool: SoakPool,
  watched: Watched,
  began: number,
  onProgress?: (line: string) => void,
): Promise<{ samples: SoakSamplePoint[]; whole: LatencyHistogram }> {
  const totalS = options.minutes * 60;
  const everyS = options.sampleEveryS > 0 ? options.sampleEveryS : Math.max(1, totalS / 40);
  const samples: SoakSamplePoint[] = [];
  const whole = createLatencyHistogram();
  const last = { sent: 0, at: began };
  for (let next = everyS; next <= totalS + 1e-9; next += everyS) {
    await sleep(Math.max(0, began + next * 1000 - performance.now()));
    const point = await samplePeriod(pool, watched, whole, began, last);
    samples.push(point);
    onProgress?.(
      `soak: ${point.tS.toFixed(0)} s, ${Math.round(point.messagesPerS)} msg/s, p99 ${((point.p99Us ?? 0) / 1000).toFixed(2)} ms, ${point.fds} fds, RSS ${((point.rssBytes ?? 0) / 1e6).toFixed(0)} MB`,
    );
  }
  return { samples, whole };
}

/** One period's point: the server's descriptors, RSS and open connections, the period's rate and latency. */
async function samplePeriod(
  pool: SoakPool,
  watched: Watched,
  whole: LatencyHistogram,
  began: number,
  last: { sent: number; at: number },
): Promise<SoakSamplePoint> {
  const replies = await pool.all<'sample'>({ type: 'sample' });
  const now = performance.now();
  const periodHistogram = mergeHistograms(replies.map((r) => r.histogram));
  whole.add(periodHistogram);
  const period = summarize(periodHistogram);
  const sent = sum(replies, 'sent');
  const active = Number.isFinite(watched.metricsPort)
    ? metricValue(await scrapeMetrics('127.0.0.1', watched.metricsPort), 'handoff_connections_active')
    : undefined;
  const point: SoakSamplePoint = {
    tS: (now - began) / 1000,
    fds: processFdCount(watched.pid),
    rssBytes: processRssBytes(watched.pid),
    p99Us: period.count > 0 ? period.p99 : null,
    p50Us: period.count > 0 ? period.p50 : null,
    messagesPerS: (sent - last.sent) / ((now - last.at) / 1000),
    open: sum(replies, 'open'),
    serverActive: active ?? null,
  };
  last.sent = sent;
  last.at = now;
  return point;
}

/** The clients' counts and errors (connections never made as ERR_CONNECT) beside the server's message count. */
function soakCounts(
  started: readonly Started[],
  stopped: readonly Stopped[],
  serverMessages: number | null,
): SoakCounts {
  const errorKinds: Record<string, number> = {};
  for (const s of stopped) for (const [k, n] of Object.entries(s.errorKinds)) errorKinds[k] = (errorKinds[k] ?? 0) + n;
  const connectFailures = started.reduce((n, s) => n + s.failed, 0);
  if (connectFailures > 0) errorKinds.ERR_CONNECT = (errorKinds.ERR_CONNECT ?? 0) + connectFailures;
  return {
    clientSent: sum(stopped, 'sent'),
    clientAcked: sum(stopped, 'acked'),
    serverMessages,
    unanswered: stopped.reduce((n, s) => n + s.unanswered, 0),
    errorKinds,
    firstError: started.find((s) => s.error)?.error || stopped.find((s) => s.firstError)?.firstError || '',
  };
}

/** One line per failed check. */
export function soakProblems(report: SoakReport): string[] {
  return report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
}
