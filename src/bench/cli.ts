/**
 * `handoff bench` and `handoff compare`. Each command is one flag table
 * (defineFlags): the yargs options, the help with its defaults, the argv ->
 * options mapping and the flag names in error messages all come from it. The
 * mapping is pure and exported, so tests parse argv without running anything.
 * Errors come out as one line and a non-zero exit status, never a stack trace.
 */
import type { Argv, CommandModule } from 'yargs';
import { reportCliFailure } from '../options/cli-failure.ts';
import { defineFlags, type FlagRow, type FlagTable } from '../options/flags.ts';
import {
  escapeOptionText,
  HandoffError,
  IncomparableRunsError,
  InvalidOptionError,
  OutputClosedError,
  TargetLookupError,
} from '../protocol/index.ts';
import { MODES, STRATEGIES } from '../server/options.ts';
import { BENCH_BUSES, TARGET_KINDS } from './results/chat-result.ts';
import {
  BENCH_DEFAULTS,
  type BenchOptions,
  resolveBenchOptions,
  type ResolvedBenchOptions,
  TRANSPORTS,
} from './options.ts';
import { type LiveView, liveView } from './progress.ts';
import {
  COMPARE_DEFAULTS,
  type CompareOptions,
  comparisonText,
  compareRuns,
  resolveCompareOptions,
  resolveSides,
  type ResolvedCompareOptions,
  saveComparison,
} from './results/compare.ts';
import { describeMeasurement, summaryText } from './results/report.ts';
import { type AnyResult, isChatResult, saveRun } from './results/saved-runs.ts';
import { describeChatMeasurement, chatSummaryText } from './results/chat-report.ts';
import { conclusionText } from './results/conclusion.ts';
import { saturationLines, type TesterLoad } from './results/saturation.ts';
import { runResolved } from './index.ts';

/** One line for a user, and the exit status: 2 for a bad option, 1 for anything else that failed. */
export function fail<O>(command: string, flags: FlagTable<O>, err: unknown): void {
  process.exitCode = reportCliFailure(err, {
    prefix: `handoff ${command}`,
    flags,
    other: (e) =>
      e instanceof HandoffError
        ? // Runs that cannot be compared as given are a usage error, like a bad option.
          { text: e.message, status: e instanceof IncomparableRunsError ? 2 : 1 }
        : null,
  });
}

// ---------------------------------------------------------------------------
// handoff bench

/**
 * What the bench flags set: the API's options, `--no-save` (which empties
 * `out`), `--on-port` (a switch: the command comes after `--`) and
 * `--payload-json` (JSON text, parsed here).
 */
type BenchFlagOptions = Omit<BenchOptions, 'onPort' | 'payloadJson'> & {
  save?: boolean;
  onPort?: boolean;
  payloadJson?: string;
};

/** Chat mode's own flags, plain ones a line each: [option, flag, kind, what it does]. */
const CHAT_ROWS: Array<FlagRow<BenchFlagOptions>> = (
  [
    ['senders', 'senders', 'integer', 'connections that send (of --clients)'],
    ['rooms', 'rooms', 'integer', 'rooms the connections are spread over'],
    ['window', 'window', 'integer', 'unacknowledged messages per sender (closed loop; the cap with --rate)'],
    [
      'natsPingEvery',
      'nats-ping-every',
      'integer',
      "NATS: a sender's PING after every this many messages (its PONG acks)",
    ],
    ['servers', 'servers', 'integer', "handoff servers on --bus, each room's members spread over them"],
    ['redis', 'redis', 'boolean', 'the old spelling of --bus redis (with --servers 2 unless given)'],
    ['natsServer', 'nats-server', 'string', 'the nats-server program'],
    ['redisServer', 'redis-server', 'string', 'the redis-server program'],
    ['redisCli', 'redis-cli', 'string', "the redis-cli program (joins the Redis Cluster's masters)"],
  ] as const
).map(([option, flag, kind, describe]) => ({ option, flag, kind, describe: `chat: ${describe}` }));

/** `--bus`: a choice, so a row of its own. */
const BUS_ROW: FlagRow<BenchFlagOptions> = {
  option: 'bus',
  flag: 'bus',
  kind: 'choice',
  choices: BENCH_BUSES,
  describe:
    'chat: what joins the --servers, started here on loopback: local (one server alone), redis, ' +
    'redis-cluster (3 masters, sharded pub/sub), nats (3 routed nodes)',
};

/** Every flag of `handoff bench`. */
export const BENCH_FLAGS = defineFlags<BenchFlagOptions>(
  [
    {
      option: 'clients',
      flag: 'clients',
      alias: 'c',
      kind: 'list',
      item: 'integer',
      describe: 'concurrent connections (chat: senders included; several sweep them, e.g. 20,110,510)',
    },
    {
      option: 'pipelining',
      flag: 'pipelining',
      alias: 'p',
      kind: 'integer',
      describe: 'messages in flight per connection',
    },
    { option: 'durationS', flag: 'duration', alias: 'd', kind: 'number', describe: 'seconds per measurement' },
    {
      option: 'amount',
      flag: 'amount',
      alias: 'a',
      kind: 'count',
      describe: 'exactly this many messages per measurement, over all connections, then stop (no warm-up)',
    },
    {
      option: 'bailout',
      flag: 'bailout',
      alias: 'b',
      kind: 'count',
      zero: 'never',
      describe: 'stop the run once a measurement has had this many errors',
    },
    {
      option: 'messages',
      flag: 'messages',
      alias: 'n',
      kind: 'count',
      describe: 'messages per measurement instead of a duration (10k, 1m)',
    },
    {
      option: 'warmupS',
      flag: 'warmup',
      kind: 'number',
      describe: 'seconds of load before each measurement, not counted',
    },
    {
      option: 'sizes',
      flag: 'sizes',
      alias: 's',
      kind: 'list',
      item: 'size',
      describe: 'payload sizes, with units: 16,256,1k,4k,64k',
    },
    {
      option: 'headerBytes',
      flag: 'header-bytes',
      kind: 'list',
      item: 'integer',
      describe: 'header size(s) to sweep, e.g. 64,8',
    },
    {
      option: 'mode',
      flag: 'mode',
      kind: 'choice',
      choices: MODES,
      describe: 'what the server replies; chat: senders and receivers in rooms, deliveries/s and delivery latency',
    },
    {
      option: 'rate',
      flag: 'rate',
      alias: 'r',
      kind: 'count',
      zero: 'closed loop',
      describe: 'fixed total send rate, msgs/s (10k); latency counts from the schedule',
    },
    {
      option: 'connectionRate',
      flag: 'connection-rate',
      kind: 'count',
      describe: 'send rate of each connection, msgs/s (instead of --rate, the total)',
    },
    {
      option: 'payloadFile',
      flag: 'payload-file',
      kind: 'string',
      describe: 'payloads to send round-robin instead of synthetic ones: one per line, or a JSON array of strings',
    },
    {
      option: 'payloadJson',
      flag: 'payload-json',
      kind: 'string',
      describe: 'a JSON object to send (an array of objects: round-robin), instead of synthetic payloads',
    },
    {
      option: 'onPort',
      flag: 'on-port',
      kind: 'boolean',
      describe: 'start the server command after --, its port in $PORT; measure it, then stop it',
    },
    {
      option: 'workers',
      flag: 'workers',
      alias: 'w',
      kind: 'integer',
      defaultText: 'half the cores',
      describe: 'load-generating threads',
    },
    { option: 'label', flag: 'label', kind: 'string', describe: 'name of this run, in file names and reports' },
    { option: 'json', flag: 'json', kind: 'boolean', describe: 'print the result as JSON on stdout, no progress bars' },
    { option: 'out', flag: 'out', kind: 'string', describe: 'folder for the saved run' },
    { option: 'save', flag: 'save', kind: 'boolean', describe: 'save the run under --out (--no-save: do not)' },
    {
      option: 'target',
      flag: 'target',
      kind: 'string',
      describe: 'host:port of a running server, instead of starting one',
    },
    {
      option: 'serverWorkers',
      flag: 'server-workers',
      kind: 'list',
      item: 'integer',
      defaultText: 'all cores',
      describe: "the embedded server's worker threads (chat: several, e.g. 1,2, are variants of one run)",
    },
    {
      option: 'strategies',
      flag: 'strategy',
      kind: 'list',
      item: 'choice',
      choices: STRATEGIES,
      describe: 'embedded server strategy; several to compare',
    },
    {
      option: 'tls',
      flag: 'tls',
      kind: 'boolean',
      describe: 'speak TLS (an embedded server gets a throw-away certificate)',
    },
    {
      option: 'transports',
      flag: 'transports',
      kind: 'list',
      item: 'choice',
      choices: TRANSPORTS,
      describe: 'tcp, tls, or tcp,tls: both taking turns in every round (what TLS costs)',
    },
    { option: 'ca', flag: 'ca', kind: 'string', describe: 'with --tls and --target: PEM file of the CAs to trust' },
    {
      option: 'repeat',
      flag: 'repeat',
      kind: 'integer',
      describe: 'rounds, interleaving strategies and header sizes A B A B',
    },
    {
      option: 'timeoutS',
      flag: 'timeout',
      kind: 'number',
      describe: 'seconds after which an unanswered message counts as a timeout (chat: the drain gives up)',
    },
    {
      option: 'connectTimeoutS',
      flag: 'connect-timeout',
      kind: 'number',
      describe: 'seconds after which connections not yet made are given up (and counted)',
    },
    {
      option: 'progress',
      flag: 'progress',
      kind: 'boolean',
      describe: 'progress bars on stderr when it is a terminal',
    },
    {
      option: 'churn',
      flag: 'churn',
      kind: 'list',
      item: 'integer',
      defaultText: 'off',
      describe:
        'connection churn: each connection sends K messages, closes and reconnects at once (1: a connection per message); several sweep, e.g. 1,100',
    },
    {
      option: 'targetKinds',
      flag: 'target-kind',
      kind: 'list',
      item: 'choice',
      choices: TARGET_KINDS,
      describe: 'chat: what to measure, started here (or the kind of --target); several are one interleaved run',
    },
    ...CHAT_ROWS,
    BUS_ROW,
    {
      option: 'serverCommand',
      flag: 'server-command',
      kind: 'list',
      hidden: true,
      describe: 'command that starts the server (tests)',
    },
  ],
  { ...BENCH_DEFAULTS, save: true },
);

/**
 * Pure argv -> options mapping: the flags given, in API units, validated and
 * resolved (runBench takes the same object). Throws InvalidOptionError naming
 * the API option (`clients`); BENCH_FLAGS.describeError() words it in flags.
 */
export function benchOptionsFromArgv(argv: Readonly<Record<string, unknown>>): ResolvedBenchOptions {
  const { save, onPort, payloadJson, ...flags } = BENCH_FLAGS.toOptions(argv);
  const options: BenchOptions = { ...flags };
  if (save === false) options.out = '';
  const afterDashes = ((argv['--'] as unknown[] | undefined) ?? []).map(String);
  if (onPort) options.onPort = afterDashes;
  else if (afterDashes.length > 0) {
    throw new InvalidOptionError('onPort', `a command after -- (${escapeOptionText(afterDashes[0]!)}) needs {onPort}`);
  }
  if (payloadJson !== undefined) options.payloadJson = parseJsonFlag(payloadJson);
  return resolveBenchOptions(options);
}

/** `--payload-json`'s text as a JSON value, or one line saying why not. */
function parseJsonFlag(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidOptionError(
      'payloadJson',
      `{payloadJson} is not JSON: ${escapeOptionText((err as Error).message)}`,
    );
  }
}

export function benchBuilder(y: Argv): Argv {
  return BENCH_FLAGS.build(
    y
      .parserConfiguration({ 'populate--': true })
      .usage(
        '$0 bench [options]\n\nMeasure the server: msgs/s, latency and what the header costs, per payload size; ' +
          'with --mode chat, deliveries/s, delivery latency, order and loss in rooms (handoff, NATS, Redis).',
      ),
  )
    .example('$0 bench -c 500 -d 5 -s 16,1k,64k', 'the embedded server, three sizes')
    .example('$0 bench --header-bytes 64,8 --repeat 3', 'what the 64-byte header costs against an 8-byte one')
    .example('$0 bench --target 127.0.0.1:5050 -r 20k', 'a running server at a fixed rate')
    .example(
      '$0 bench -c 10 -a 100k --on-port -- python3 server.py',
      'your own server (port in $PORT): 100,000 messages',
    )
    .example('$0 bench --target :5050 --payload-file msgs.txt', "the file's lines as the payloads, round-robin")
    .example(
      '$0 bench --mode chat -c 510 --senders 10 -s 16 --target-kind handoff,nats,redis --repeat 3',
      'one room of 500 receivers and 10 senders: handoff, nats-server and redis-server in turn',
    )
    .example('$0 bench --mode chat -c 20,110,510 --server-workers 1,2 -r 1000', 'a receivers sweep at 1,000 msgs/s');
}

/** Notices when nobody reads stdout any more (the `| head` it fed has ended). */
interface StdoutWatch {
  /** Throws OutputClosedError once stdout is closed; `where` says how far the run got. */
  check(where: string): void;
  /** Writes `text`; resolves once it is written or has failed (then check() throws). */
  write(text: string): Promise<void>;
  closed(): boolean;
}

function watchStdout(stream: NodeJS.WriteStream = process.stdout): StdoutWatch {
  let closed = false;
  // EPIPE comes as an error event after the write: without a listener it would end the
  // process with a stack trace and leave the embedded server running.
  stream.on('error', () => (closed = true));
  return {
    check(where) {
      if (closed) {
        throw new OutputClosedError(
          `stdout was closed (a pipe such as | head ended): the run stopped ${where}; nothing saved`,
        );
      }
    },
    closed: () => closed,
    write: (text) =>
      new Promise((resolve) =>
        stream.write(text, (err) => {
          if (err) closed = true;
          resolve();
        }),
      ),
  };
}

/** The one stderr line for a saturated measurement of a --json run (which prints no reports). */
function saturationWarningLine(m: { key: string; tester: TesterLoad & { saturated: boolean } }): string | null {
  if (!m.tester.saturated) return null;
  return `${m.key}: ${saturationLines(m.tester)
    .map((line) => line.trim())
    .join('; ')}`;
}

/**
 * Runs the bench the options describe (ack/echo or chat), printing each
 * measurement above the bars as it ends; stops before the next one once stdout is closed.
 */
async function runWithReports(options: ResolvedBenchOptions, view: LiveView, stdout: StdoutWatch): Promise<AnyResult> {
  const hooks = view.hooks;
  const started = hooks.onMeasurementStart?.bind(hooks);
  const ended = hooks.onMeasurementEnd?.bind(hooks);
  const describe = (options.mode === 'chat' ? describeChatMeasurement : describeMeasurement) as (m: unknown) => string;
  let done = 0;
  hooks.onMeasurementStart = (plan) => {
    stdout.check(`after ${done} of ${plan.total} measurements`);
    started?.(plan);
  };
  // Phases change inside the measurement's own async code: a throw there ends the measurement
  // under way, and the run, as any failure of it does (servers stopped, threads ended).
  const phase = hooks.onPhase?.bind(hooks);
  hooks.onPhase = (plan, next) => {
    stdout.check(`after ${done} of ${plan.total} measurements`);
    phase?.(plan, next);
  };
  hooks.onMeasurementEnd = (plan, m) => {
    ended?.(plan, m);
    done += 1;
    if (!options.json) view.report(`${describe(m)}\n`);
    else {
      const warning = saturationWarningLine(m as Parameters<typeof saturationWarningLine>[0]);
      if (warning) hooks.onWarning?.(warning);
    }
  };
  return runResolved(options, hooks);
}

async function benchHandler(argv: Readonly<Record<string, unknown>>): Promise<void> {
  let view: LiveView | null = null;
  try {
    const options = benchOptionsFromArgv(argv);
    view = liveView(options);
    const stdout = watchStdout();
    const result = await runWithReports(options, view, stdout);
    view.close();
    stdout.check('after its last measurement');
    // The summary first, the run saved only once it has been written: a run whose output
    // nobody read is not filed away unseen.
    if (options.json) await stdout.write(`${JSON.stringify(result)}\n`);
    else {
      const conclusion = conclusionText(result);
      const summary = isChatResult(result) ? chatSummaryText(result) : summaryText(result);
      await stdout.write(`${summary}\n${conclusion ? `\n${conclusion}\n` : ''}`);
    }
    stdout.check('after its last measurement');
    if (options.out) {
      const saved = await saveRun(result, options.out);
      if (!options.json) await stdout.write(`\nsaved ${saved.json}\n      ${saved.markdown}\n      ${saved.svg}\n`);
      // The reader left between the summary and here: too late to unsave, so say where it went.
      if (stdout.closed())
        process.stderr.write(`handoff bench: stdout was closed; the run is saved as ${saved.json}\n`);
    }
  } catch (err) {
    view?.close();
    fail('bench', BENCH_FLAGS, err);
    // A lookup the resolver never answers would hold the process until it gives up (a minute or more).
    if (err instanceof TargetLookupError) process.exit();
  }
}

export const benchCommand: CommandModule = {
  command: 'bench',
  describe: 'load-test the server (embedded, or --target host:port)',
  builder: benchBuilder,
  handler: benchHandler,
};

// ---------------------------------------------------------------------------
// handoff compare

/** Every flag of `handoff compare` (the runs are its positional arguments). */
export const COMPARE_FLAGS = defineFlags<CompareOptions>(
  [
    { option: 'out', flag: 'out', kind: 'string', describe: 'folder for the comparison (markdown + SVG)' },
    { option: 'save', flag: 'save', kind: 'boolean', describe: 'write the comparison files (--no-save: do not)' },
    { option: 'json', flag: 'json', kind: 'boolean', describe: 'print the comparison as JSON' },
    {
      option: 'force',
      flag: 'force',
      kind: 'boolean',
      describe: 'compare runs whose load differs (clients, rate, ...); every line then says what differs',
    },
  ],
  COMPARE_DEFAULTS,
);

/** Pure argv -> compare options, validated; InvalidOptionError names the API option. */
export function compareOptionsFromArgv(argv: Readonly<Record<string, unknown>>): ResolvedCompareOptions {
  return resolveCompareOptions({ ...COMPARE_FLAGS.toOptions(argv), runs: argv.runs as CompareOptions['runs'] });
}

export function compareBuilder(y: Argv): Argv {
  return COMPARE_FLAGS.build(
    y.positional('runs', {
      type: 'string',
      array: true,
      describe: 'A.json B.json | A.json#h64 B.json#h8 | results/ | run.json (its two variants)',
    }),
  );
}

export const compareCommand: CommandModule = {
  command: 'compare <runs..>',
  describe: 'compare two saved bench runs (files, a results folder, or one run with two variants)',
  builder: compareBuilder,
  handler: async (argv) => {
    try {
      const options = compareOptionsFromArgv(argv);
      const [a, b] = await resolveSides(options.runs);
      const comparison = compareRuns(a, b, { force: options.force });
      const files = options.save && options.out ? await saveComparison(comparison, options.out) : null;
      if (options.json) process.stdout.write(`${JSON.stringify(comparison)}\n`);
      else {
        process.stdout.write(`${comparisonText(comparison)}\n`);
        if (files) process.stdout.write(`\nsaved ${files.markdown}\n      ${files.svg}\n`);
      }
    } catch (err) {
      fail('compare', COMPARE_FLAGS, err);
    }
  },
};
