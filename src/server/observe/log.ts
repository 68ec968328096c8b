import pino from 'pino';

/** How a thread reports what the server does. One per thread; all write to stdout. */
export interface ServerLog {
  /** Start-up, shutdown and errors: printed unless silent. */
  essential(event: string, text: string, fields?: Record<string, unknown>): void;
  /** Connections and stats: hidden by --quiet. */
  info(event: string, text: string, fields?: Record<string, unknown>): void;
  readonly verbose: boolean;
  flush(): void;
}

export interface LogStyle {
  json: boolean;
  quiet: boolean;
  silent: boolean;
}

/** A count in a server line, with thousands separators: `12,345`. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** `1 connection`, `2 connections`: a count and its noun, with thousands separators. */
export function counted(n: number, noun: string, many = `${noun}s`): string {
  return `${count(n)} ${n === 1 ? noun : many}`;
}

/** The width a person reads the server's lines in: the tutorial's terminal, 80 columns. */
const LINE_WIDTH = 80;

/**
 * `[TAG] part, part, ...` in rows of at most LINE_WIDTH columns: broken between
 * parts (never inside one), each further row indented under the text after the tag.
 */
export function fitLine(tag: string, parts: readonly string[], separator: string): string {
  const indent = ' '.repeat(tag.length + 1);
  const rows: string[] = [];
  let row = tag;
  for (const part of parts) {
    const first = row === tag || row === indent;
    const next = first ? `${row}${row === tag ? ' ' : ''}${part}` : `${row}${separator}${part}`;
    if (!first && next.length > LINE_WIDTH) {
      rows.push(row);
      row = `${indent}${part}`;
    } else row = next;
  }
  rows.push(row);
  return rows.join('\n');
}

/** A rate for a person: one decimal below 10 (two messages in 5 s are 0.4 msg/s, not 0), thousands separators above. */
export function rate(perSecond: number): string {
  if (perSecond === 0) return '0';
  return perSecond < 10 ? perSecond.toFixed(1) : count(Math.round(perSecond));
}

/** Megabytes per second with two decimals and thousands separators: `2,718.28`. */
export function megabytes(perSecond: number): string {
  return perSecond.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

// JSON.stringify escapes C0 controls but passes DEL and C1 (U+0080-U+009F, CSI among them)
// through raw, and a terminal acts on them. Outside strings a JSON line has none of them,
// so escaping them as \u00XX in the serialized line keeps the JSON the same value.
const RAW_IN_JSON = /[\u007f-\u009f]/g;
const HAS_RAW_IN_JSON = /[\u007f-\u009f]/;

/** A serialized JSON line with DEL and C1 characters written as \u escapes. */
function escapeJsonControls(line: string): string {
  if (!HAS_RAW_IN_JSON.test(line)) return line;
  return line.replace(RAW_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const silentLog: ServerLog = {
  essential() {},
  info() {},
  verbose: false,
  flush() {},
};

/**
 * Human style prints the tutorial's words (`[NEW CONNECTION] ... connected.`);
 * JSON style prints one pino object per line with `event` and the fields.
 * Both write synchronously to fd 1 from whichever thread logs, so lines from
 * worker threads never interleave mid-line and none is lost at exit.
 */
export function createServerLog(style: LogStyle): ServerLog {
  if (style.silent) return silentLog;
  const destination = pino.destination({ fd: 1, sync: true });
  if (style.json) {
    const escaped = { write: (line: string) => destination.write(escapeJsonControls(line)) };
    const logger = pino({ base: { pid: process.pid }, messageKey: 'msg' }, escaped);
    const write = (event: string, text: string, fields?: Record<string, unknown>) =>
      logger.info({ event, ...fields }, text);
    return {
      essential: write,
      info: style.quiet ? () => {} : write,
      verbose: !style.quiet,
      flush: () => destination.flushSync(),
    };
  }
  const write = (_event: string, text: string) => {
    destination.write(`${text}\n`);
  };
  return {
    essential: write,
    info: style.quiet ? () => {} : write,
    verbose: !style.quiet,
    flush: () => destination.flushSync(),
  };
}
