// TLS failures in our words, with the flag that mends them: a self-signed certificate
// says `--ca cert.pem` (not Node's --use-system-ca), a certificate for another host says
// which hosts it names, a plain client on a TLS port is told that the port speaks TLS
// (ERR_SERVER_SPEAKS_TLS), and a TLS client on a plain port to leave out --tls.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { type TestContext, test } from 'node:test';
import { connect, ConnectError, ConnectionClosedError, ServerSpeaksTlsError } from '../../src/client/index.ts';
import { socketFailureText } from '../../src/protocol/index.ts';
import { makeCertificate } from '../../src/bench/load/throwaway-cert.ts';
import { runToEnd } from '../helpers/process.ts';
import { tlsServerOptions } from '../helpers/tls.ts';
import { withServer } from '../helpers/wire.ts';

/** A TCP server on a free loopback port whose connections get `onConnection`. */
async function tcpServer(t: TestContext, onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

test('a plain client on a handoff TLS port: ERR_SERVER_SPEAKS_TLS, "this port speaks TLS: pass --tls"', async (t) => {
  const server = await withServer(t, { workers: 1, ...tlsServerOptions() });
  const client = await connect({ port: server.port });
  t.after(() => client.destroy());
  await assert.rejects(client.send('hello'), (err: unknown) => {
    assert.ok(err instanceof ServerSpeaksTlsError, String(err));
    assert.equal(err.code, 'ERR_SERVER_SPEAKS_TLS');
    assert.equal(err.message, `127.0.0.1:${server.port}: this port speaks TLS: pass --tls`);
    return true;
  });
  assert.ok((await client.closed).error instanceof ServerSpeaksTlsError);
});

test('a server that answers with a TLS alert record: ERR_SERVER_SPEAKS_TLS at once', async (t) => {
  // A fatal protocol_version alert, as a TLS server may send to a client that is not speaking TLS.
  const port = await tcpServer(t, (socket) =>
    socket.once('data', () => socket.write(Buffer.from('15030300020246', 'hex'))),
  );
  const client = await connect({ port });
  t.after(() => client.destroy());
  await assert.rejects(client.send('hello'), { code: 'ERR_SERVER_SPEAKS_TLS' });
});

test('a plain server that closes without a byte is still "closed": the TLS question says no', async (t) => {
  const port = await tcpServer(t, (socket) => socket.once('data', () => socket.end()));
  const client = await connect({ port });
  t.after(() => client.destroy());
  await assert.rejects(client.send('hello'), (err: unknown) => {
    assert.ok(err instanceof ConnectionClosedError, String(err));
    assert.match(err.message, /closed the connection with 1 reply outstanding/);
    return true;
  });
});

test("a self-signed certificate: the ConnectError says to pass --ca cert.pem, the cause keeps Node's code", async (t) => {
  const server = await withServer(t, { workers: 1, ...tlsServerOptions() });
  await assert.rejects(connect({ port: server.port, tls: true }), (err: unknown) => {
    assert.ok(err instanceof ConnectError);
    assert.match(err.message, /self-signed: trust it with --ca cert\.pem \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/);
    assert.doesNotMatch(err.message, /use-system-ca/);
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    return true;
  });
});

test('a certificate for another host: the hint names the hosts it is for', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'handoff-tls-hint-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  makeCertificate(cert, key, 'DNS:other.example,DNS:www.other.example', 'other');
  const server = tls.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (s) => s.end());
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as net.AddressInfo;
  await assert.rejects(connect({ port, tls: true, ca: cert }), {
    code: 'ERR_CONNECT',
    message: `cannot connect to 127.0.0.1:${port}: the server's certificate is for other.example, www.other.example, not 127.0.0.1: pass --host other.example (ERR_TLS_CERT_ALTNAME_INVALID)`,
  });
});

test('a TLS client on a plain port: "this port does not speak TLS: leave out --tls"', async (t) => {
  const server = await withServer(t, { workers: 1 });
  await assert.rejects(connect({ port: server.port, tls: true }), {
    code: 'ERR_CONNECT',
    message: /this port does not speak TLS: leave out --tls/,
  });
});

test('socketFailureText: every certificate failure names the flag that mends it, in one line', () => {
  const failure = (code: string, message = 'node words\nmore lines') => Object.assign(new Error(message), { code });
  assert.match(socketFailureText(failure('SELF_SIGNED_CERT_IN_CHAIN')), /CA not trusted here: pass --ca ca\.pem/);
  assert.match(socketFailureText(failure('UNABLE_TO_VERIFY_LEAF_SIGNATURE')), /pass --ca ca\.pem/);
  assert.match(socketFailureText(failure('UNABLE_TO_GET_ISSUER_CERT_LOCALLY')), /pass --ca ca\.pem/);
  assert.match(socketFailureText(failure('CERT_HAS_EXPIRED')), /has expired/);
  const mismatch = Object.assign(failure('ERR_TLS_CERT_ALTNAME_INVALID'), {
    host: '10.0.0.7',
    cert: { subjectaltname: 'DNS:localhost, IP Address:127.0.0.1' },
  });
  assert.equal(
    socketFailureText(mismatch),
    "the server's certificate is for localhost, 127.0.0.1, not 10.0.0.7: pass --host localhost (ERR_TLS_CERT_ALTNAME_INVALID)",
  );
  // An unknown code keeps Node's first line only: no OpenSSL source paths on the next ones.
  assert.equal(socketFailureText(failure('ERR_SOMETHING')), 'node words (ERR_SOMETHING)');
});

test('`handoff client` prints each hint as one line and exits 1', async (t) => {
  const server = await withServer(t, { workers: 1, ...tlsServerOptions() });
  const plain = await runToEnd(['client', '--port', String(server.port)], 'hi\n');
  assert.equal(plain.stderr, `handoff: 127.0.0.1:${server.port}: this port speaks TLS: pass --tls\n`);
  assert.equal(plain.code, 1);
  const untrusted = await runToEnd(['client', '--tls', '--port', String(server.port)], 'hi\n');
  assert.match(untrusted.stderr, /^handoff: cannot connect to .*: trust it with --ca cert\.pem \([A-Z_]+\)\n$/);
  assert.equal(untrusted.code, 1);
});
