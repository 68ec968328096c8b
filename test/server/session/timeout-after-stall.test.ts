// After the event loop stalls for longer than a timeout, bytes that arrived in time are read
// before the timeouts are judged: the client is answered, not timed out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT } from '../../../src/protocol/index.ts';
import { connect, errorOf, withServer } from '../../helpers/wire.ts';

function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // the whole thread (this test and the single-strategy server in it) does nothing else
  }
}

test('a frame that arrived during a stall is answered, not timed out', async (t) => {
  // Strategy single: the server runs on this thread, so the test can stall it.
  const server = await withServer(t, { strategy: 'single', idleTimeoutMs: 1000, frameTimeoutMs: 1000 });
  const c = await connect(t, server);
  await c.send('first');
  assert.equal(await c.readText(), ACK_TEXT);
  void c.send('second'); // handed to the kernel now; the server reads it after the stall
  stall(2500); // well past the 1 s timeouts (they are wide so a busy machine cannot fire them before the send)
  const reply = await c.readText();
  assert.equal(errorOf(Buffer.from(reply)), null, `answered, not: ${reply}`);
  assert.equal(reply, ACK_TEXT);
});
