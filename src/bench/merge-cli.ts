/**
 * `handoff merge` (npm run bench:merge): runs of one scenario from several load
 * machines made into one saved run (results/merge.ts). One flag table, like
 * the other commands; errors come out as one line and a non-zero exit status.
 */
import type { CommandModule } from 'yargs';
import { defineFlags } from '../options/flags.ts';
import { boolean, text } from '../options/validators.ts';
import { InvalidOptionError } from '../protocol/index.ts';
import { fail } from './cli.ts';
import { mergeRuns, type NamedRun } from './results/merge.ts';
import { summaryText } from './results/report.ts';
import { readResult, saveRun } from './results/saved-runs.ts';
import path from 'node:path';

export interface MergeOptions {
  /** The saved runs (JSON files) to merge: two or more. */
  runs: readonly string[];
  /** Name of the merged run (default: the runs' labels joined). */
  label?: string;
  /** Folder for the merged run; written unless `save` is false. */
  out?: string;
  save?: boolean;
  /** Print the merged run as JSON. */
  json?: boolean;
}

type ResolvedMergeOptions = Readonly<Required<MergeOptions>>;

const MERGE_DEFAULTS = Object.freeze({ label: '', out: 'results', save: true, json: false });

export const MERGE_FLAGS = defineFlags<MergeOptions>(
  [
    { option: 'label', flag: 'label', kind: 'string', describe: 'name of the merged run, in file names and reports' },
    { option: 'out', flag: 'out', kind: 'string', describe: 'folder for the merged run' },
    { option: 'save', flag: 'save', kind: 'boolean', describe: 'save the merged run under --out (--no-save: do not)' },
    { option: 'json', flag: 'json', kind: 'boolean', describe: 'print the merged run as JSON' },
  ],
  MERGE_DEFAULTS,
);

/** Validates every field once, naming the option, and fills in defaults. */
function resolveMergeOptions(options: MergeOptions): ResolvedMergeOptions {
  const runs: unknown = options.runs;
  if (!Array.isArray(runs) || runs.length < 2) {
    throw new InvalidOptionError('runs', '{runs} needs two saved runs or more (one per load machine)');
  }
  return Object.freeze({
    runs: Object.freeze(runs.map((run) => text('runs', run, { nonEmpty: true }))),
    label: text('label', options.label ?? MERGE_DEFAULTS.label, { oneLine: true }),
    out: text('out', options.out ?? MERGE_DEFAULTS.out),
    save: boolean('save', options.save ?? MERGE_DEFAULTS.save),
    json: boolean('json', options.json ?? MERGE_DEFAULTS.json),
  });
}

function mergeOptionsFromArgv(argv: Readonly<Record<string, unknown>>): ResolvedMergeOptions {
  return resolveMergeOptions({ ...MERGE_FLAGS.toOptions(argv), runs: argv.runs as MergeOptions['runs'] });
}

export const mergeCommand: CommandModule = {
  command: 'merge <runs..>',
  describe: 'merge runs of one scenario taken at the same time on several load machines into one run',
  builder: (y) =>
    MERGE_FLAGS.build(
      y.positional('runs', { type: 'string', array: true, describe: 'a.json b.json ... (one per load machine)' }),
    ),
  handler: async (argv) => {
    try {
      const options = mergeOptionsFromArgv(argv);
      const runs: NamedRun[] = [];
      for (const file of options.runs) runs.push({ name: path.basename(file), result: await readResult(file) });
      const merged = mergeRuns(runs, options.label);
      const saved = options.save && options.out ? await saveRun(merged, options.out) : null;
      if (options.json) process.stdout.write(`${JSON.stringify(merged)}\n`);
      else {
        process.stdout.write(`${summaryText(merged)}\n`);
        for (const w of merged.warnings) process.stdout.write(`warning: ${w}\n`);
        if (saved) process.stdout.write(`\nsaved ${saved.json}\n      ${saved.markdown}\n      ${saved.svg}\n`);
      }
    } catch (err) {
      fail('merge', MERGE_FLAGS, err);
    }
  },
};
