/**
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2): a
 * load balancer sends it first on every connection, so that the server learns
 * the real client's address. A pure parser, fed everything read so far.
 *
 * It also says how many more bytes are needed at least (`more`), so that the
 * reader can ask the kernel for exactly that much and never read past the
 * header: what follows belongs to the session (or to its TLS handshake).
 * The spec forbids guessing: anything that is not a whole, valid header is
 * `invalid`, and the connection must be closed.
 */
import net from 'node:net';

export interface ProxyAddress {
  address: string;
  port: number;
}

interface ProxyHeader {
  version: 1 | 2;
  /**
   * The client's address as the proxy saw it; null when the header carries none
   * (v2 LOCAL, a health check by the proxy itself; v1 UNKNOWN; v2 UNSPEC or UNIX):
   * the spec then says to use the connection's own endpoints.
   */
  source: ProxyAddress | null;
  /** Bytes the header takes from the start of the stream. */
  length: number;
}

export type ProxyParse =
  { kind: 'more'; atLeast: number } | { kind: 'done'; header: ProxyHeader } | { kind: 'invalid'; reason: string };

/** The 12 bytes every v2 header starts with. */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED_BYTES = 16;
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The spec's longest v1 line, CRLF included. */
export const V1_MAX_BYTES = 107;
/** Bytes to read first: enough to tell v1 from v2, fewer than either's shortest header. */
export const PROXY_FIRST_READ_BYTES = 8;

const V2_COMMAND_LOCAL = 0x0;
const V2_COMMAND_PROXY = 0x1;
const V2_FAMILY_UNSPEC = 0x0;
const V2_FAMILY_INET = 0x1;
const V2_FAMILY_UNIX = 0x3;
const V2_TRANSPORT_STREAM = 0x1;
const V2_INET_BYTES = 12;
const V2_INET6_BYTES = 36;
const V2_UNIX_BYTES = 216;

/** The shortest complete v1 line for each protocol word. */
const V1_SHORTEST_LINE: Readonly<Record<string, number>> = {
  TCP4: 'PROXY TCP4 1.1.1.1 1.1.1.1 1 1\r\n'.length,
  TCP6: 'PROXY TCP6 :: :: 1 1\r\n'.length,
  UNKNOWN: 'PROXY UNKNOWN\r\n'.length,
};
/** Shortest source address, destination address, source port, destination port. */
const V1_SHORTEST_FIELDS: Readonly<Record<string, readonly number[]>> = {
  TCP4: [7, 7, 1, 1],
  TCP6: [2, 2, 1, 1],
};
/** v1BytesStillNeeded(): the protocol word cannot become TCP4, TCP6 or UNKNOWN. */
const UNKNOWN_PROTOCOL = Number.POSITIVE_INFINITY;
const PORT = /^(0|[1-9][0-9]{0,4})$/;

const more = (atLeast: number): ProxyParse => ({ kind: 'more', atLeast: Math.max(1, atLeast) });
const invalid = (reason: string): ProxyParse => ({ kind: 'invalid', reason });

/** True when `bytes` is a prefix of `signature`, or starts with all of it. */
function startsLike(bytes: Buffer, signature: Buffer): boolean {
  const n = Math.min(bytes.length, signature.length);
  return bytes.subarray(0, n).equals(signature.subarray(0, n));
}

/** Parses the start of a connection's stream: a whole header, or how much more it needs, or why it is not one. */
export function parseProxyHeader(bytes: Buffer): ProxyParse {
  if (bytes.length === 0) return more(PROXY_FIRST_READ_BYTES);
  if (startsLike(bytes, V2_SIGNATURE)) return parseV2(bytes);
  if (startsLike(bytes, V1_PREFIX)) return parseV1(bytes);
  return invalid('the connection does not start with a PROXY protocol header');
}

function parseV2(bytes: Buffer): ProxyParse {
  if (bytes.length < V2_FIXED_BYTES) return more(V2_FIXED_BYTES - bytes.length);
  const version = bytes[12]! >> 4;
  const command = bytes[12]! & 0x0f;
  const family = bytes[13]! >> 4;
  const transport = bytes[13]! & 0x0f;
  if (version !== 2) return invalid(`PROXY v2 header with version ${version}`);
  if (command !== V2_COMMAND_LOCAL && command !== V2_COMMAND_PROXY) {
    return invalid(`PROXY v2 header with unknown command ${command}`);
  }
  if (family > V2_FAMILY_UNIX || transport > 2) return invalid('PROXY v2 header with unknown family or transport');
  const length = V2_FIXED_BYTES + bytes.readUInt16BE(14);
  if (bytes.length < length) return more(length - bytes.length);
  const header = (source: ProxyAddress | null): ProxyParse => ({
    kind: 'done',
    header: { version: 2, source, length },
  });
  // LOCAL: the proxy speaks for itself (a health check); the addresses, if any, are ignored.
  if (command === V2_COMMAND_LOCAL || family === V2_FAMILY_UNSPEC) return header(null);
  const block = bytes.subarray(V2_FIXED_BYTES, length);
  if (family === V2_FAMILY_UNIX) {
    return block.length < V2_UNIX_BYTES ? invalid('PROXY v2 UNIX address block too short') : header(null);
  }
  if (transport !== V2_TRANSPORT_STREAM) return invalid('PROXY v2 header for a datagram connection');
  // What follows the addresses (TLVs) is optional information this server does not use.
  if (family === V2_FAMILY_INET) {
    if (block.length < V2_INET_BYTES) return invalid('PROXY v2 IPv4 address block too short');
    return header({ address: `${block[0]}.${block[1]}.${block[2]}.${block[3]}`, port: block.readUInt16BE(8) });
  }
  if (block.length < V2_INET6_BYTES) return invalid('PROXY v2 IPv6 address block too short');
  // The one family left: V2_FAMILY_INET6 (0x2).
  return header({ address: ipv6Text(block.subarray(0, 16)), port: block.readUInt16BE(32) });
}

function parseV1(bytes: Buffer): ProxyParse {
  const end = bytes.indexOf('\r\n', 0, 'latin1');
  if (end === -1) {
    if (bytes.length >= V1_MAX_BYTES) return invalid(`PROXY v1 line longer than ${V1_MAX_BYTES} bytes`);
    const line = bytes.toString('latin1');
    if (/[^\x20-\x7e\r]|\r./.test(line)) return invalid('PROXY v1 line with a byte that is not printable ASCII');
    const need = v1BytesStillNeeded(line);
    if (need === UNKNOWN_PROTOCOL) return invalid(`PROXY v1 line with protocol '${line.slice(6)}'`);
    return more(Math.min(need, V1_MAX_BYTES - bytes.length));
  }
  const length = end + 2;
  if (length > V1_MAX_BYTES) return invalid(`PROXY v1 line longer than ${V1_MAX_BYTES} bytes`);
  const line = bytes.toString('latin1', 0, end);
  if (/[^\x20-\x7e]/.test(line)) return invalid('PROXY v1 line with a byte that is not printable ASCII');
  const parts = line.split(' ');
  const protocol = parts[1];
  if (protocol === 'UNKNOWN') return { kind: 'done', header: { version: 1, source: null, length } };
  if (protocol !== 'TCP4' && protocol !== 'TCP6') return invalid(`PROXY v1 line with protocol '${protocol}'`);
  if (parts.length !== 6) return invalid('PROXY v1 line without exactly two addresses and two ports');
  const [, , source, destination, sourcePort, destinationPort] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const family = protocol === 'TCP4' ? 4 : 6;
  if (net.isIP(source) !== family || net.isIP(destination) !== family) {
    return invalid(`PROXY v1 ${protocol} line with an address that is not IPv${family}`);
  }
  if (!validPort(sourcePort) || !validPort(destinationPort)) return invalid('PROXY v1 line with a bad port');
  return { kind: 'done', header: { version: 1, source: { address: source, port: Number(sourcePort) }, length } };
}

function validPort(text: string): boolean {
  return PORT.test(text) && Number(text) <= 65_535;
}

/**
 * A lower bound on the bytes a v1 line (without its CRLF yet) still needs, from the
 * shortest value each field left can have: a whole TCP4 line is read in a few reads.
 */
function v1BytesStillNeeded(line: string): number {
  if (line.endsWith('\r')) return 1;
  const parts = line.split(' ');
  if (parts.length <= 2) {
    const word = parts[1] ?? '';
    let shortest = UNKNOWN_PROTOCOL;
    for (const [protocol, lineBytes] of Object.entries(V1_SHORTEST_LINE)) {
      if (protocol.startsWith(word)) shortest = Math.min(shortest, lineBytes - line.length);
    }
    return shortest;
  }
  const fields = V1_SHORTEST_FIELDS[parts[1]!];
  if (!fields) return 2; // UNKNOWN: anything up to the CRLF (a bad word is reported once the line is whole)
  const typed = parts.slice(2);
  const current = Math.min(typed.length, fields.length) - 1;
  let need = Math.max(0, fields[current]! - typed[current]!.length);
  for (let j = current + 1; j < fields.length; j++) need += 1 + fields[j]!;
  return need + 2;
}

/** 16 bytes as the usual IPv6 text: lower-case hex groups, the longest run of zero groups as `::`. */
function ipv6Text(bytes: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  if (groups.slice(0, 6).every((g, i) => (i < 5 ? g === 0 : g === 0xffff))) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not shortened
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** A v1 header for `source` (tests and tools that play the proxy). */
export function proxyV1Header(source: ProxyAddress, destination: ProxyAddress): Buffer {
  const protocol = net.isIPv6(source.address) ? 'TCP6' : 'TCP4';
  return Buffer.from(
    `PROXY ${protocol} ${source.address} ${destination.address} ${source.port} ${destination.port}\r\n`,
    'latin1',
  );
}
