#!/usr/bin/env node
// One entry point: `handoff serve | client | bench | compare | merge`. Each command lives
// beside the code it drives; this file only wires them into yargs.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { readFileSync } from 'node:fs';
import { InvalidOptionError } from './protocol/index.ts';
import { serveCommand } from './server/cli.ts';
import { clientCommand } from './client/cli.ts';
import { benchCommand, compareCommand } from './bench/cli.ts';
import { mergeCommand } from './bench/merge-cli.ts';

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
    const text = unknownNamedOnce(msg ?? err?.message ?? 'invalid arguments').replace(/:?\s*\n\s*/g, ': ');
    process.stderr.write(`handoff: ${text} (see 'handoff --help')\n`);
    process.exit(2);
  })
  .parseAsync();

/**
 * yargs names an unknown `--foo-bar` twice (`Unknown arguments: foo-bar, fooBar`):
 * its camel-case copy is dropped, so each unknown flag is named once, as typed.
 */
function unknownNamedOnce(message: string): string {
  const m = /^Unknown arguments?: (.*)$/s.exec(message);
  if (!m) return message;
  const names = m[1]!.split(', ');
  const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  const once = names.filter(
    (name) => !names.some((other) => other !== name && other.includes('-') && camel(other) === name),
  );
  return `Unknown argument${once.length > 1 ? 's' : ''}: ${once.join(', ')}`;
}
