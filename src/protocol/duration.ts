import { InvalidOptionError } from './errors.ts';

/** A duration given in seconds on a command line (`--idle-timeout 2.5`), as whole milliseconds. */
export function secondsToMs(flagName: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidOptionError(flagName, `${flagName} must be a number of seconds >= 0, got ${String(value)}`);
  }
  return Math.round(value * 1000);
}
