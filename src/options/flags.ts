/**
 * One table per command line. Each row says, once, how a flag maps onto an
 * option of the programmatic API (name, kind, unit, help); from the table come
 * the yargs options, the help text with each default shown in the flag's own
 * unit (taken from the API's defaults object, never repeated as literal text),
 * the argv -> options mapping, and the flag names in error messages.
 *
 * The API validates ranges (resolveServerOptions and friends); this layer only
 * parses what was typed, in the flag's unit (`--frame-timeout 2.5` seconds
 * becomes frameTimeoutMs 2500), so a bad value is reported in the unit the user
 * typed it in.
 */
import type { Argv, Options as YargsOption } from 'yargs';
import { escapeOptionText, InvalidOptionError } from '../protocol/errors.ts';
import { parseCount, parseNumber, parseSize, secondsToMs, splitList } from './validators.ts';

/**
 * - `integer`, `number`: plain decimal;
 * - `seconds`: typed in seconds, the API takes milliseconds (`zero` says what 0 means, if it is allowed);
 * - `size`: bytes with binary units (`64k`); `count`: decimal units (`10k`);
 * - `choice`: one of `choices`; `string`; `boolean`;
 * - `list`: comma- or space-separated, repeatable; each item parsed as `item`.
 */
type FlagKind = 'integer' | 'number' | 'seconds' | 'size' | 'count' | 'choice' | 'string' | 'boolean' | 'list';
type ItemKind = Exclude<FlagKind, 'list' | 'boolean' | 'seconds'>;
/** A row seen without its options type (inside this module). */
type AnyRow = FlagRow<Record<string, unknown>>;

export interface FlagRow<O> {
  /** The option in the programmatic API that this flag sets. */
  option: keyof O & string;
  /** Without dashes: `frame-timeout`. */
  flag: string;
  alias?: string;
  kind: FlagKind;
  /** For `list`: what each item is. */
  item?: ItemKind;
  choices?: readonly string[];
  /** For `seconds` (and numbers): what 0 means, when 0 is allowed ('never'). */
  zero?: string;
  describe: string;
  /** Help text for a default that is computed, not a constant ('all cores'). */
  defaultText?: string;
  hidden?: boolean;
}

export interface FlagTable<O> {
  readonly rows: ReadonlyArray<FlagRow<O>>;
  /** Adds every row to a yargs builder. */
  build<T>(y: Argv<T>): Argv<T>;
  /** The options the flags set: only flags that were given, converted to API units. */
  toOptions(argv: Record<string, unknown>): Partial<O>;
  /** `--frame-timeout` for `frameTimeoutMs`; the option's own name when no flag sets it. */
  flagOf(option: string): string;
  /** An InvalidOptionError's message in flag names. */
  describeError(err: InvalidOptionError): string;
  /** Every flag's name, without dashes (hidden ones left out). */
  names(): string[];
  /**
   * A yargs check(): resolves the options the flags give (with `resolve`, the API's
   * own validation) before any handler runs, so a bad value is one line and exit 2,
   * worded in the flags the user typed.
   */
  check(resolve: (options: Partial<O>) => unknown): (argv: Record<string, unknown>) => true;
}

/** How a default value reads in the help, in the flag's unit. */
function defaultInFlagUnit(row: AnyRow, value: unknown): string | undefined {
  if (row.defaultText) return row.defaultText;
  if (value === undefined || value === null || value === '') return undefined;
  if (row.kind === 'seconds' && typeof value === 'number') {
    return value === 0 && row.zero ? `0 (${row.zero})` : `${value / 1000} s`;
  }
  if (Array.isArray(value)) return value.join(',');
  if (row.kind === 'boolean') return value ? 'on' : 'off';
  return typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value);
}

function parseItem(option: string, kind: ItemKind, value: unknown): unknown {
  switch (kind) {
    case 'integer':
    case 'number':
      return parseNumber(option, value, kind);
    case 'size':
      return parseSize(option, value);
    case 'count':
      return parseCount(option, value);
    default:
      return String(value);
  }
}

function parseRow(row: AnyRow, value: unknown): unknown {
  switch (row.kind) {
    case 'boolean':
      return value;
    case 'seconds':
      return secondsToMs(row.option, parseNumber(row.option, value, 'number'), row.zero);
    case 'list': {
      const items = splitList(value as string | string[]);
      if (items.length === 0) {
        throw new InvalidOptionError(row.option, `{${row.option}} needs at least one value`);
      }
      return items.map((item) => parseItem(row.option, row.item ?? 'string', item));
    }
    default:
      return parseItem(row.option, row.kind, value);
  }
}

/** The edit distance between two words (insertions, deletions, substitutions, and swaps of two neighbours). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The flag a mistyped one most likely meant (`prot` -> `port`), or null: the
 * one a flag name starts with, else the nearest within a third of its length
 * (at least 1, at most 3 edits). Names are given without dashes.
 */
export function nearestFlag(typed: string, flags: readonly string[]): string | null {
  const starting = flags.filter((flag) => flag.startsWith(typed));
  if (typed.length >= 3 && starting.length === 1) return starting[0]!;
  const limit = Math.min(3, Math.max(1, Math.floor(typed.length / 3)));
  let best: string | null = null;
  let bestDistance = limit + 1;
  for (const flag of flags) {
    const distance = editDistance(typed, flag);
    if (distance < bestDistance) [best, bestDistance] = [flag, distance];
  }
  return best;
}

export function defineFlags<O>(
  rows: ReadonlyArray<FlagRow<O>>,
  defaults: Partial<Record<keyof O, unknown>>,
): FlagTable<O> {
  const flagByOption = new Map<string, string>(rows.map((row) => [row.option, `--${row.flag}`]));
  const flagOf = (option: string) => flagByOption.get(option) ?? option;
  return {
    rows,
    build<T>(y: Argv<T>): Argv<T> {
      let out = y;
      for (const row of rows) {
        // The type and default go into the description (the top-level yargs hides its own
        // "[string]" tags: every value arrives as typed and is parsed here).
        const shownDefault = defaultInFlagUnit(row as AnyRow, defaults[row.option]);
        const notes = [
          row.choices ? `one of ${row.choices.join(', ')}` : '',
          row.zero ? `0 = ${row.zero}` : '',
          shownDefault !== undefined ? `default ${shownDefault}` : '',
        ].filter(Boolean);
        const spec: YargsOption = {
          // Values arrive as typed (strings) and are parsed here, so that a bad one is
          // named as typed ('abc', never NaN) in one line.
          type: row.kind === 'boolean' ? 'boolean' : 'string',
          describe: notes.length > 0 ? `${row.describe} (${notes.join('; ')})` : row.describe,
          requiresArg: row.kind !== 'boolean',
          hidden: row.hidden ?? false,
        };
        if (row.alias) spec.alias = row.alias;
        if (row.kind === 'list') spec.array = true;
        out = out.option(row.flag, spec);
      }
      return out;
    },
    toOptions(argv) {
      const options: Partial<Record<string, unknown>> = {};
      for (const row of rows) {
        const value = argv[row.flag];
        if (value === undefined) continue;
        // A flag given twice (`--port 1 --port 2`) arrives as an array: the last one wins, as usual.
        const typed: unknown = Array.isArray(value) && row.kind !== 'list' ? (value as unknown[]).at(-1) : value;
        options[row.option] = parseRow(row as AnyRow, typed);
      }
      return options as Partial<O>;
    },
    flagOf,
    describeError: (err) => err.describe(flagOf),
    names: () => rows.filter((row) => !row.hidden).map((row) => row.flag),
    check(resolve) {
      return (argv) => {
        try {
          resolve(this.toOptions(argv));
        } catch (err) {
          if (err instanceof InvalidOptionError) {
            throw new InvalidOptionError(err.option, escapeOptionText(err.describe(flagOf)));
          }
          throw err;
        }
        return true;
      };
    },
  };
}
