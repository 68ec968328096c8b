// The [DISCONNECTED] line counts a connection's messages in words that agree with the number.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { DISCONNECT_MESSAGE, encodeTextFrame } from '../../../src/protocol/index.ts';
import { listening, nthEvent, run } from '../../helpers/process.ts';

async function leaveAfter(port: number, messages: string[]): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('data', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(Buffer.concat([...messages, DISCONNECT_MESSAGE].map((m) => encodeTextFrame(m, 64))));
  await new Promise((resolve) => socket.once('close', resolve));
}

test('[DISCONNECTED] says `1 message` for one, `2 messages` for two', async (t) => {
  const server = run(t, ['serve', '--port', '0', '--host', '127.0.0.1', '--json', '--workers', '1']);
  const { port } = await listening(server);
  await leaveAfter(port, []);
  const one = await nthEvent(server, 'disconnect', 1);
  assert.match(String(one.msg), /\(1 message, disconnect\)/);
  await leaveAfter(port, ['hi']);
  const two = await nthEvent(server, 'disconnect', 2);
  assert.match(String(two.msg), /\(2 messages, disconnect\)/);
});

test('[STOPPED] says `1 connection, 1 message` for one of each', async (t) => {
  const server = run(t, ['serve', '--port', '0', '--host', '127.0.0.1', '--json', '--workers', '1']);
  const { port } = await listening(server);
  await leaveAfter(port, []); // !DISCONNECT is the one message
  await nthEvent(server, 'disconnect', 1);
  server.child.kill('SIGTERM');
  const stopped = await nthEvent(server, 'stopped', 1);
  assert.match(String(stopped.msg), /\[STOPPED\] 1 connection, 1 message served$/);
});
