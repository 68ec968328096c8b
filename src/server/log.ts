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
    const logger = pino({ base: { pid: process.pid }, messageKey: 'msg' }, destination);
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
