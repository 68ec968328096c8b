// handoff serve --proxy-protocol: the flags reach the server, and the log names the
// client's real address from the header ([NEW CONNECTION], [DISCONNECTED]).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serveOptionsFromArgs } from '../../src/server/cli.ts';
import { proxyV1Header } from '../../src/server/prelude/proxy-protocol.ts';
import { listening, nthEvent, run } from '../helpers/process.ts';
import { connect } from '../helpers/wire.ts';

test('--proxy-protocol, --proxy-trusted, --max-connections-per-ip, --tls-cert, --tls-key and --handshake-timeout map onto the options', () => {
  const options = serveOptionsFromArgs({
    'handshake-timeout': 2.5,
    'proxy-protocol': true,
    'proxy-trusted': ['10.0.0.0/8', '::1'],
    'max-connections-per-ip': 7,
    'tls-cert': 'c.pem',
    'tls-key': 'k.pem',
  });
  assert.deepEqual(
    {
      proxyProtocol: options.proxyProtocol,
      proxyTrusted: options.proxyTrusted,
      maxConnectionsPerIp: options.maxConnectionsPerIp,
      tlsCert: options.tlsCert,
      tlsKey: options.tlsKey,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
    },
    {
      proxyProtocol: true,
      proxyTrusted: ['10.0.0.0/8', '::1'],
      maxConnectionsPerIp: 7,
      tlsCert: 'c.pem',
      tlsKey: 'k.pem',
      handshakeTimeoutMs: 2500,
    },
  );
});

test('the JSON log names the address from the PROXY header, not the proxy', async (t) => {
  const server = run(t, [
    'serve',
    '--port',
    '0',
    '--json',
    '--workers',
    '1',
    '--proxy-protocol',
    '--proxy-trusted',
    '127.0.0.0/8',
  ]);
  const { host, port } = await listening(server);
  const header = proxyV1Header({ address: '198.51.100.23', port: 41234 }, { address: '10.0.0.1', port });
  const client = await connect(t, { host, port }, { prefix: header });
  await client.send('hi');
  await client.readText();
  const connected = await nthEvent(server, 'connect');
  assert.equal(connected.remote, '198.51.100.23:41234');
  await client.end();
  const gone = await nthEvent(server, 'disconnect');
  assert.equal(gone.remote, '198.51.100.23:41234');
});
