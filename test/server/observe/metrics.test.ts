// --metrics-port: /metrics scraped during a real run, exact counts, for strategies handoff and single.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT, DEFAULT_HEADER_BYTES } from '../../../src/protocol/index.ts';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { isLoopback, METRICS_LIMITS } from '../../../src/server/observe/metrics.ts';
import { metricValue, parseMetrics, type Sample, scrapeMetrics } from '../../../src/server/observe/metrics-text.ts';
import type { RunningServer } from '../../../src/server/server.ts';
import { ChatPeer } from '../../helpers/chat-wire.ts';
import { eventuallyAsync } from '../../helpers/chat-redis.ts';
import { jsonLines, listening, nthEvent, run } from '../../helpers/process.ts';
import { connect, connectMany, errorOf, eventually, sleep, withServer } from '../../helpers/wire.ts';

const CLIENTS = 5;
const MESSAGES_EACH = 40;
const PAYLOAD = 'hello metrics';

function scrape(server: RunningServer): Promise<Sample[]> {
  assert.ok(server.metrics, 'the metrics endpoint is on');
  return scrapeMetrics(server.metrics.host, server.metrics.port);
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const v = metricValue(samples, name, labels);
  assert.notEqual(v, undefined, `${name}${JSON.stringify(labels)} is exported`);
  return v!;
}

for (const strategy of ['handoff', 'single'] as const) {
  test(`/metrics counts exactly what clients did (strategy ${strategy})`, async (t) => {
    const server = await withServer(t, { strategy, workers: 2, metricsPort: 0, maxConnections: CLIENTS + 1 });
    const clients = await connectMany(t, server, CLIENTS);
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < MESSAGES_EACH; i++) await c.send(PAYLOAD);
        const replies = await c.readFrames(MESSAGES_EACH);
        for (const r of replies) assert.equal(r.toString(), ACK_TEXT);
      }),
    );
    const messages = CLIENTS * MESSAGES_EACH;
    const frameIn = DEFAULT_HEADER_BYTES + Buffer.byteLength(PAYLOAD);
    const frameOut = DEFAULT_HEADER_BYTES + ACK_TEXT.length;

    let samples = await scrape(server);
    assert.equal(value(samples, 'handoff_messages_total'), messages);
    assert.equal(value(samples, 'handoff_connections_total'), CLIENTS);
    assert.equal(value(samples, 'handoff_connections_active'), CLIENTS);
    assert.equal(value(samples, 'handoff_bytes_received_total'), messages * frameIn);
    assert.equal(value(samples, 'handoff_bytes_sent_total'), messages * frameOut);
    const perWorker = samples.filter((s) => s.name === 'handoff_worker_messages_total');
    assert.equal(perWorker.length, strategy === 'single' ? 1 : 2, 'one series per serving thread');
    assert.equal(
      perWorker.reduce((sum, s) => sum + s.value, 0),
      messages,
      'per-worker messages add up',
    );
    for (const s of perWorker) {
      const lag = value(samples, 'handoff_worker_event_loop_lag_p99_seconds', { worker: s.labels.worker! });
      assert.ok(lag >= 0 && lag < 60, `a plausible loop lag: ${lag}`);
    }
    assert.ok(value(samples, 'process_resident_memory_bytes') > 0, "prom-client's process defaults");
    assert.equal(value(samples, 'handoff_protocol_errors_total', { code: 'BAD_HEADER' }), 0);
    assert.equal(value(samples, 'handoff_refused_total', { reason: 'max_connections' }), 0);

    // One bad header, then one connection over the limit.
    const bad = await connect(t, server);
    await bad.sendRaw('12x'.padEnd(DEFAULT_HEADER_BYTES));
    const badEnd = await bad.readUntilClose();
    assert.equal(errorOf(badEnd.frames.at(-1))?.code, 'BAD_HEADER');
    const filler = await connect(t, server);
    await filler.send(PAYLOAD);
    await filler.readText();
    const refused = await connect(t, server);
    const refusedEnd = await refused.readUntilClose();
    assert.equal(errorOf(refusedEnd.frames[0])?.code, 'SERVER_FULL');

    samples = await scrape(server);
    assert.equal(value(samples, 'handoff_protocol_errors_total', { code: 'BAD_HEADER' }), 1);
    assert.equal(value(samples, 'handoff_protocol_errors_total', { code: 'TIMEOUT' }), 0);
    assert.equal(value(samples, 'handoff_refused_total', { reason: 'max_connections' }), 1);
    assert.equal(value(samples, 'handoff_messages_total'), messages + 1);
    assert.equal(value(samples, 'handoff_connections_total'), CLIENTS + 2, 'refused ones are not served');

    for (const c of clients) c.destroy();
    await eventually(() => server.stats().activeConnections === 1, 'the clients are gone');
    samples = await scrape(server);
    assert.equal(value(samples, 'handoff_connections_active'), 1);
  });
}

test('/metrics counts chat deliveries as the receivers got them', async (t) => {
  const server = await withServer(t, { mode: 'chat', workers: 2, metricsPort: 0 });
  const peers = [
    await ChatPeer.connect(t, server),
    await ChatPeer.connect(t, server),
    await ChatPeer.connect(t, server),
  ];
  for (let i = 0; i < 10; i++) await peers[i % 3]!.request(`message ${i}`);
  const received = () => peers.reduce((n, p) => n + p.deliveries.length, 0);
  // Every message reaches the two others; presence events are deliveries too.
  await eventually(() => peers.every((p) => p.deliveries.filter((d) => d.includes('message')).length >= 6), 'all');
  // A scrape reads the counters, then travels: a presence event handed out meanwhile can reach its
  // receiver before the scrape's answer does. So the figures must meet once nothing is in flight.
  let counted = -1;
  await eventuallyAsync(async () => {
    counted = value(await scrape(server), 'handoff_chat_deliveries_total');
    return counted === received();
  }, 'the deliveries counted to equal those received').catch(() => {
    assert.equal(counted, received()); // says both figures
  });
});

test('only /metrics is served: other paths are 404, other methods 405', async (t) => {
  const server = await withServer(t, { metricsPort: 0 });
  const base = `http://${server.metrics!.host}:${server.metrics!.port}`;
  assert.equal((await fetch(`${base}/`)).status, 404);
  assert.equal((await fetch(`${base}/metricsx`)).status, 404);
  assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  const ok = await fetch(`${base}/metrics?x=1`);
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('content-type') ?? '', /^text\/plain/);
});

test('300 half-sent GET requests: past the connection cap they are closed at once, the rest by the request deadline', async (t) => {
  const server = await withServer(t, { metricsPort: 0, workers: 1 });
  const { host, port } = server.metrics!;
  const sockets: net.Socket[] = [];
  t.after(() => {
    for (const s of sockets) s.destroy();
  });
  for (let i = 0; i < 300; i++) {
    const socket = net.connect({ host, port });
    socket.on('error', () => {});
    socket.resume();
    socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n'); // never the blank line that ends the headers
    sockets.push(socket);
  }
  await Promise.all(sockets.map((s) => (s.connecting ? once(s, 'connect').catch(() => {}) : null)));
  const open = () => sockets.filter((s) => !s.destroyed && !s.readableEnded).length;
  await eventually(() => open() <= METRICS_LIMITS.maxConnections, 'the ones past the cap closed', 2000);
  const deadline = METRICS_LIMITS.headersTimeoutMs + 2 * METRICS_LIMITS.checkEveryMs;
  await eventually(() => open() === 0, 'every half-sent request closed', deadline + 1000);
  // The endpoint serves again.
  assert.ok(value(await scrape(server), 'handoff_connections_active') >= 0);
});

test('scrapes are paced (a flood waits its turn, none is refused); process figures are cached, handoff_* are fresh', async (t) => {
  const server = await withServer(t, { metricsPort: 0, workers: 1 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const get = () =>
    new Promise<string>((resolve, reject) => {
      const { host, port } = server.metrics!;
      http
        .get({ host, port, path: '/metrics', agent }, (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          response.on('end', () => (response.statusCode === 200 ? resolve(body) : reject(new Error(body))));
        })
        .on('error', reject);
    });
  const n = METRICS_LIMITS.responsesPerSecond + 1;
  const startedAt = performance.now();
  const first = parseMetrics(await get());
  const client = await connect(t, server);
  await client.send('counted at once');
  await client.readText();
  const second = parseMetrics(await get());
  for (let i = 2; i < n; i++) await get();
  const tookMs = performance.now() - startedAt;
  assert.ok(tookMs >= 900, `${n} scrapes back to back took ${Math.round(tookMs)} ms: at most ${n - 1} a second`);
  assert.equal(value(second, 'handoff_messages_total'), value(first, 'handoff_messages_total') + 1, 'fresh');
  assert.equal(
    value(second, 'process_cpu_user_seconds_total'),
    value(first, 'process_cpu_user_seconds_total'),
    'cached: the same render',
  );
  await sleep(METRICS_LIMITS.processCacheMs);
  const later = parseMetrics(await get());
  assert.ok(value(later, 'process_cpu_user_seconds_total') > value(first, 'process_cpu_user_seconds_total'));
});

test('without --metrics-port nothing is served', async (t) => {
  const server = await withServer(t);
  assert.equal(server.metrics, null);
});

test('handoff serve --metrics-port 0 prints the bound port and serves it', async (t) => {
  const p = run(t, ['serve', '--port', '0', '--workers', '1', '--json', '--metrics-port', '0']);
  const address = await listening(p);
  const line = await nthEvent(p, 'metrics');
  assert.equal(line.host, '127.0.0.1');
  const port = Number(line.port);
  assert.ok(port > 0, `a bound port: ${JSON.stringify(line)}`);
  assert.match(String(line.msg), new RegExp(`http://127\\.0\\.0\\.1:${port}/metrics`));
  const c = await connect(t, address);
  await c.send('one');
  await c.readText();
  assert.equal(value(await scrapeMetrics('127.0.0.1', port), 'handoff_messages_total'), 1);
  assert.equal(
    jsonLines(p).some((l) => l.event === 'metrics-exposed'),
    false,
    'no warning on loopback',
  );
});

test('a metrics host other than loopback is warned about', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(isLoopback(host), true, host);
  for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1']) assert.equal(isLoopback(host), false, host);
});

test('the text parser reads labels, escapes and exponents', () => {
  const samples = parseMetrics(
    '# HELP x y\n# TYPE x counter\nx_total 3\ny{a="1",b="q\\"uote"} 2.5e-3\nz{code="T"} NaN\n',
  );
  assert.equal(metricValue(samples, 'x_total'), 3);
  assert.equal(metricValue(samples, 'y', { b: 'q"uote' }), 0.0025);
  assert.equal(metricValue(samples, 'y', { a: '2' }), undefined);
  assert.equal(samples.length, 3);
});
