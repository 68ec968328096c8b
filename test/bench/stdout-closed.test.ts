// `npm run bench | head -3`: once nobody reads the bench's stdout it stops (the measurement
// under way is its last) and saves nothing, saying so in one line on stderr, instead of a
// stack trace, an orphaned server, or a run filed away that nobody saw.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { BIN } from '../helpers/process.ts';
import { fakeServerCommand } from './helpers/fake.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'handoff-stdout-closed-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the bench, closes its stdout once the first line has come, and waits for its end. */
function benchReadOneLine(args: string[]): Promise<{ code: number | null; stderr: string; firstLine: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['bench', ...args, '--server-command', fakeServerCommand().join(' ')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the bench did not end within 60 s of its stdout closing'));
    }, 60_000);
    let stderr = '';
    let firstLine = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout.setEncoding('utf8').once('data', (s: string) => {
      firstLine = s.split('\n')[0]!;
      child.stdout.destroy(); // what `head` does once it has its lines
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, firstLine });
    });
  });
}

test('stdout closed after the first report: the run stops, saves nothing, and says so in one line', async (t) => {
  const dir = await tempDir(t);
  const args = [...'-c 2 -w 1 -s 16,64,256,1k,4k,16k -d 0.3 --warmup 0'.split(' '), '--out', dir];
  const { code, stderr, firstLine } = await benchReadOneLine(args);
  assert.match(firstLine, /^handoff h64 16 B: 2 connections x 1 in flight$/);
  assert.match(
    stderr,
    /^handoff bench: stdout was closed \(a pipe such as \| head ended\): the run stopped after [1-5] of 6 measurements; nothing saved\n$/,
  );
  assert.equal(code, 1);
  assert.ok(!existsSync(dir) || (await readdir(dir)).length === 0, 'nothing saved');
});

test('stdout closed at the end of a one-measurement run: stderr says it, saved or not', async (t) => {
  const dir = await tempDir(t);
  const { stderr } = await benchReadOneLine([...'-c 2 -w 1 -s 16 -d 0.3 --warmup 0'.split(' '), '--out', dir]);
  const saved = /^handoff bench: stdout was closed; the run is saved as (.+\.json)\n$/.exec(stderr);
  if (saved) assert.ok(existsSync(saved[1]!), saved[1]!);
  else {
    assert.match(stderr, /^handoff bench: stdout was closed .*; nothing saved\n$/);
    assert.ok(!existsSync(dir) || (await readdir(dir)).length === 0, 'nothing saved');
  }
});
