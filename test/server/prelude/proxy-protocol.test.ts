// The PROXY protocol parser (HAProxy's proxy-protocol.txt, v1 and v2), fed whole,
// split at every offset and a byte at a time: it never asks for more bytes than
// the header still has, and never guesses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  parseProxyHeader,
  proxyV1Header,
  type ProxyParse,
  V1_MAX_BYTES,
  V2_SIGNATURE,
} from '../../../src/server/prelude/proxy-protocol.ts';
import { v2Header, v2Inet } from '../../helpers/proxy.ts';

/**
 * Reads `stream` the way the server does: each read asks for exactly what the
 * parser says is still needed at least. Returns the result and the bytes read.
 */
function readLikeTheServer(stream: Buffer): { result: ProxyParse; consumed: number } {
  let have = 0;
  for (;;) {
    const result = parseProxyHeader(stream.subarray(0, have));
    if (result.kind !== 'more') return { result, consumed: have };
    if (have + result.atLeast > stream.length) return { result, consumed: have };
    have += result.atLeast;
  }
}

function done(result: ProxyParse) {
  assert.equal(result.kind, 'done', JSON.stringify(result));
  return (result as Extract<ProxyParse, { kind: 'done' }>).header;
}

const AFTER = Buffer.from('0000000005hello, what follows the header');

describe('PROXY header parser', () => {
  const cases: Array<[string, Buffer, { address: string; port: number } | null]> = [
    ['v1 TCP4', Buffer.from('PROXY TCP4 192.168.0.7 10.0.0.1 56324 5050\r\n'), { address: '192.168.0.7', port: 56324 }],
    [
      'v1 TCP6',
      Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 40000 5050\r\n'),
      { address: '2001:db8::7', port: 40000 },
    ],
    ['v1 UNKNOWN', Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n'), null],
    ['v1 UNKNOWN, nothing after', Buffer.from('PROXY UNKNOWN\r\n'), null],
    ['v1 shortest TCP4', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), { address: '1.2.3.4', port: 1 }],
    ['v2 PROXY IPv4', v2Inet([203, 0, 113, 9], 61000), { address: '203.0.113.9', port: 61000 }],
    [
      'v2 PROXY IPv4 with TLVs',
      v2Inet([203, 0, 113, 9], 61000, Buffer.from([0x01, 0x00, 0x02, 0x68, 0x32, 0x04, 0x00, 0x00])),
      { address: '203.0.113.9', port: 61000 },
    ],
    [
      'v2 PROXY IPv6',
      (() => {
        const block = Buffer.alloc(36);
        Buffer.from('20010db8000000000000000000000007', 'hex').copy(block, 0);
        Buffer.from('20010db8000000000000000000000001', 'hex').copy(block, 16);
        block.writeUInt16BE(443, 32);
        block.writeUInt16BE(5050, 34);
        return v2Header(1, 0x21, block);
      })(),
      { address: '2001:db8::7', port: 443 },
    ],
    ['v2 LOCAL (a health check)', v2Header(0, 0x00, Buffer.alloc(0)), null],
    ['v2 LOCAL with an address block', v2Header(0, 0x11, Buffer.alloc(12, 1)), null],
    ['v2 PROXY UNSPEC', v2Header(1, 0x00, Buffer.alloc(0)), null],
    ['v2 PROXY UNIX', v2Header(1, 0x31, Buffer.alloc(216)), null],
  ];
  for (const [name, header, source] of cases) {
    test(`${name}: whole, then the bytes after it are not read`, () => {
      const { result, consumed } = readLikeTheServer(Buffer.concat([header, AFTER]));
      const parsed = done(result);
      assert.deepEqual(parsed.source, source);
      assert.equal(parsed.length, header.length);
      assert.equal(consumed, header.length, 'no byte past the header was asked for');
    });
    test(`${name}: split at every offset`, () => {
      for (let i = 0; i <= header.length; i++) {
        const first = parseProxyHeader(header.subarray(0, i));
        if (i < header.length) {
          assert.equal(first.kind, 'more', `at ${i}: ${JSON.stringify(first)}`);
          const atLeast = (first as { atLeast: number }).atLeast;
          assert.ok(atLeast >= 1 && i + atLeast <= header.length, `at ${i} asks for ${atLeast}`);
        } else {
          assert.deepEqual(done(first).source, source);
        }
      }
    });
  }

  test('a v1 header is read in a few reads, not a byte at a time', () => {
    let reads = 0;
    const header = Buffer.from('PROXY TCP4 192.168.100.200 10.0.0.1 56324 5050\r\n');
    let have = 0;
    for (;;) {
      const result = parseProxyHeader(header.subarray(0, have));
      if (result.kind !== 'more') break;
      have += result.atLeast;
      reads++;
    }
    assert.ok(reads <= 12, `${reads} reads`);
  });

  const bad: Array<[string, Buffer]> = [
    ['plain protocol bytes', Buffer.from('0000000005hello')],
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\n\r\n')],
    ['TLS ClientHello', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc])],
    ['lower-case proxy', Buffer.from('proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n')],
    ['v1 unknown protocol', Buffer.from('PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n')],
    ['v1 IPv6 address under TCP4', Buffer.from('PROXY TCP4 ::1 ::1 1 2\r\n')],
    ['v1 port out of range', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n')],
    ['v1 port with a sign', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n')],
    ['v1 missing a port', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n')],
    ['v1 extra field', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n')],
    ['v1 bare LF', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n0000000005hello')],
    ['v1 CR without LF', Buffer.from('PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n')],
    ['v1 NUL inside', Buffer.from('PROXY TCP4 1.2.3.4\u00005.6.7.8 1 2\r\n')],
    ['v1 longer than 107 bytes', Buffer.from(`PROXY UNKNOWN ${'x'.repeat(V1_MAX_BYTES)}\r\n`)],
    ['v2 version 1', Buffer.concat([V2_SIGNATURE, Buffer.from([0x11, 0x11, 0x00, 0x0c]), Buffer.alloc(12)])],
    ['v2 command 2', Buffer.concat([V2_SIGNATURE, Buffer.from([0x22, 0x11, 0x00, 0x0c]), Buffer.alloc(12)])],
    ['v2 family 4', Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x41, 0x00, 0x0c]), Buffer.alloc(12)])],
    ['v2 IPv4 block too short', v2Header(1, 0x11, Buffer.alloc(8))],
    ['v2 IPv6 block too short', v2Header(1, 0x21, Buffer.alloc(12))],
    ['v2 datagram', v2Header(1, 0x12, Buffer.alloc(12))],
    ['v2 signature with one bit flipped', Buffer.concat([Buffer.from([0x0d, 0x0a, 0x0d, 0x0b]), Buffer.alloc(20)])],
  ];
  for (const [name, bytes] of bad) {
    test(`invalid: ${name}`, () => {
      const { result } = readLikeTheServer(Buffer.concat([bytes, Buffer.alloc(300, 0x20)]));
      assert.equal(result.kind, 'invalid', JSON.stringify(result));
    });
  }

  test('the v1 writer and the parser agree', () => {
    const header = proxyV1Header({ address: '198.51.100.4', port: 1234 }, { address: '10.0.0.1', port: 5050 });
    assert.deepEqual(done(parseProxyHeader(header)).source, { address: '198.51.100.4', port: 1234 });
  });
});
