// --proxy-protocol against a live server, for every strategy: the header is the
// session's first state, read in the serving thread; the client's real address
// is used from then on; no header, a bad one or an untrusted peer: closed, nothing sent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT, encodeFrame } from '../../../src/protocol/index.ts';
import { proxyV1Header } from '../../../src/server/prelude/proxy-protocol.ts';
import { ChatPeer } from '../../helpers/chat-wire.ts';
import { v2Header, v2Inet } from '../../helpers/proxy.ts';
import { tlsServerOptions } from '../../helpers/tls.ts';
import { connect, errorOf, forEachVariant, sleep, variantOptions, withServer } from '../../helpers/wire.ts';

const v1 = (address: string, port: number) =>
  proxyV1Header({ address, port }, { address: address.includes(':') ? '2001:db8::1' : '10.0.0.1', port: 5050 });
const FRAME = encodeFrame(Buffer.from('hello'), 64);

forEachVariant((variant) => {
  test('v1 and v2 headers, then frames in the same write: served', async (t) => {
    const server = await withServer(t, variantOptions(variant, { proxyProtocol: true }));
    for (const header of [v1('198.51.100.7', 40000), v2Inet([203, 0, 113, 9], 61000)]) {
      const client = await connect(t, server, { prefix: Buffer.concat([header, FRAME, FRAME]) });
      assert.deepEqual(
        (await client.readFrames(2)).map((f) => f.toString()),
        [ACK_TEXT, ACK_TEXT],
      );
    }
  });

  test('a header split across writes, a byte at a time: served', async (t) => {
    const server = await withServer(t, variantOptions(variant, { proxyProtocol: true }));
    const client = await connect(t, server);
    const header = v1('198.51.100.7', 40000);
    for (let i = 0; i < header.length; i++) {
      await client.sendRaw(header.subarray(i, i + 1));
      if (i % 10 === 0) await sleep(5);
    }
    await client.sendRaw(FRAME);
    assert.equal(await client.readText(), ACK_TEXT);
  });

  test('v2 LOCAL (a health check), UNSPEC and TLVs: served', async (t) => {
    const server = await withServer(t, variantOptions(variant, { proxyProtocol: true }));
    const tlvs = Buffer.from([0x01, 0x00, 0x02, 0x68, 0x32, 0x04, 0x00, 0x00]);
    for (const header of [
      v2Header(0, 0x00, Buffer.alloc(0)),
      v2Header(1, 0x00, Buffer.alloc(0)),
      v2Inet([1, 2, 3, 4], 9, tlvs),
    ]) {
      const client = await connect(t, server, { prefix: Buffer.concat([header, FRAME]) });
      assert.equal(await client.readText(), ACK_TEXT);
    }
  });

  test('no header, garbage, or a header cut short by FIN: closed with nothing sent; others unaffected', async (t) => {
    const server = await withServer(t, variantOptions(variant, { proxyProtocol: true }));
    const good = await connect(t, server, { prefix: v1('198.51.100.7', 1) });
    for (const first of [
      FRAME,
      Buffer.from('GET / HTTP/1.0\r\n\r\n'),
      Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'),
      v2Header(3, 0x11, Buffer.alloc(12)),
    ]) {
      const client = await connect(t, server, { prefix: first });
      const { frames } = await client.readUntilClose(5000);
      assert.equal(client.bytesReceived, 0, `nothing sent after ${JSON.stringify(first.toString('latin1'))}`);
      assert.equal(frames.length, 0);
    }
    const cut = await connect(t, server, { prefix: Buffer.from('PROXY TCP4 1.2.') });
    cut.socket.end();
    await cut.waitClose(5000);
    assert.equal(cut.bytesReceived, 0);
    await good.sendRaw(FRAME);
    assert.equal(await good.readText(), ACK_TEXT);
  });

  test('a peer outside --proxy-trusted is closed before anything is read', async (t) => {
    const server = await withServer(t, variantOptions(variant, { proxyProtocol: true, proxyTrusted: ['10.0.0.0/8'] }));
    const client = await connect(t, server, { prefix: Buffer.concat([v1('198.51.100.7', 1), FRAME]) });
    await client.waitClose(5000);
    assert.equal(client.bytesReceived, 0);
  });

  test('a header that does not come within --handshake-timeout: closed', async (t) => {
    const server = await withServer(t, variantOptions(variant, { proxyProtocol: true, handshakeTimeoutMs: 300 }));
    const client = await connect(t, server, { prefix: Buffer.from('PROXY TCP4 ') });
    await client.waitClose(5000);
    assert.equal(client.bytesReceived, 0);
  });

  test('the real client address is the chat name (!WHO) and is what --max-connections-per-ip counts', async (t) => {
    const server = await withServer(
      t,
      variantOptions(variant, { proxyProtocol: true, mode: 'chat', maxConnectionsPerIp: 2 }),
    );
    const a = await ChatPeer.connect(t, server, { prefix: v1('198.51.100.7', 40001) });
    await ChatPeer.connect(t, server, { prefix: v2Inet([198, 51, 100, 7], 40002) });
    await ChatPeer.connect(t, server, { prefix: v1('2001:db8::5', 40003) });
    const { members } = await a.who();
    assert.deepEqual(members, ['198.51.100.7:40001', '198.51.100.7:40002', '[2001:db8::5]:40003']);
    // A third from 198.51.100.7 is one too many, wherever its proxy connection comes from.
    const third = await connect(t, server, { prefix: Buffer.concat([v1('198.51.100.7', 40004)]) });
    const { frames } = await third.readUntilClose(5000);
    assert.equal(errorOf(frames.at(-1))?.code, 'SERVER_FULL');
    // Another address is still welcome.
    const other = await ChatPeer.connect(t, server, { prefix: v1('198.51.100.8', 40005) });
    assert.equal((await other.who()).members.length, 4);
  });
});

test('PROXY comes before the TLS handshake, as HAProxy sends it', async (t) => {
  const server = await withServer(t, { proxyProtocol: true, mode: 'chat', workers: 2, ...tlsServerOptions() });
  const peer = await ChatPeer.connect(t, server, { prefix: v2Inet([192, 0, 2, 44], 50000) });
  assert.deepEqual((await peer.who()).members, ['192.0.2.44:50000']);
});
