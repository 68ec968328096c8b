/**
 * The --target's host name looked up once, before any connection, under the
 * connect deadline: a resolver that does not answer is one clear error within
 * --connect-timeout, not a minute's wait per connection, and the load threads
 * connect to an address (no lookup per connection).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import net from 'node:net';
import { socketFailureText, TargetLookupError } from '../../protocol/index.ts';
import type { ResolvedBenchOptions } from '../options.ts';

/** A host name -> one address (dns.lookup: /etc/hosts, then DNS, as connect() would). */
export type Lookup = (host: string) => Promise<{ address: string }>;

const systemLookup: Lookup = (host) => dnsLookup(host);

/** `host` as an address: an IP as it is, a name looked up, bounded by `timeoutS`. */
export async function lookupTarget(host: string, timeoutS: number, lookup: Lookup = systemLookup): Promise<string> {
  if (net.isIP(host)) return host;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TargetLookupError(`cannot look up '${host}': no answer within ${timeoutS} s`)),
      timeoutS * 1000,
    );
  });
  try {
    return (await Promise.race([lookup(host), late])).address;
  } catch (err) {
    if (err instanceof TargetLookupError) throw err;
    const why = socketFailureText(err as NodeJS.ErrnoException);
    throw new TargetLookupError(`cannot look up '${host}': ${why}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/** The options with the target's host replaced by its address (unchanged without a target). */
export async function withTargetAddress(options: ResolvedBenchOptions, lookup?: Lookup): Promise<ResolvedBenchOptions> {
  if (!options.target) return options;
  const host = await lookupTarget(options.target.host, options.connectTimeoutS, lookup);
  return Object.freeze({ ...options, target: Object.freeze({ host, port: options.target.port }) });
}
