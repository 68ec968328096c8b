import { lookup } from 'node:dns/promises';
import { hostname, networkInterfaces } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { defineFlags } from '../options/flags.ts';
import { reportCliFailure } from '../options/cli-failure.ts';
import { NoLanAddressError } from '../protocol/index.ts';
import { ACK_STYLES, MODES, SERVER_DEFAULTS, type ServerOptions, STRATEGIES } from './options.ts';
import { type RunningServer, startServer } from './server.ts';

/** The exit deadline PROTOCOL.md gives for SIGINT/SIGTERM. */
const EXIT_DEADLINE_MS = 4_800;

/** What `handoff serve` takes: the API's options, plus --lan. */
export interface ServeOptions extends ServerOptions {
  /** Bind the machine's LAN address, found as the tutorial did. */
  lan?: boolean;
}

/** Every flag of `handoff serve`, once: the yargs options, the help and the error messages come from here. */
export const SERVE_FLAGS = defineFlags<ServeOptions>(
  [
    { option: 'host', flag: 'host', kind: 'string', describe: 'address to bind (0.0.0.0: every interface)' },
    { option: 'port', flag: 'port', alias: 'p', kind: 'integer', describe: 'port to listen on; 0 picks a free one' },
    { option: 'lan', flag: 'lan', kind: 'boolean', describe: "bind the machine's LAN address, as the tutorial did" },
    {
      option: 'headerBytes',
      flag: 'header-bytes',
      kind: 'integer',
      describe: 'header size H, 4..1024 (both ends must agree)',
    },
    {
      option: 'maxMessageBytes',
      flag: 'max-message-bytes',
      kind: 'integer',
      describe: 'a larger declared length gets !ERROR TOO_LARGE',
    },
    {
      option: 'maxConnections',
      flag: 'max-connections',
      kind: 'integer',
      describe: 'open connections, all workers together; more get SERVER_FULL',
    },
    {
      option: 'maxConnectionsPerIp',
      flag: 'max-connections-per-ip',
      kind: 'integer',
      zero: 'no limit',
      describe:
        'open connections per client address (the real one behind a proxy), all workers together; more get SERVER_FULL',
    },
    {
      option: 'frameTimeoutMs',
      flag: 'frame-timeout',
      kind: 'seconds',
      describe: "seconds from a frame's first byte to its last",
    },
    {
      option: 'handshakeTimeoutMs',
      flag: 'handshake-timeout',
      kind: 'seconds',
      describe: 'with TLS or --proxy-protocol: seconds from accept to the end of the PROXY header and TLS handshake',
    },
    {
      option: 'idleTimeoutMs',
      flag: 'idle-timeout',
      kind: 'seconds',
      zero: 'never',
      describe: 'seconds without a complete frame',
    },
    {
      option: 'writeTimeoutMs',
      flag: 'write-timeout',
      kind: 'seconds',
      zero: 'never',
      describe: 'seconds a client may leave our bytes unread above the high-water mark; then SLOW_CONSUMER',
    },
    {
      option: 'workers',
      flag: 'workers',
      alias: 'w',
      kind: 'integer',
      defaultText: `available parallelism, ${SERVER_DEFAULTS.workers} here`,
      describe: 'worker threads',
    },
    {
      option: 'strategy',
      flag: 'strategy',
      kind: 'choice',
      choices: STRATEGIES,
      describe: 'handoff: acceptor + pool; reuseport: every worker listens; single: main thread only',
    },
    {
      option: 'mode',
      flag: 'mode',
      kind: 'choice',
      choices: MODES,
      describe: "ack: reply 'Msg received'; echo: reply the payload; chat: clients talk to each other in rooms",
    },
    {
      option: 'ack',
      flag: 'ack',
      kind: 'choice',
      choices: ACK_STYLES,
      describe: "raw: ack without a header, for the tutorial's own client",
    },
    {
      option: 'highWaterMarkBytes',
      flag: 'high-water-mark',
      kind: 'integer',
      describe: 'unsent reply bytes per connection above which reading pauses',
    },
    {
      option: 'bus',
      flag: 'bus',
      kind: 'string',
      describe:
        'chat: servers on one bus are one chat (rooms, !WHO, presence): redis://host:port, redis-cluster://host:port[,...] or nats://host:port[,...]',
    },
    {
      option: 'redis',
      flag: 'redis',
      kind: 'string',
      describe: 'chat: the old name of --bus for redis://host:port',
    },
    {
      option: 'maxPendingBytes',
      flag: 'max-pending-bytes',
      kind: 'integer',
      describe: 'chat: unsent bytes per connection above which it is closed with SLOW_CONSUMER',
    },
    { option: 'tlsCert', flag: 'tls-cert', kind: 'string', describe: 'PEM certificate (chain) file: serve TLS' },
    { option: 'tlsKey', flag: 'tls-key', kind: 'string', describe: 'PEM private key file of --tls-cert' },
    {
      option: 'proxyProtocol',
      flag: 'proxy-protocol',
      kind: 'boolean',
      describe: 'every connection starts with a PROXY protocol header (v1 or v2, as HAProxy send-proxy[-v2] sends)',
    },
    {
      option: 'proxyTrusted',
      flag: 'proxy-trusted',
      kind: 'list',
      item: 'string',
      describe: 'with --proxy-protocol: CIDRs of the proxies allowed to connect; any other peer is closed',
    },
    {
      option: 'metricsPort',
      flag: 'metrics-port',
      kind: 'integer',
      defaultText: 'off',
      describe: 'serve Prometheus metrics at /metrics on this port; 0 picks a free one',
    },
    {
      option: 'metricsHost',
      flag: 'metrics-host',
      kind: 'string',
      describe: 'address of the metrics endpoint (other than loopback: a warning)',
    },
    {
      option: 'logMessages',
      flag: 'log-messages',
      kind: 'boolean',
      describe: 'print [addr] message for every message',
    },
    {
      option: 'quiet',
      flag: 'quiet',
      alias: 'q',
      kind: 'boolean',
      describe: 'only start-up, errors and the final line',
    },
    { option: 'json', flag: 'json', kind: 'boolean', describe: 'structured log lines (pino JSON)' },
    {
      option: 'statsIntervalMs',
      flag: 'stats-interval',
      kind: 'seconds',
      zero: 'never',
      describe: 'seconds between stats lines while busy',
    },
  ],
  SERVER_DEFAULTS,
);

/** Pure argv -> options mapping (the programmatic startServer() takes the same object, less `lan`). */
export function serveOptionsFromArgs(argv: Record<string, unknown>): ServeOptions {
  return SERVE_FLAGS.toOptions(argv);
}

/** The machine's LAN address, found the way the tutorial did: gethostbyname(gethostname()). */
async function lanAddress(): Promise<string> {
  try {
    const { address } = await lookup(hostname(), { family: 4 });
    if (!address.startsWith('127.')) return address;
  } catch {
    // fall through to the interfaces
  }
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new NoLanAddressError('this machine has no LAN (non-loopback IPv4) address; use --host');
}

export const serveCommand: CommandModule = {
  command: 'serve',
  describe: 'Run the server: an acceptor hands each connection to a pool of worker threads',
  builder: (y: Argv) =>
    SERVE_FLAGS.build(y)
      .example('$0 serve', 'the tutorial server on 127.0.0.1:5050')
      .example('$0 serve --ack raw', "talk to the tutorial's original Python client")
      .example('$0 serve --lan --workers 4 --mode echo', 'echo server on the LAN address'),
  handler: async (argv) => {
    // Signal handlers go in before the server starts: a SIGUSR2 or SIGTERM that
    // arrives right after the [LISTENING] line must never find the default action.
    const signals = installSignals();
    try {
      const { lan, ...options } = serveOptionsFromArgs(argv);
      if (lan) options.host = await lanAddress();
      signals.serving(await startServer(options));
    } catch (err) {
      process.exit(
        reportCliFailure(err, {
          prefix: 'handoff',
          flags: SERVE_FLAGS,
          other: (e) => ({ text: describeStartError(e), status: 1 }),
        }),
      );
    }
  },
};

function describeStartError(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e.code === 'EADDRINUSE') return `cannot listen on ${e.address}:${e.port}: the address is already in use`;
  if (e.code === 'EADDRNOTAVAIL') return `cannot listen on ${e.address}: no such address on this machine`;
  if (e.code === 'EACCES') return `cannot listen on ${e.address}:${e.port}: permission denied`;
  return e.message ?? String(err);
}

/**
 * First SIGINT/SIGTERM: graceful stop, exit 0 within the deadline. Second: exit at once.
 * SIGUSR2: print the cumulative stats. Before the server is up, a stop signal exits at once.
 */
function installSignals(): { serving(server: RunningServer): void } {
  let server: RunningServer | undefined;
  let stopping = false;
  const onStop = () => {
    if (stopping || !server) process.exit(0);
    stopping = true;
    setTimeout(() => process.exit(0), EXIT_DEADLINE_MS).unref();
    server.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  // A request that arrives between the [LISTENING] line and serving() is answered right after it.
  let statsWanted = false;
  const printStats = () => {
    if (!server) {
      statsWanted = true;
      return;
    }
    const stats = server.stats();
    const line = server.options.json
      ? JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, event: 'stats', ...stats, msg: 'stats' })
      : `[STATS] ${stats.activeConnections} active, ${stats.totalConnections} served, ${stats.messages} messages, ${stats.deliveries} deliveries, ${stats.refusedConnections} refused`;
    process.stdout.write(`${line}\n`);
  };
  process.on('SIGUSR2', printStats);
  return {
    serving(running) {
      server = running;
      if (statsWanted) printStats();
    },
  };
}
