/**
 * How every command line ends on a failure: one line on stderr, never a stack
 * trace, and an exit status (2 for a bad option, as yargs gives a bad flag).
 * The API names the option (`frameTimeoutMs`); the line names the flag the user
 * typed (`--frame-timeout`), through the command's flag table.
 */
import { InvalidOptionError } from '../protocol/errors.ts';
import type { FlagTable } from './flags.ts';

/** A bad option is a usage error. */
const BAD_OPTION_STATUS = 2;

/** What a command says about a failure other than a bad option, and the exit status that goes with it. */
interface CliFailure {
  text: string;
  status: number;
}

export interface CliFailureReport {
  /** Who speaks, before the colon: `handoff`, `handoff bench`, `soak`. */
  prefix: string;
  /** The command's flags, whose names word an InvalidOptionError. */
  flags: Pick<FlagTable<never>, 'describeError'>;
  /** The line and status for any other error; null (the default for all of them): not ours, thrown on. */
  other?: (err: unknown) => CliFailure | null;
  stderr?: NodeJS.WritableStream;
}

/**
 * Writes `<prefix>: <text>` for `err` and returns the exit status: an
 * InvalidOptionError in flag names and 2, anything else as `other` says; an
 * error neither knows is rethrown (a bug, whose stack trace is wanted).
 */
export function reportCliFailure(err: unknown, report: CliFailureReport): number {
  const failure =
    err instanceof InvalidOptionError
      ? { text: report.flags.describeError(err), status: BAD_OPTION_STATUS }
      : (report.other?.(err) ?? null);
  if (failure === null) throw err;
  (report.stderr ?? process.stderr).write(`${report.prefix}: ${failure.text}\n`);
  return failure.status;
}
