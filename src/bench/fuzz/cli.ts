/**
 * `npm run fuzz -- --inputs N [--seed S]`: generated inputs against a live server;
 * writes results/<date>-fuzz-<N>.{md,json} and exits 1 (with one line per
 * problem) on a crash, a wrong outcome or a connection left open.
 */
import { integer, choice } from '../../options/validators.ts';
import { STRATEGIES } from '../../server/options.ts';
import { runScript } from '../script.ts';
import { fuzzMarkdown } from './report.ts';
import { FUZZ_DEFAULTS, type FuzzOptions, fuzzProblems, runFuzz } from './run.ts';

type FuzzFlags = Omit<FuzzOptions, 'onProgress'>;
const DEFAULTS: FuzzFlags = { inputs: 10_000, ...FUZZ_DEFAULTS };

export function resolveFuzzOptions(input: Partial<FuzzFlags>): FuzzFlags {
  const get = <K extends keyof FuzzFlags>(name: K) => input[name] ?? DEFAULTS[name];
  return {
    inputs: integer('inputs', get('inputs'), 1, 1e9),
    seed: integer('seed', get('seed'), 0, 2 ** 32 - 1),
    concurrency: integer('concurrency', get('concurrency'), 1, 5_000),
    workers: integer('workers', get('workers'), 1, 256),
    strategy: choice('strategy', get('strategy'), STRATEGIES),
    headerBytes: integer('headerBytes', get('headerBytes'), 4, 1024),
    maxMessageBytes: integer('maxMessageBytes', get('maxMessageBytes'), 0, 2 ** 31 - 1),
    timeoutMs: integer('timeoutMs', get('timeoutMs'), 1, 3_600_000),
    closeDeadlineMs: integer('closeDeadlineMs', get('closeDeadlineMs'), 1, 3_600_000),
  };
}

await runScript<FuzzFlags, Awaited<ReturnType<typeof runFuzz>>>({
  name: 'fuzz',
  flags: [
    { option: 'inputs', flag: 'inputs', kind: 'count', describe: 'inputs to try, one connection each' },
    { option: 'seed', flag: 'seed', kind: 'integer', describe: 'seed: the same seed gives the same inputs' },
    { option: 'concurrency', flag: 'concurrency', kind: 'integer', describe: 'connections open at once' },
    { option: 'workers', flag: 'workers', kind: 'integer', describe: "the server's worker threads" },
    {
      option: 'strategy',
      flag: 'strategy',
      kind: 'choice',
      choices: STRATEGIES,
      describe: "the server's strategy",
    },
    { option: 'headerBytes', flag: 'header-bytes', kind: 'integer', describe: 'header size H' },
    { option: 'maxMessageBytes', flag: 'max-message-bytes', kind: 'integer', describe: "the server's size limit" },
    {
      option: 'timeoutMs',
      flag: 'timeout',
      kind: 'seconds',
      describe: "the server's --frame-timeout and --idle-timeout (truncated inputs wait for it)",
    },
  ],
  defaults: DEFAULTS,
  resolve: resolveFuzzOptions,
  run: (options) =>
    runFuzz({ ...options, onProgress: (done) => process.stderr.write(`fuzz: ${done} of ${options.inputs} inputs\n`) }),
  stem: (options) => `fuzz-${options.inputs}-seed-${options.seed}`,
  markdown: fuzzMarkdown,
  problems: fuzzProblems,
  summary: (r) =>
    `fuzz: ${r.inputs} inputs in ${r.durationS.toFixed(0)} s, ${r.crashes.length} crashes, ${r.wrong} wrong, ${r.leftOpen} left open`,
});
