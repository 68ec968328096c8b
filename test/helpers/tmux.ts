// A real terminal for tests: tmux runs a command in a pseudo-terminal of a given size, types
// into it and reads back the screen as a person would see it.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

const TMUX_CALL_MS = 5_000;
export const SCREEN_WAIT_MS = 10_000;

export function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore', timeout: TMUX_CALL_MS });
    return true;
  } catch {
    if (process.env.HANDOFF_REQUIRE_SERVICES) throw new Error('tmux is required here but not installed');
    return false;
  }
}

/** One tmux server of our own (its own socket, no user config) running one command in a `width` x `height` pane. */
export class Terminal {
  readonly #socket: string;
  readonly #statusFile: string;

  private constructor(dir: string) {
    this.#socket = path.join(dir, 'tmux.sock');
    this.#statusFile = path.join(dir, 'status');
  }

  /** `after`: what the pane prints once the command has ended (a stand-in for the shell's prompt). */
  static async start(t: TestContext, command: string[], width: number, height: number, after = ''): Promise<Terminal> {
    const dir = mkdtempSync(path.join(tmpdir(), 'handoff-pty-'));
    const config = path.join(dir, 'tmux.conf');
    // remain-on-exit: the screen can still be read once the client has left.
    writeFileSync(config, 'set -g remain-on-exit on\nset -g status off\n');
    const terminal = new Terminal(dir);
    t.after(async () => {
      await terminal.tmux('kill-server').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });
    // A shell waits for the command and writes down its exit status: tmux itself is slow, at
    // times, to reap a pane's process, and its exit status cannot be read before that.
    const script = '"$@"; status=$?; printf "%s" "$AFTER"; echo $status > "$STATUS_FILE"';
    await terminal.tmux(
      '-f',
      config,
      'new-session',
      '-d',
      '-s',
      'chat',
      '-x',
      String(width),
      '-y',
      String(height),
      '-e',
      `STATUS_FILE=${terminal.#statusFile}`,
      '-e',
      `AFTER=${after}`,
      'sh',
      '-c',
      script,
      'sh',
      ...command,
    );
    return terminal;
  }

  tmux(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile('tmux', ['-S', this.#socket, ...args], { timeout: TMUX_CALL_MS }, (err, stdout, stderr) =>
        err ? reject(new Error(`tmux ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(stdout),
      );
    });
  }

  /** Types `text` as it is (no key names). */
  type(text: string): Promise<string> {
    return this.tmux('send-keys', '-t', 'chat', '-l', text);
  }

  /** Presses keys by name: Enter, Left, ... */
  press(...keys: string[]): Promise<string> {
    return this.tmux('send-keys', '-t', 'chat', ...keys);
  }

  /** The visible screen, one string per row, trailing blanks trimmed, trailing empty rows (and tmux's own "Pane is dead") dropped. */
  async screen(): Promise<string[]> {
    const rows = (await this.tmux('capture-pane', '-p', '-t', 'chat')).split('\n').map((row) => row.trimEnd());
    // remain-on-exit writes its own line at the bottom once the command has ended: not the command's.
    if (rows.findLast((row) => row !== '')?.startsWith('Pane is dead'))
      rows.splice(rows.findLastIndex((row) => row !== ''));
    while (rows.length > 0 && rows.at(-1) === '') rows.pop();
    return rows;
  }

  async cursor(): Promise<{ x: number; y: number }> {
    const [x, y] = (await this.tmux('display-message', '-p', '-t', 'chat', '#{cursor_x} #{cursor_y}'))
      .trim()
      .split(' ');
    return { x: Number(x), y: Number(y) };
  }

  /** The command's exit status once it has ended (128 + N for signal N), else null. */
  exitStatus(): number | null {
    try {
      const text = readFileSync(this.#statusFile, 'utf8');
      return text.endsWith('\n') ? Number(text) : null;
    } catch {
      return null;
    }
  }

  /** The command's exit status, once it has ended (fails after a bound). */
  async exited(): Promise<number> {
    const deadline = performance.now() + SCREEN_WAIT_MS;
    for (;;) {
      const status = this.exitStatus();
      if (status !== null) return status;
      if (performance.now() > deadline)
        assert.fail(`still running after ${SCREEN_WAIT_MS} ms:\n${(await this.screen()).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** The screen once `ready(screen)` holds; fails with the screen it last saw after a bound. */
  async until(what: string, ready: (screen: string[]) => boolean): Promise<string[]> {
    const deadline = performance.now() + SCREEN_WAIT_MS;
    for (;;) {
      const screen = await this.screen();
      if (ready(screen)) return screen;
      if (performance.now() > deadline) {
        assert.fail(`no ${what} on the screen within ${SCREEN_WAIT_MS} ms; it shows:\n${screen.join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
