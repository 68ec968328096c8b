import { lookup } from 'node:dns/promises';
import { hostname, networkInterfaces } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { HandoffError, InvalidOptionError } from '../protocol/index.ts';
import { secondsToMs } from '../options/validators.ts';
import { ACK_STYLES, MODES, SERVER_DEFAULTS, type ServerOptions, STRATEGIES } from './options.ts';
import { type RunningServer, startServer } from './server.ts';

/** The exit deadline PROTOCOL.md gives for SIGINT/SIGTERM. */
const EXIT_DEADLINE_MS = 4_800;

export interface ServeArgs {
  host: string;
  port: number;
  lan: boolean;
  'header-bytes': number;
  'max-message-bytes': number;
  'max-connections': number;
  'frame-timeout': number;
  'idle-timeout': number;
  workers: number;
  strategy: string;
  mode: string;
  ack: string;
  'high-water-mark': number;
  'log-messages': boolean;
  quiet: boolean;
  json: boolean;
  'stats-interval': number;
}

/** The flag a user typed for each option, so that errors name what they can change. */
const FLAG_OF: Record<string, string> = {
  host: '--host',
  port: '--port',
  headerBytes: '--header-bytes',
  maxMessageBytes: '--max-message-bytes',
  maxConnections: '--max-connections',
  frameTimeoutMs: '--frame-timeout',
  idleTimeoutMs: '--idle-timeout',
  workers: '--workers',
  strategy: '--strategy',
  mode: '--mode',
  ack: '--ack',
  highWaterMarkBytes: '--high-water-mark',
  statsIntervalMs: '--stats-interval',
};

/** Pure argv -> ServerOptions mapping (the programmatic API takes the same object). */
export function serveOptionsFromArgs(args: ServeArgs): ServerOptions {
  return {
    host: args.host,
    port: args.port,
    headerBytes: args['header-bytes'],
    maxMessageBytes: args['max-message-bytes'],
    maxConnections: args['max-connections'],
    frameTimeoutMs: secondsToMs('frameTimeoutMs', args['frame-timeout']),
    idleTimeoutMs: secondsToMs('idleTimeoutMs', args['idle-timeout'], 'never'),
    workers: args.workers,
    strategy: args.strategy as ServerOptions['strategy'],
    mode: args.mode as ServerOptions['mode'],
    ack: args.ack as ServerOptions['ack'],
    highWaterMarkBytes: args['high-water-mark'],
    logMessages: args['log-messages'],
    quiet: args.quiet,
    json: args.json,
    statsIntervalMs: secondsToMs('statsIntervalMs', args['stats-interval'], 'never'),
  };
}

/** The machine's LAN address, found the way the tutorial did: gethostbyname(gethostname()). */
export async function lanAddress(): Promise<string> {
  try {
    const { address } = await lookup(hostname(), { family: 4 });
    if (!address.startsWith('127.')) return address;
  } catch {
    // fall through to the interfaces
  }
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new HandoffError('ERR_NO_LAN_ADDRESS', 'this machine has no LAN (non-loopback IPv4) address; use --host');
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'Run the server: an acceptor hands each connection to a pool of worker threads',
  builder: (y: Argv) =>
    y
      .option('host', {
        type: 'string',
        default: SERVER_DEFAULTS.host,
        describe: 'address to bind (0.0.0.0: every interface)',
      })
      .option('port', {
        type: 'number',
        default: SERVER_DEFAULTS.port,
        describe: 'port to listen on; 0 picks a free one',
      })
      .option('lan', {
        type: 'boolean',
        default: false,
        describe: "bind the machine's LAN address, as the tutorial did",
      })
      .option('header-bytes', {
        type: 'number',
        default: SERVER_DEFAULTS.headerBytes,
        describe: 'header size H, 4..1024 (both ends must agree)',
      })
      .option('max-message-bytes', {
        type: 'number',
        default: SERVER_DEFAULTS.maxMessageBytes,
        describe: 'larger messages get !ERROR TOO_LARGE',
      })
      .option('max-connections', {
        type: 'number',
        default: SERVER_DEFAULTS.maxConnections,
        describe: 'open connections, all workers together; more get SERVER_FULL',
      })
      .option('frame-timeout', {
        type: 'number',
        default: SERVER_DEFAULTS.frameTimeoutMs / 1000,
        describe: "seconds from a frame's first byte to its last",
      })
      .option('idle-timeout', {
        type: 'number',
        default: SERVER_DEFAULTS.idleTimeoutMs / 1000,
        describe: 'seconds without a complete frame; 0 = never',
      })
      .option('workers', { alias: 'w', type: 'number', default: SERVER_DEFAULTS.workers, describe: 'worker threads' })
      .option('strategy', {
        choices: STRATEGIES,
        default: SERVER_DEFAULTS.strategy,
        describe: 'handoff: acceptor + pool; reuseport: every worker listens; single: main thread only',
      })
      .option('mode', {
        choices: MODES,
        default: SERVER_DEFAULTS.mode,
        describe: "ack: reply 'Msg received'; echo: reply the payload",
      })
      .option('ack', {
        choices: ACK_STYLES,
        default: SERVER_DEFAULTS.ack,
        describe: "raw: ack without a header, for the tutorial's own client",
      })
      .option('high-water-mark', {
        type: 'number',
        default: SERVER_DEFAULTS.highWaterMarkBytes,
        describe: 'unsent reply bytes per connection above which reading pauses',
      })
      .option('log-messages', { type: 'boolean', default: false, describe: 'print [addr] message for every message' })
      .option('quiet', {
        alias: 'q',
        type: 'boolean',
        default: false,
        describe: 'only start-up, errors and the final line',
      })
      .option('json', { type: 'boolean', default: false, describe: 'structured log lines (pino JSON)' })
      .option('stats-interval', {
        type: 'number',
        default: SERVER_DEFAULTS.statsIntervalMs / 1000,
        describe: 'seconds between stats lines while busy; 0 = never',
      })
      .requiresArg([
        'host',
        'port',
        'header-bytes',
        'max-message-bytes',
        'max-connections',
        'frame-timeout',
        'idle-timeout',
        'workers',
        'strategy',
        'mode',
        'ack',
        'high-water-mark',
        'stats-interval',
      ])
      .example('$0 serve', 'the tutorial server on 127.0.0.1:5050')
      .example('$0 serve --ack raw', "talk to the tutorial's original Python client")
      .example('$0 serve --lan --workers 4 --mode echo', 'echo server on the LAN address'),
  handler: async (args) => {
    // Signal handlers go in before the server starts: a SIGUSR2 or SIGTERM that
    // arrives right after the [LISTENING] line must never find the default action.
    const signals = installSignals();
    try {
      const options = serveOptionsFromArgs(args);
      if (args.lan) options.host = await lanAddress();
      signals.serving(await startServer(options));
    } catch (err) {
      process.stderr.write(`handoff: ${describeStartError(err)}\n`);
      process.exit(err instanceof InvalidOptionError ? 2 : 1);
    }
  },
};

function describeStartError(err: unknown): string {
  if (err instanceof InvalidOptionError) {
    const flag = FLAG_OF[err.option];
    return flag ? err.message.replace(err.option, flag) : err.message;
  }
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
      : `[STATS] ${stats.activeConnections} active, ${stats.totalConnections} served, ${stats.messages} messages, ${stats.refusedConnections} refused`;
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
