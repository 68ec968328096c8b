// Behind a real HAProxy (send-proxy-v2 and send-proxy): the server learns each
// client's own address and port, over plain TCP and over TLS passed through.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatPeer } from '../../helpers/chat-wire.ts';
import { haproxyAvailable, startHaproxy } from '../../helpers/haproxy.ts';
import { tlsServerOptions } from '../../helpers/tls.ts';
import { withServer } from '../../helpers/wire.ts';

const skip = haproxyAvailable() ? false : 'haproxy is not installed';

test('behind HAProxy send-proxy-v2 and send-proxy, every client is known by its own address', { skip }, async (t) => {
  const server = await withServer(t, { mode: 'chat', proxyProtocol: true, workers: 2 });
  const [v2, v1] = await startHaproxy(t, [
    { backendPort: server.port, send: 'send-proxy-v2' },
    { backendPort: server.port, send: 'send-proxy' },
  ]);
  const a = await ChatPeer.connect(t, { host: '127.0.0.1', port: v2! });
  const b = await ChatPeer.connect(t, { host: '127.0.0.1', port: v1! });
  // The address HAProxy saw: the client's own port, not HAProxy's outgoing one.
  assert.deepEqual((await a.who()).members, [a.address, b.address].sort());
});

test('behind HAProxy send-proxy-v2 with TLS passed through: PROXY first, then the handshake', { skip }, async (t) => {
  const server = await withServer(t, { mode: 'chat', proxyProtocol: true, workers: 2, ...tlsServerOptions() });
  const [port] = await startHaproxy(t, [{ backendPort: server.port, send: 'send-proxy-v2' }]);
  const peer = await ChatPeer.connect(t, { host: '127.0.0.1', port: port!, options: { tlsCert: 'yes' } });
  assert.deepEqual((await peer.who()).members, [peer.address]);
});
