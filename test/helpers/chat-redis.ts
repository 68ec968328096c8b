// Chat servers on a real redis-server for tests, and what a test needs to play another
// server (or anyone) on the Redis bus: a publisher, batches written by hand from the
// format in src/server/chat/batch-codec.ts's comment (no src code, so that a decoder bug
// cannot hide behind an encoder that shares it), the servers' counters from /metrics.
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { type ChatServer, chatServerOn } from './chat-buses.ts';

export type { ChatServer };

/** `bin/handoff serve --mode chat --redis <url>` with metrics, in JSON; extra flags and environment as given. */
export function chatServer(
  t: TestContext,
  redisUrl: string,
  args: string[] = [],
  env?: NodeJS.ProcessEnv,
): Promise<ChatServer> {
  return chatServerOn(t, ['--redis', redisUrl], args, env);
}

/** A Redis connection for the test itself (publishing, reading keys), closed after the test. */
export function redisClient(t: TestContext, url: string): Redis {
  const client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  t.after(() => client.disconnect());
  return client;
}

export interface HandBatch {
  magic?: string;
  version?: number;
  headerBytes?: number;
  maxMessageBytes?: number;
  server?: string;
  /** Declared payload count (default: the number of payloads). */
  count?: number;
  payloads: Array<string | Buffer>;
}

/**
 * What a server publishes on a room's channel: the bus envelope (src/server/chat/bus-envelope.ts:
 * version 1, kind 1 = batch, the sender's 16-hex-digit id) around a batch (handBatch()).
 */
export function enveloped(batch: Buffer, sender = 'feedfacefeedface'): Buffer {
  return Buffer.concat([Buffer.from([1, 1, sender.length]), Buffer.from(sender, 'latin1'), batch]);
}

/**
 * A batch in the bus format: "hbus", version, header bytes, max message bytes, server id,
 * payloads; in its envelope (enveloped()), as it travels.
 */
export function handBatch(b: HandBatch): Buffer {
  return enveloped(bareBatch(b));
}

/** handBatch() without its envelope: what the bus hands the bridge. */
export function bareBatch(b: HandBatch): Buffer {
  const id = Buffer.from(b.server ?? 'test-server', 'latin1');
  const fixed = Buffer.alloc(12);
  fixed.write(b.magic ?? 'hbus', 0, 'latin1');
  fixed[4] = b.version ?? 1;
  fixed.writeUInt16BE(b.headerBytes ?? 64, 5);
  fixed.writeUInt32BE(b.maxMessageBytes ?? 1048576, 7);
  fixed[11] = id.length;
  const count = Buffer.alloc(4);
  count.writeUInt32BE(b.count ?? b.payloads.length);
  const parts: Uint8Array[] = [fixed, id, count];
  for (const p of b.payloads) {
    const bytes = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  }
  return Buffer.concat(parts);
}

/** The value of one series of a Prometheus text exposition (0 when absent). */
export async function metricValue(port: number, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** `handoff_bus_dropped_total{reason="..."}` of one server. */
export function droppedFor(server: ChatServer, reason: string): Promise<number> {
  return metricValue(server.metricsPort, `handoff_bus_dropped_total{reason="${reason}"}`);
}

/** Lines of `event` printed so far, as text. */
export function linesOf(server: ChatServer, event: string): string[] {
  const out: string[] = [];
  for (const line of server.p.stdout) {
    try {
      const obj = JSON.parse(line) as { event?: string; msg?: string };
      if (obj.event === event) out.push(String(obj.msg));
    } catch {
      // not JSON
    }
  }
  return out;
}

/** Polls an async `predicate` until it holds; rejects after `boundMs` with `what`. */
export async function eventuallyAsync(predicate: () => Promise<boolean>, what: string, boundMs = 5000): Promise<void> {
  const deadline = performance.now() + boundMs;
  while (!(await predicate())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${boundMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
