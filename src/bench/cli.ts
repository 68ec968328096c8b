/**
 * `handoff bench` and `handoff compare`: yargs maps argv onto BenchOptions
 * (options.ts validates everything once); errors come out as one line and a
 * non-zero exit status, never a stack trace.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { HandoffError } from '../protocol/index.ts';
import { comparisonText, compareRuns, resolveSides, saveComparison } from './results/compare.ts';
import { InvalidOptionError, type BenchOptions, resolveBenchOptions } from './options.ts';
import { progressHooks } from './progress.ts';
import { describeMeasurement, summaryText } from './results/report.ts';
import { saveRun } from './results/saved-runs.ts';
import { runBench } from './load/run.ts';

const print = (text: string) => process.stderr.write(`${text}\n`);

/** One line for a user, and the exit status: 2 for a bad option, 1 for anything else that failed. */
function fail(command: string, err: unknown): void {
  if (err instanceof HandoffError) {
    process.stderr.write(`handoff ${command}: ${err.message}\n`);
    process.exitCode = err instanceof InvalidOptionError ? 2 : 1;
    return;
  }
  throw err;
}

interface BenchArgs {
  clients?: number;
  pipelining?: number;
  duration?: number;
  messages?: string;
  warmup?: number;
  sizes?: string[];
  'header-bytes'?: string[];
  mode?: string;
  rate?: string;
  workers?: number;
  label?: string;
  json?: boolean;
  out?: string;
  save?: boolean;
  target?: string;
  'server-workers'?: number;
  strategy?: string[];
  repeat?: number;
  timeout?: number;
  'connect-timeout'?: number;
  progress?: boolean;
  'server-command'?: string;
}

/** argv -> BenchOptions, pure: tests use it without running anything. */
export function benchOptionsFromArgv(argv: BenchArgs): BenchOptions {
  return {
    clients: argv.clients,
    pipelining: argv.pipelining,
    durationS: argv.duration,
    messages: argv.messages,
    warmupS: argv.warmup,
    sizes: argv.sizes === undefined ? undefined : argv.sizes.join(','),
    headerBytes: argv['header-bytes'] === undefined ? undefined : argv['header-bytes'].join(','),
    mode: argv.mode as BenchOptions['mode'],
    rate: argv.rate,
    workers: argv.workers,
    label: argv.label,
    json: argv.json,
    out: argv.save === false ? '' : argv.out,
    target: argv.target,
    serverWorkers: argv['server-workers'],
    strategies: argv.strategy === undefined ? undefined : argv.strategy.join(','),
    repeat: argv.repeat,
    timeoutS: argv.timeout,
    connectTimeoutS: argv['connect-timeout'],
    progress: argv.progress,
    serverCommand: argv['server-command'] ? argv['server-command'].split(' ').filter(Boolean) : undefined,
  };
}

export function benchBuilder(y: Argv): Argv<BenchArgs> {
  return y
    .usage('$0 bench [options]\n\nMeasure the server: msgs/s, latency and what the header costs, per payload size.')
    .option('clients', { alias: 'c', type: 'number', describe: 'concurrent connections (default 50)' })
    .option('pipelining', { alias: 'p', type: 'number', describe: 'messages in flight per connection (default 1)' })
    .option('duration', { alias: 'd', type: 'number', describe: 'seconds per measurement (default 5)' })
    .option('messages', {
      alias: 'n',
      type: 'string',
      describe: 'messages per measurement instead of a duration (10k, 1m)',
    })
    .option('warmup', { type: 'number', describe: 'seconds of load before each measurement, not counted (default 1)' })
    .option('sizes', {
      alias: 's',
      type: 'string',
      array: true,
      describe: 'payload sizes: 16,256,1k,4k,64k (default 16 B to 64 KiB by fours)',
    })
    .option('header-bytes', {
      type: 'string',
      array: true,
      describe: 'header size(s) to sweep, e.g. 64,8 (default 64)',
    })
    .option('mode', { type: 'string', choices: ['ack', 'echo'], describe: "what the server replies (default 'ack')" })
    .option('rate', {
      alias: 'r',
      type: 'string',
      describe: 'fixed total send rate, msgs/s (10k); latency counts from the schedule',
    })
    .option('workers', { alias: 'w', type: 'number', describe: 'load-generating threads (default: half the cores)' })
    .option('label', { type: 'string', describe: 'name of this run, in file names and reports' })
    .option('json', { type: 'boolean', describe: 'print the result as JSON on stdout, no progress bars' })
    .option('out', { type: 'string', describe: "folder for the saved run (default 'results')" })
    .option('save', { type: 'boolean', describe: 'save the run under --out (default true; --no-save)' })
    .option('target', { type: 'string', describe: 'host:port of a running server, instead of starting one' })
    .option('server-workers', { type: 'number', describe: "the embedded server's worker threads (default: all cores)" })
    .option('strategy', {
      type: 'string',
      array: true,
      describe: 'embedded server strategy: handoff, reuseport, single (several to compare)',
    })
    .option('repeat', {
      type: 'number',
      describe: 'rounds, interleaving strategies and header sizes A B A B (default 1)',
    })
    .option('timeout', {
      type: 'number',
      describe: 'seconds after which an unanswered message counts as a timeout (default 10)',
    })
    .option('connect-timeout', {
      type: 'number',
      describe: 'seconds after which connections not yet made are given up (default 10)',
    })
    .option('progress', { type: 'boolean', describe: 'progress bars on stderr when it is a terminal (default true)' })
    .option('server-command', { type: 'string', hidden: true, describe: 'command that starts the server (tests)' })
    .requiresArg([
      'clients',
      'pipelining',
      'duration',
      'messages',
      'warmup',
      'sizes',
      'header-bytes',
      'mode',
      'rate',
      'workers',
      'label',
      'out',
      'target',
      'server-workers',
      'strategy',
      'repeat',
      'timeout',
      'connect-timeout',
      'server-command',
    ])
    .example('$0 bench -c 500 -d 5 -s 16,1k,64k', 'the embedded server, three sizes')
    .example('$0 bench --header-bytes 64,8 --repeat 3', 'what the 64-byte header costs against an 8-byte one')
    .example('$0 bench --target 127.0.0.1:5050 -r 20k', 'a running server at a fixed rate');
}

export async function benchHandler(argv: ArgumentsCamelCase<BenchArgs>): Promise<void> {
  try {
    const options = resolveBenchOptions(benchOptionsFromArgv(argv));
    const hooks = progressHooks(options, print);
    if (!options.json) {
      const base = hooks.onMeasurementEnd?.bind(hooks);
      hooks.onMeasurementEnd = (plan, m) => {
        base?.(plan, m);
        process.stdout.write(`${describeMeasurement(m)}\n\n`);
      };
    }
    const result = await runBench(options, hooks);
    let saved: Awaited<ReturnType<typeof saveRun>> | null = null;
    if (options.out) saved = await saveRun(result, options.out);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      process.stdout.write(`${summaryText(result)}\n`);
      if (saved) process.stdout.write(`\nsaved ${saved.json}\n      ${saved.markdown}\n      ${saved.svg}\n`);
    }
  } catch (err) {
    fail('bench', err);
  }
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: 'bench',
  describe: 'load-test the server (embedded, or --target host:port)',
  builder: benchBuilder,
  handler: benchHandler,
};

interface CompareArgs {
  runs: string[];
  out?: string;
  save?: boolean;
  json?: boolean;
}

export const compareCommand: CommandModule<object, CompareArgs> = {
  command: 'compare <runs..>',
  describe: 'compare two saved bench runs (files, a results folder, or one run with two variants)',
  builder: (y: Argv) =>
    y
      .positional('runs', { type: 'string', array: true, describe: 'A.json B.json | results/ | run.json' })
      .option('out', { type: 'string', default: 'results', describe: 'folder for the comparison (markdown + SVG)' })
      .option('save', { type: 'boolean', default: true, describe: 'write the comparison files (--no-save)' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'print the comparison as JSON',
      }) as unknown as Argv<CompareArgs>,
  handler: async (argv) => {
    try {
      const [a, b] = await resolveSides(argv.runs);
      const comparison = compareRuns(a, b);
      const files = argv.save && argv.out ? await saveComparison(comparison, argv.out) : null;
      if (argv.json) process.stdout.write(`${JSON.stringify(comparison)}\n`);
      else {
        process.stdout.write(`${comparisonText(comparison)}\n`);
        if (files) process.stdout.write(`\nsaved ${files.markdown}\n      ${files.svg}\n`);
      }
    } catch (err) {
      fail('compare', err);
    }
  },
};
