/**
 * The frame of the long-run scripts (`npm run soak`, `npm run fuzz`): flags
 * from one table, validated once; the run; its report saved under results/
 * as markdown and JSON; one line per problem and exit 1 when there is any.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { defineFlags, type FlagRow } from '../options/flags.ts';
import { reportCliFailure } from '../options/cli-failure.ts';
import { REPO_DIR } from './load/system.ts';

export interface Script<O, R> {
  name: string;
  flags: ReadonlyArray<FlagRow<O>>;
  defaults: O;
  resolve(options: Partial<O>): O;
  run(options: O): Promise<R>;
  /** The results file name after the date: `fuzz-1000000-seed-1`. */
  stem(options: O): string;
  markdown(report: R, command: string): string;
  problems(report: R): string[];
  summary(report: R): string;
}

/** `2026-12-02T01-23-45Z`, as the bench names its saved runs. */
export function fileDate(date = new Date()): string {
  return date
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-');
}

export async function runScript<O, R>(script: Script<O, R>): Promise<void> {
  const table = defineFlags<O>(script.flags, script.defaults);
  const argv = table
    .build(yargs(hideBin(process.argv)).scriptName(`npm run ${script.name} --`))
    .option('out', { type: 'string', describe: 'folder for the report (default results/)' })
    .strict()
    .parseSync();
  let options: O;
  try {
    options = script.resolve(table.toOptions(argv));
  } catch (err) {
    process.exit(reportCliFailure(err, { prefix: script.name, flags: table }));
  }
  const command = `npm run ${script.name} -- ${hideBin(process.argv).join(' ')}`.trim();
  const report = await script.run(options);
  const dir = typeof argv.out === 'string' ? argv.out : path.join(REPO_DIR, 'results');
  await mkdir(dir, { recursive: true });
  const stem = path.join(dir, `${fileDate()}-${script.stem(options)}`);
  await writeFile(`${stem}.json`, `${JSON.stringify({ command, ...report }, null, 2)}\n`);
  await writeFile(`${stem}.md`, script.markdown(report, command));
  process.stdout.write(`${script.summary(report)}\nreport: ${stem}.md\n`);
  const problems = script.problems(report);
  for (const line of problems) process.stdout.write(`${script.name} FAILED: ${line}\n`);
  process.exit(problems.length > 0 ? 1 : 0);
}
