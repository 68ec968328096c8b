// TLS refusals are readable and handshakes are bounded: a client refused by a full TLS
// server reads !ERROR SERVER_FULL through TLS (after its PROXY header too); a refusal's
// handshake has a deadline and refusals in flight are capped; peers that stall in their
// handshake (or PROXY header) hold at most half of --max-connections, so they cannot fill
// a TLS server (20 idle TCP connections used to fill a --max-connections 20 one for 30 s).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { ACK_TEXT } from '../../../src/protocol/index.ts';
import { LINGERING_REFUSALS_PER_THREAD } from '../../../src/server/accept/acceptor.ts';
import { proxyV1Header } from '../../../src/server/prelude/proxy-protocol.ts';
import type { RunningServer } from '../../../src/server/server.ts';
import { tlsServerOptions } from '../../helpers/tls.ts';
import {
  answeredClients,
  assertEndedWithError,
  connect,
  eventually,
  STRATEGY_VARIANTS,
  variantOptions,
  withServer,
} from '../../helpers/wire.ts';

/** Plain TCP connections that send nothing at all (a handshake that never starts). */
async function idleConnections(t: Parameters<typeof withServer>[0], server: RunningServer, n: number) {
  const sockets: net.Socket[] = [];
  t.after(() => {
    for (const s of sockets) s.destroy();
  });
  for (let i = 0; i < n; i++) {
    const socket = net.connect({ host: server.host, port: server.port });
    socket.on('error', () => {});
    socket.resume(); // so that the server's FIN is seen
    await once(socket, 'connect');
    sockets.push(socket);
  }
  return sockets;
}

const closed = (s: net.Socket) => s.destroyed || s.readableEnded;

for (const variant of STRATEGY_VARIANTS) {
  test(`${variant.label}: a client refused by a full TLS server reads !ERROR SERVER_FULL through TLS`, async (t) => {
    const server = await withServer(t, variantOptions(variant, { maxConnections: 1, ...tlsServerOptions() }));
    await answeredClients(t, server, 1);
    const refused = await connect(t, server); // connect() speaks TLS to a TLS server: the handshake completes
    const end = await refused.readUntilClose(5000);
    assert.equal(end.frames.length, 1, refused.describe());
    assertEndedWithError(refused, end, 'SERVER_FULL');
  });
}

test('behind a proxy (PROXY header, then TLS), the refused client reads SERVER_FULL through TLS too', async (t) => {
  const server = await withServer(t, { proxyProtocol: true, maxConnections: 1, workers: 1, ...tlsServerOptions() });
  const header = proxyV1Header({ address: '198.51.100.7', port: 40000 }, { address: '10.0.0.1', port: 5050 });
  await answeredClients(t, server, 1, { prefix: header });
  const refused = await connect(t, server, { prefix: header });
  const end = await refused.readUntilClose(5000);
  assertEndedWithError(refused, end, 'SERVER_FULL');
});

test('20 idle TCP connections do not fill a --max-connections 20 TLS server: a TLS client is still served', async (t) => {
  const server = await withServer(t, { maxConnections: 20, workers: 2, ...tlsServerOptions() });
  const idle = await idleConnections(t, server, 20);
  // Half of the limit (5 per thread) may be in their handshake: the oldest made room for the others.
  await eventually(() => idle.filter(closed).length >= 10, 'the oldest idle connections closed');
  // The server un-counts each one as its close completes, a moment after the peer has seen it.
  await eventually(() => server.stats().activeConnections === 10, 'the 10 closed connections un-counted', 2000);
  const [client] = await answeredClients(t, server, 1);
  await client!.send('and again');
  assert.equal(await client!.readText(), ACK_TEXT);
});

test('--handshake-timeout closes a connection still in its PROXY header or handshake, whatever the frame timeout', async (t) => {
  const server = await withServer(t, { handshakeTimeoutMs: 300, workers: 1, ...tlsServerOptions() });
  const [socket] = await idleConnections(t, server, 1);
  const startedAt = performance.now();
  await once(socket!, 'close');
  const tookMs = performance.now() - startedAt;
  assert.ok(tookMs >= 250 && tookMs < 2000, `closed after ${Math.round(tookMs)} ms (the frame timeout is 30 s)`);
  await eventually(() => server.stats().activeConnections === 0, 'the closed connection un-counted', 1000);
});

test('refused TLS peers that stall their handshake: a few linger (2 s at most), the rest are closed at once', async (t) => {
  const server = await withServer(t, { maxConnections: 1, workers: 1, ...tlsServerOptions() });
  await answeredClients(t, server, 1);
  const extra = 4;
  const stalled = await idleConnections(t, server, LINGERING_REFUSALS_PER_THREAD + extra);
  await eventually(() => stalled.filter(closed).length >= extra, 'the refusals past the cap closed at once', 1000);
  assert.ok(stalled.filter(closed).length < stalled.length, 'the others are waiting for their handshake');
  await eventually(() => stalled.every(closed), 'every stalled refusal cut off within its deadline', 4000);
});
