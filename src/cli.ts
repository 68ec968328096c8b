#!/usr/bin/env node
// One entry point: `handoff serve | client | bench | compare | merge`. Each command lives
// beside the code it drives; this file only wires them into yargs.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { readFileSync } from 'node:fs';
import { InvalidOptionError } from './protocol/index.ts';
import { nearestFlag } from './options/flags.ts';
import { SERVE_FLAGS, serveCommand } from './server/cli.ts';
import { CLIENT_FLAGS, clientCommand } from './client/cli.ts';
import { BENCH_FLAGS, benchCommand, COMPARE_FLAGS, compareCommand } from './bench/cli.ts';
import { MERGE_FLAGS, mergeCommand } from './bench/merge-cli.ts';

/** Each command's flags, for "did you mean" (help and version are everyone's). */
const FLAGS_OF: Record<string, () => string[]> = {
  serve: () => SERVE_FLAGS.names(),
  client: () => CLIENT_FLAGS.names(),
  bench: () => BENCH_FLAGS.names(),
  compare: () => COMPARE_FLAGS.names(),
  merge: () => MERGE_FLAGS.names(),
};

/** package.json's version: `handoff --version`, `-v`, also after a command (`handoff bench -v`). */
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const cli = yargs(hideBin(process.argv)) as ReturnType<typeof yargs> & {
  // In yargs since 17.7, not yet in its types: hides the "[string]" tags (src/options/flags.ts puts
  // each flag's kind and default into its description).
  usageConfiguration(config: { 'hide-types': boolean }): ReturnType<typeof yargs>;
};
await cli
  .usageConfiguration({ 'hide-types': true })
  .scriptName('handoff')
  .command(serveCommand)
  .command(clientCommand)
  .command(benchCommand)
  .command(compareCommand)
  .command(mergeCommand)
  .demandCommand(1, 'name a command: serve, client, bench, compare or merge')
  .recommendCommands()
  .strict()
  .help()
  .alias('h', 'help')
  .version(version)
  .alias('v', 'version')
  .wrap(Math.min(100, process.stdout.columns ?? 100))
  .fail((msg, err) => {
    // A bad flag is one clear line and exit status 2, never a stack trace.
    const usageError = !err || err.name === 'YError' || err instanceof InvalidOptionError;
    if (!usageError) throw err;
    const text = unknownNamedOnce(msg ?? err?.message ?? 'invalid arguments', hideBin(process.argv)).replace(
      /:?\s*\n\s*/g,
      ': ',
    );
    process.stderr.write(`handoff: ${text} (see 'handoff --help')\n`);
    process.exit(2);
  })
  .parseAsync();

/**
 * yargs names an unknown `--foo-bar` twice (`Unknown arguments: foo-bar, fooBar`):
 * its camel-case copy is dropped, so each unknown flag is named once, as typed,
 * with the command's flag it most likely meant (`--prot (did you mean --port?)`).
 */
function unknownNamedOnce(message: string, args: readonly string[]): string {
  const command = /^Did you mean (\w+)\?$/.exec(message); // recommendCommands(): `handoff serv`
  if (command) return `Unknown command: ${args[0]} (did you mean ${command[1]}?)`;
  const m = /^Unknown arguments?: (.*)$/s.exec(message);
  if (!m) return message;
  const names = m[1]!.split(', ');
  const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  const once = names.filter(
    (name) => !names.some((other) => other !== name && other.includes('-') && camel(other) === name),
  );
  const known = [...(FLAGS_OF[args[0] ?? '']?.() ?? []), 'help', 'version'];
  const typedAsFlag = (name: string) => args.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  const named = once.map((name) => {
    if (!typedAsFlag(name)) return name;
    const meant = nearestFlag(name, known);
    return meant ? `--${name} (did you mean --${meant}?)` : `--${name}`;
  });
  return `Unknown argument${once.length > 1 ? 's' : ''}: ${named.join(', ')}`;
}
