// TLS on the server: the hand-off still works (the worker wraps the transferred
// socket), a plain-text client gets nothing it could take for a reply and does not
// disturb the others, and unusable files stop the start with ERR_TLS_FILE.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ACK_TEXT, encodeFrame } from '../../../src/protocol/index.ts';
import { startServer } from '../../../src/server/server.ts';
import { testCertificate, tlsServerOptions } from '../../helpers/tls.ts';
import { connect, forEachVariant, patternPayload, variantOptions, withServer, WireClient } from '../../helpers/wire.ts';

forEachVariant((variant) => {
  test('a plain-text client on a TLS port gets no frame, and a TLS client beside it is served', async (t) => {
    const server = await withServer(t, variantOptions(variant, { mode: 'echo', ...tlsServerOptions() }));
    const secure = await connect(t, server);
    const payload = patternPayload(100_000);
    await secure.send(payload.subarray(0, 50_000));
    const plain = await WireClient.connect(server.port, server.host, { raw: true });
    t.after(() => plain.destroy());
    await plain.send('hello');
    await plain.waitClose(5000);
    // At most a TLS alert record (content type 21), never bytes that start a frame header.
    assert.ok(plain.rawBytes.length < 64, `${plain.rawBytes.length} bytes`);
    if (plain.rawBytes.length > 0) assert.equal(plain.rawBytes[0], 0x15, 'a TLS alert');
    await secure.send(payload);
    const [first, second] = await secure.readFrames(2);
    assert.ok(first!.equals(payload.subarray(0, 50_000)));
    assert.ok(second!.equals(payload));
  });
});

test('a TLS client that never completes its handshake is closed after --handshake-timeout, not the frame timeout', async (t) => {
  const server = await withServer(t, { handshakeTimeoutMs: 300, ...tlsServerOptions() });
  const silent = await WireClient.connect(server.port, server.host, { raw: true });
  t.after(() => silent.destroy());
  const startedAt = performance.now();
  await silent.waitClose(5000);
  const tookMs = performance.now() - startedAt;
  assert.ok(tookMs >= 250 && tookMs < 2000, `closed after ${Math.round(tookMs)} ms`);
  const client = await connect(t, server);
  await client.sendRaw(encodeFrame(Buffer.from('hi'), 64));
  assert.equal(await client.readText(), ACK_TEXT);
});

test('an unreadable certificate, or a key that does not match it, stops the start with ERR_TLS_FILE', async () => {
  const { dir, certFile, keyFile } = testCertificate();
  await assert.rejects(startServer({ port: 0, silent: true, tlsCert: join(dir, 'missing.pem'), tlsKey: keyFile }), {
    code: 'ERR_TLS_FILE',
  });
  const garbage = join(dir, 'garbage.pem');
  writeFileSync(garbage, 'not a key\n');
  await assert.rejects(startServer({ port: 0, silent: true, tlsCert: certFile, tlsKey: garbage }), {
    code: 'ERR_TLS_FILE',
  });
  await assert.rejects(startServer({ port: 0, silent: true, tlsCert: certFile }), {
    code: 'ERR_INVALID_OPTION',
    message: /tlsKey/,
  });
});
