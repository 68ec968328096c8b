/**
 * Validators shared by every options object (server, client, bench): each checks
 * one value once, at the edge, and throws InvalidOptionError with one sentence
 * that names the option as `{option}` (the API shows the option's name, a
 * command line its flag). The `parse*` functions turn what a user types
 * (`64k`, `10k`, `2.5`) into numbers; the others check ranges and kinds.
 */
import { isIP } from 'node:net';
import { escapeOptionText, InvalidOptionError } from '../protocol/errors.ts';

/** Longest duration any option takes: a day. */
export const MAX_SECONDS = 86_400;
export const DAY_MS = MAX_SECONDS * 1000;

/** How a value looks in a message: strings quoted, so `--port abc` says 'abc', never NaN. */
export function shown(value: unknown): string {
  return escapeOptionText(typeof value === 'string' ? `'${value}'` : String(value));
}

function invalid(option: string, requirement: string, value: unknown): InvalidOptionError {
  return new InvalidOptionError(option, `{${option}} must be ${requirement}, got ${shown(value)}`);
}

export function integer(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(option, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

export function number(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(option, `a number from ${min} to ${max}`, value);
  }
  return value;
}

export function choice<T extends string>(option: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T))
    throw invalid(option, `one of ${allowed.join(', ')}`, value);
  return value as T;
}

export function boolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalid(option, 'true or false', value);
  return value;
}

/** A string; `nonEmpty` refuses '', `oneLine` refuses line breaks. */
export function text(option: string, value: unknown, rules: { nonEmpty?: boolean; oneLine?: boolean } = {}): string {
  if (typeof value !== 'string') throw invalid(option, 'a string', value);
  if (rules.nonEmpty && value.length === 0) throw invalid(option, 'a non-empty string', value);
  if (rules.oneLine && /[\r\n]/.test(value)) throw invalid(option, 'one line of text', value);
  return value;
}

/**
 * A duration typed in seconds (`--idle-timeout 2.5`) as whole milliseconds,
 * checked in the user's unit: from 0.001 s to a day, and 0 only where 0 means
 * something (`zeroMeans`, e.g. 'never').
 */
export function secondsToMs(option: string, value: unknown, zeroMeans?: string): number {
  const requirement = `a number of seconds, ${zeroMeans ? `0 (${zeroMeans}) or ` : ''}from 0.001 to ${MAX_SECONDS}`;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_SECONDS) {
    throw invalid(option, requirement, value);
  }
  const ms = Math.round(value * 1000);
  if (ms === 0 && !(zeroMeans && value === 0)) throw invalid(option, requirement, value);
  return ms;
}

/** A number typed on a command line: plain decimal only (no hex, no '', no 1e3 surprises). */
export function parseNumber(option: string, value: unknown, kind: 'integer' | 'number'): number {
  if (typeof value === 'number') return value;
  const pattern = kind === 'integer' ? /^\s*[+-]?\d+\s*$/ : /^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/;
  if (typeof value !== 'string' || !pattern.test(value))
    throw invalid(option, kind === 'integer' ? 'an integer' : 'a number', value);
  return Number(value);
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
};
const COUNT_UNITS: Record<string, number> = { '': 1, k: 1e3, m: 1e6 };

/** `64k` -> 65536, `1.5KiB` -> 1536, `16` -> 16: binary units, as sizes are. */
export function parseSize(option: string, value: unknown): number {
  return withUnit(option, value, SIZE_UNITS, 'a size such as 16, 256, 1k, 64KiB or 1m');
}

/** `10k` -> 10000, `2.5m` -> 2500000: decimal units, as counts and rates are. */
export function parseCount(option: string, value: unknown): number {
  return withUnit(option, value, COUNT_UNITS, 'a number such as 500, 10k or 1.5m');
}

function withUnit(option: string, value: unknown, units: Record<string, number>, hint: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw invalid(option, hint, value);
    return value;
  }
  const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value) : null;
  const factor = m ? units[m[2]!.toLowerCase()] : undefined;
  if (!m || factor === undefined) throw invalid(option, hint, value);
  const result = Number(m[1]) * factor;
  if (!Number.isInteger(result)) throw invalid(option, 'a whole number of units', value);
  return result;
}

/** `a,b c`, or an array of such (yargs gives arrays for repeated flags) -> trimmed non-empty items. */
export function splitList(value: string | number | readonly (string | number)[]): string[] {
  const items = Array.isArray(value) ? value : [value];
  return items
    .flatMap((item) => String(item).split(/[,\s]+/))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * `host:port`, `[v6]:port`, `:port` or `port` (host 127.0.0.1), strictly: a
 * host without a port is refused with the fix spelled out (a default port
 * would hide a typo such as `localhost5050`), and so is a port that is not
 * 1-65535 or a host name with characters no name has.
 */
export function parseHostPort(option: string, value: unknown): { host: string; port: number } {
  const requirement = 'host:port, [IPv6]:port or a port (1-65535)';
  if (typeof value !== 'string') throw invalid(option, requirement, value);
  const typed = value.trim();
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]*)):(\d{1,5})$|^(\d{1,5})$/.exec(typed);
  if (!m) {
    const hostOnly =
      /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)$/.test(typed) || /^[0-9A-Fa-f:]*:[0-9A-Fa-f:]*$/.test(typed);
    if (hostOnly) {
      if (typed.includes(':') && !typed.startsWith('[')) {
        // A bare IPv6 address: brackets, then the port (`::1:5050` may mean [::1]:5050).
        const cut = typed.lastIndexOf(':');
        const split = isIP(typed.slice(0, cut)) === 6 && /^\d{1,5}$/.test(typed.slice(cut + 1));
        const example = split ? `[${typed.slice(0, cut)}]:${typed.slice(cut + 1)}` : `[${typed}]:5050`;
        throw new InvalidOptionError(
          option,
          `{${option}} ${shown(value)}: an IPv6 address goes in brackets, the port after them, e.g. ${example}`,
        );
      }
      // `localhost5050`: a colon left out, most likely.
      const glued = /^([A-Za-z][A-Za-z0-9._-]*[A-Za-z])(\d{1,5})$/.exec(typed);
      const example = glued ? `${glued[1]}:${glued[2]}` : `${typed}:5050`;
      throw new InvalidOptionError(
        option,
        `{${option}} ${shown(value)} has no port: give host:port, e.g. ${escapeOptionText(example)}`,
      );
    }
    throw invalid(option, requirement, value);
  }
  const port = Number(m[3] ?? m[4]);
  if (port < 1 || port > 65_535) throw invalid(option, requirement, value);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}
