// The real server process: `bin/handoff serve`. SIGTERM and SIGINT send SHUTTING_DOWN to
// every client and exit 0 within 5 s; bad flags exit non-zero with one line on stderr.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { ACK_TEXT, encodeFrame } from '../../src/protocol/index.ts';
import { listening, run, within } from '../helpers/process.ts';
import { connect, errorOf } from '../helpers/wire.ts';

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal}: both clients receive !ERROR SHUTTING_DOWN and the process exits with status 0 within 5 s`, async (t) => {
    const p = run(t, ['serve', '--port', '0', '--json']);
    const address = await listening(p);
    assert.ok(address.port > 0, `listening line carries the port: ${JSON.stringify(address)}`);
    const a = await connect(t, address);
    const b = await connect(t, address);
    for (const c of [a, b]) {
      await c.send('hello');
      assert.equal(await c.readText(), ACK_TEXT);
    }
    const signalled = performance.now();
    p.child.kill(signal);
    for (const c of [a, b]) {
      const { frames } = await c.readUntilClose(5000);
      assert.equal(frames.length, 1, c.describe());
      const err = errorOf(frames[0]);
      assert.equal(err?.code, 'SHUTTING_DOWN', `got ${JSON.stringify(frames[0]?.toString())}`);
      assert.ok(err.text.trim().length > 0);
    }
    const exit = await within(p.exited, 5000 - (performance.now() - signalled));
    assert.notEqual(exit, null, 'exited within 5 s of the signal');
    assert.deepEqual(exit, { code: 0, signal: null }, `stderr: ${p.stderr()}`);
  });
}

test('a second SIGTERM exits at once, even while the first is still flushing a client that does not read', async (t) => {
  const p = run(t, ['serve', '--port', '0', '--json', '--mode', 'echo']);
  const address = await listening(p);
  const hog = await connect(t, address, { keepFrames: false });
  hog.pause();
  // Give the server unsent replies it would like to flush before closing.
  const frame = encodeFrame(Buffer.alloc(64 * 1024, 0x41), 64);
  for (let i = 0; i < 400; i++) {
    if (!hog.socket.write(frame)) {
      const drained = await within(once(hog.socket, 'drain'), 500);
      if (drained === null) break;
    }
  }
  p.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  const secondAt = performance.now();
  if (p.child.exitCode === null) p.child.kill('SIGTERM');
  const exit = await within(p.exited, 2000);
  assert.notEqual(exit, null, 'exited within 2 s of the second signal');
  t.diagnostic(
    `exited ${(performance.now() - secondAt).toFixed(0)} ms after the second signal with ${JSON.stringify(exit)}`,
  );
  assert.equal(exit!.signal, null, 'exited by itself, not killed by the signal');
});

for (const [what, args] of [
  ['--header-bytes 2', ['serve', '--header-bytes', '2']],
  ['--ack raw --mode echo', ['serve', '--ack', 'raw', '--mode', 'echo']],
  ['--workers 0', ['serve', '--workers', '0']],
  ['--max-connections 0', ['serve', '--max-connections', '0']],
  ['--mode shout', ['serve', '--mode', 'shout']],
  ['--frame-timeout 0', ['serve', '--frame-timeout', '0']],
  ['--frame-timeout 1e9 (more than a day)', ['serve', '--frame-timeout', '1e9']],
  ['--idle-timeout 0.0001 (rounds to 0 ms, which would mean never)', ['serve', '--idle-timeout', '0.0001']],
  ['--idle-timeout given no value', ['serve', '--idle-timeout', '--quiet']],
] as const) {
  test(`serve ${what} exits non-zero with one line on stderr and no stack trace`, async (t) => {
    const p = run(t, [...args, '--port', '0']);
    const exit = await within(p.exited, 20_000);
    assert.notEqual(exit, null, 'exits by itself');
    assert.notEqual(exit!.code, 0, 'non-zero status');
    assert.equal(exit!.signal, null);
    const stderr = p.stderr().trimEnd();
    const lines = stderr.split('\n');
    assert.equal(lines.length, 1, `one line on stderr, got:\n${stderr}`);
    assert.ok(lines[0]!.length > 0);
    assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
    assert.equal(p.stdout.filter((l) => /"event":"listening"/.test(l)).length, 0, 'never listened');
  });
}
