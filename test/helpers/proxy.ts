// PROXY protocol headers made by hand (HAProxy's proxy-protocol.txt), for tests that play the load balancer.
import { V2_SIGNATURE } from '../../src/server/prelude/proxy-protocol.ts';

/** A v2 header: command 1 PROXY / 0 LOCAL, family<<4|transport, then the address block and TLVs. */
export function v2Header(command: number, familyTransport: number, block: Buffer): Buffer {
  const fixed = Buffer.alloc(16);
  V2_SIGNATURE.copy(fixed);
  fixed[12] = 0x20 | command;
  fixed[13] = familyTransport;
  fixed.writeUInt16BE(block.length, 14);
  return Buffer.concat([fixed, block]);
}

/** A v2 PROXY header for a TCP/IPv4 client `source`:`port` (to 10.0.0.1:5050), with optional TLVs after the addresses. */
export function v2Inet(source: [number, number, number, number], port: number, tlvs = Buffer.alloc(0)): Buffer {
  const block = Buffer.alloc(12);
  block.set(source, 0);
  block.set([10, 0, 0, 1], 4);
  block.writeUInt16BE(port, 8);
  block.writeUInt16BE(5050, 10);
  return v2Header(1, 0x11, Buffer.concat([block, tlvs]));
}
