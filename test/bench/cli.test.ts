// `handoff bench` as a user runs it: one line and an exit status for what goes wrong.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HANDOFF = path.join(import.meta.dirname, '..', '..', 'bin', 'handoff');

async function failing(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(HANDOFF, args, { timeout: 30_000 });
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
  assert.fail(`handoff ${args.join(' ')} succeeded`);
}

test('bad options give one clear line and exit status 2: --clients 0, --sizes 1x', async () => {
  for (const args of [
    ['--clients', '0'],
    ['--sizes', '1x'],
  ]) {
    const { code, stderr } = await failing(['bench', ...args, '--no-save']);
    assert.equal(code, 2, args.join(' '));
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, new RegExp(args[0]!));
  }
});

test('an unreachable --target gives one line and a non-zero exit (ERR_CONNECT, the errno in the detail)', async () => {
  // A port that was free a moment ago: nothing listens there.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  const { code, stderr } = await failing([
    'bench',
    '--target',
    `127.0.0.1:${port}`,
    '-c',
    '2',
    '-w',
    '1',
    '-s',
    '16',
    '-d',
    '0.2',
    '--warmup',
    '0',
    '--no-save',
  ]);
  assert.equal(code, 1);
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
  assert.match(stderr, /cannot connect to 127\.0\.0\.1:\d+: ERR_CONNECT: .*ECONNREFUSED/);
});
