// connect({ tls, ca }): the client library over TLS, chat included; a certificate it
// cannot trust is a ConnectError; a CA file it cannot read is ERR_TLS_FILE.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../../src/client/index.ts';
import { testCertificate, tlsServerOptions } from '../helpers/tls.ts';
import { withServer } from '../helpers/wire.ts';

test('connect({ tls, ca }) to a TLS server: sends are answered', async (t) => {
  const server = await withServer(t, { mode: 'echo', workers: 2, ...tlsServerOptions() });
  const client = await connect({ port: server.port, tls: true, ca: testCertificate().certFile });
  t.after(() => client.close());
  assert.equal(await client.send('over TLS'), 'over TLS');
  const big = 'x'.repeat(200_000);
  assert.equal(await client.send(big), big);
});

test('chat mode over TLS: deliveries reach the other member', async (t) => {
  const server = await withServer(t, { mode: 'chat', workers: 2, ...tlsServerOptions() });
  const options = { port: server.port, tls: true, ca: testCertificate().certFile, chat: true };
  const alice = await connect(options);
  const bob = await connect(options);
  t.after(() => Promise.all([alice.close(), bob.close()]));
  await alice.join('tls');
  await bob.join('tls');
  const incoming = bob.deliveries();
  await alice.send('hello bob');
  for (;;) {
    const { value } = await incoming.next();
    assert.ok(value, 'a delivery');
    if (value.kind === 'message') {
      assert.equal(value.text, 'hello bob');
      break;
    }
  }
});

test('a server certificate the client does not trust: ConnectError', async (t) => {
  const server = await withServer(t, tlsServerOptions());
  await assert.rejects(connect({ port: server.port, tls: true }), { code: 'ERR_CONNECT' });
});

test('ca without tls is refused; an unreadable CA file is ERR_TLS_FILE', async () => {
  await assert.rejects(connect({ port: 1, ca: 'x.pem' }), { code: 'ERR_INVALID_OPTION', message: /tls/ });
  await assert.rejects(connect({ port: 1, tls: true, ca: join(testCertificate().dir, 'none.pem') }), {
    code: 'ERR_TLS_FILE',
  });
});
