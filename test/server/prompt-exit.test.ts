// Stopping ends as soon as every connection is flushed and closed: no timer left
// behind keeps the process alive after close(), and SIGTERM with clients that are
// done (connected, idle, never closing their side) does not wait out a grace period.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeTextFrame, FrameDecoder, parseErrorPayload } from '../../src/protocol/index.ts';
import { listening, run, within } from '../helpers/process.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/serve-then-close.ts', import.meta.url));

for (const strategy of ['handoff', 'reuseport', 'single'] as const) {
  test(`${strategy}: once await server.close() has resolved, the process exits by itself within 1 s`, async (t) => {
    const child = spawn(process.execPath, [FIXTURE, strategy], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    let closedAt = 0;
    child.stdout.on('data', () => {
      if (closedAt === 0 && out.includes('closed')) closedAt = performance.now();
    });
    const exit = await within(once(child, 'exit'), 15_000);
    assert.notEqual(exit, null, 'the process ended');
    assert.deepEqual(exit, [0, null]);
    assert.ok(closedAt > 0, `close() resolved: ${out}`);
    const lingered = performance.now() - closedAt;
    t.diagnostic(`exited ${lingered.toFixed(0)} ms after close() resolved`);
    assert.ok(lingered < 1000, `exited ${lingered.toFixed(0)} ms after close() resolved`);
  });
}

test('SIGTERM with idle clients that never close their side: each gets SHUTTING_DOWN, and the process exits within 1 s', async (t) => {
  const p = run(t, ['serve', '--port', '0', '--json', '--workers', '2']);
  const address = await listening(p);
  // Like the tutorial's client waiting at its prompt: connected, done talking, and it will
  // not close its side when the server does (allowHalfOpen), so the server must not wait for it.
  const clients: Array<{ socket: net.Socket; received: () => Buffer; ended: Promise<unknown> }> = [];
  for (let i = 0; i < 4; i++) {
    const socket = net.connect({ ...address, allowHalfOpen: true });
    t.after(() => socket.destroy());
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write(encodeTextFrame('done talking', 64));
    await once(socket, 'data');
    clients.push({ socket, received: () => Buffer.concat(chunks), ended: once(socket, 'end') });
  }
  const signalled = performance.now();
  p.child.kill('SIGTERM');
  const exit = await within(p.exited, 5000);
  const tookMs = performance.now() - signalled;
  t.diagnostic(`exited ${tookMs.toFixed(0)} ms after SIGTERM`);
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(tookMs < 1000, `exited ${tookMs.toFixed(0)} ms after SIGTERM`);
  for (const c of clients) {
    await within(c.ended, 2000);
    const frames: Buffer[] = [];
    new FrameDecoder({}, (payload) => frames.push(Buffer.from(payload)), assert.fail).push(c.received());
    assert.equal(frames.length, 2, 'the ack, then the error');
    assert.equal(parseErrorPayload(frames[1]!)?.code, 'SHUTTING_DOWN');
  }
});
