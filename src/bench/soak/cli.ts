/**
 * `npm run soak -- --minutes N`: 500 clients for N minutes with random
 * disconnects and reconnects; writes results/<date>-soak-<N>min-<clients>.{md,json}
 * and exits 1 (one line per failed check) if a message was lost or duplicated,
 * descriptors or RSS trended upward, or p99 drifted by more than 2x.
 */
import { choice, integer, number } from '../../options/validators.ts';
import { runScript } from '../script.ts';
import { soakMarkdown } from './report.ts';
import { runSoak, SOAK_DEFAULTS, type SoakOptions, soakProblems, type SoakReport } from './run.ts';
import { STRATEGIES } from '../../server/options.ts';

export function resolveSoakOptions(input: Partial<SoakOptions>): SoakOptions {
  const get = <K extends keyof SoakOptions>(name: K) => input[name] ?? SOAK_DEFAULTS[name];
  return {
    minutes: number('minutes', get('minutes'), 0.01, 24 * 60),
    clients: integer('clients', get('clients'), 1, 100_000),
    threads: integer('threads', get('threads'), 1, 64),
    workers: integer('workers', get('workers'), 1, 256),
    strategy: choice('strategy', get('strategy'), STRATEGIES),
    sizeBytes: integer('sizeBytes', get('sizeBytes'), 0, 1024 * 1024),
    meanLifetimeS: number('meanLifetimeS', get('meanLifetimeS'), 0.01, 86_400),
    seed: integer('seed', get('seed'), 0, 2 ** 31 - 1),
    sampleEveryS: number('sampleEveryS', get('sampleEveryS'), 0, 3600),
    fdTolerance: number('fdTolerance', get('fdTolerance'), 0, 100),
    fdSlack: integer('fdSlack', get('fdSlack'), 0, 1_000_000),
    rssTolerance: number('rssTolerance', get('rssTolerance'), 0, 100),
    p99Factor: number('p99Factor', get('p99Factor'), 1, 1000),
  };
}

await runScript<SoakOptions, SoakReport>({
  name: 'soak',
  flags: [
    { option: 'minutes', flag: 'minutes', kind: 'number', describe: 'how long the load runs' },
    { option: 'clients', flag: 'clients', kind: 'integer', describe: 'connections open at all times' },
    { option: 'threads', flag: 'threads', kind: 'integer', describe: 'load threads' },
    { option: 'workers', flag: 'workers', kind: 'integer', describe: "the server's worker threads" },
    { option: 'strategy', flag: 'strategy', kind: 'choice', choices: STRATEGIES, describe: "the server's strategy" },
    { option: 'sizeBytes', flag: 'size', kind: 'size', describe: 'payload bytes per message' },
    {
      option: 'meanLifetimeS',
      flag: 'mean-lifetime',
      kind: 'number',
      describe: 'mean seconds a connection lives before it leaves and comes back',
    },
    { option: 'seed', flag: 'seed', kind: 'integer', describe: 'seed of the comings and goings' },
    {
      option: 'sampleEveryS',
      flag: 'sample-every',
      kind: 'number',
      describe: 'seconds between samples; 0: 40 per run',
    },
    { option: 'rssTolerance', flag: 'rss-tolerance', kind: 'number', describe: 'RSS growth allowed, a share' },
    { option: 'fdTolerance', flag: 'fd-tolerance', kind: 'number', describe: 'descriptor growth allowed, a share' },
    { option: 'p99Factor', flag: 'p99-factor', kind: 'number', describe: 'p99 drift allowed, a factor' },
  ],
  defaults: SOAK_DEFAULTS,
  resolve: resolveSoakOptions,
  run: (options) => runSoak(options, (line) => process.stderr.write(`${line}\n`)),
  stem: (options) => `soak-${options.minutes}min-${options.clients}-clients`,
  markdown: soakMarkdown,
  problems: soakProblems,
  summary: (r) =>
    `soak: ${r.counts.clientSent} messages in ${r.durationS.toFixed(0)} s, server counted ${r.counts.serverMessages}; ${r.checks.filter((c) => !c.ok).length} failed check(s)`,
});
