#!/usr/bin/env node
// One entry point: `handoff serve | client | bench | compare`. Each command lives
// beside the code it drives; this file only wires them into yargs.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { serveCommand } from './server/cli.ts';
import { clientCommand } from './client/cli.ts';
import { benchCommand, compareCommand } from './bench/cli.ts';

await yargs(hideBin(process.argv))
  .scriptName('handoff')
  .command(serveCommand)
  .command(clientCommand)
  .command(benchCommand)
  .command(compareCommand)
  .demandCommand(1, 'name a command: serve, client, bench or compare')
  .strict()
  .help()
  .alias('h', 'help')
  .version(false)
  .wrap(Math.min(100, process.stdout.columns ?? 100))
  .fail((msg, err) => {
    // A bad flag is one clear line and exit status 2, never a stack trace.
    const usageError = !err || err.name === 'YError' || (err as { code?: string }).code?.startsWith('ERR_INVALID');
    if (!usageError) throw err;
    const text = (msg ?? err?.message ?? 'invalid arguments').replace(/:?\s*\n\s*/g, ': ');
    process.stderr.write(`handoff: ${text} (see 'handoff --help')\n`);
    process.exit(2);
  })
  .parseAsync();
