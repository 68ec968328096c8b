import { InvalidOptionError } from './errors.ts';

const MAX_SECONDS = 86_400;

/**
 * A duration given in seconds on a command line (`--idle-timeout 2.5`), as whole
 * milliseconds, checked in the user's unit: from 0.001 s to a day, and 0 only
 * where 0 means something (`never`).
 */
export function secondsToMs(flagName: string, value: number, options: { zeroAllowed?: boolean } = {}): number {
  const zeroAllowed = options.zeroAllowed ?? true;
  const range = `${zeroAllowed ? '0 or ' : ''}from 0.001 to ${MAX_SECONDS}`;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_SECONDS) {
    throw new InvalidOptionError(flagName, `${flagName} must be a number of seconds, ${range}, got ${String(value)}`);
  }
  const ms = Math.round(value * 1000);
  if (ms === 0 && !(zeroAllowed && value === 0)) {
    throw new InvalidOptionError(flagName, `${flagName} must be a number of seconds, ${range}, got ${String(value)}`);
  }
  return ms;
}
