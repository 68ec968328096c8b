// A headless terminal (xterm.js) of a given width: what a person sees, row by row, not the
// bytes written. A row that is the continuation of a line too long for the width is marked.
import { Writable } from 'node:stream';
import xterm from '@xterm/headless';

export interface Screen {
  /** A stream that draws on the screen, a terminal of `cols` columns as far as its writer can tell. */
  stream(): Writable & { isTTY: true; columns: number };
  /** The rows drawn so far, trailing blanks and trailing empty rows dropped. */
  lines(): Promise<string[]>;
  /** The indexes of the rows that continue the line above them: text that did not fit the width. */
  wrappedRows(): Promise<number[]>;
  dispose(): void;
}

export function headlessScreen(cols: number, rows = 200): Screen {
  const term = new xterm.Terminal({ cols, rows, allowProposedApi: true, scrollback: 0, convertEol: true });
  const pending: Array<Promise<void>> = [];
  const settled = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all(pending);
  };
  const write = (text: string) => pending.push(new Promise((resolve) => term.write(text, resolve)));
  return {
    stream: () =>
      Object.assign(
        new Writable({
          write(chunk: Buffer, _enc, done) {
            write(chunk.toString('utf8'));
            done();
          },
        }),
        { isTTY: true as const, columns: cols },
      ),
    async lines() {
      await settled();
      const buffer = term.buffer.active;
      const out: string[] = [];
      for (let i = 0; i < buffer.length; i++) out.push(buffer.getLine(i)!.translateToString(true));
      while (out.length && out.at(-1) === '') out.pop();
      return out;
    },
    async wrappedRows() {
      await settled();
      const buffer = term.buffer.active;
      const wrapped: number[] = [];
      for (let i = 0; i < buffer.length; i++) if (buffer.getLine(i)!.isWrapped) wrapped.push(i);
      return wrapped;
    },
    dispose: () => term.dispose(),
  };
}

/** `text` as an 80-column terminal shows it: its rows, and those that are the overflow of a longer line. */
export async function replay(text: string, cols = 80): Promise<{ rows: string[]; wrapped: string[] }> {
  const screen = headlessScreen(cols, Math.max(24, text.split('\n').length * 3));
  try {
    screen.stream().write(text);
    const rows = await screen.lines();
    const wrapped = (await screen.wrappedRows()).map((i) => `${rows[i - 1]} / ${rows[i]}`);
    return { rows, wrapped };
  } finally {
    screen.dispose();
  }
}
