// sendJson: JSON out; the reply parsed when it is JSON, else its text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT } from '../../src/protocol/index.ts';
import { InvalidMessageError } from '../../src/client/index.ts';
import { failsWith } from './expect-error.ts';
import { openClient, startFakeServer } from './fake-server.ts';

test('sendJson() sends JSON.stringify(value) and parses a JSON reply', async (t) => {
  const server = await startFakeServer(t, { mode: 'echo' });
  const client = await openClient(t, server.port);
  const value = { name: 'Tim', tags: ['a', 'b'], n: 3.5, ok: true, none: null };
  assert.deepEqual(await client.sendJson(value), value);
  assert.equal(server.connections[0]!.received[0]!.toString(), JSON.stringify(value));
});

test('sendJson() resolves with the text when the reply is not JSON (an ack)', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const client = await openClient(t, server.port);
  assert.equal(await client.sendJson([1, 2, 3]), ACK_TEXT);
});

test('sendJson() of a value with no JSON form rejects with InvalidMessageError and sends nothing', async (t) => {
  const server = await startFakeServer(t, { mode: 'echo' });
  const client = await openClient(t, server.port);
  await assert.rejects(client.sendJson(undefined), failsWith(InvalidMessageError, 'ERR_INVALID_MESSAGE'));
  assert.equal(client.pendingCount, 0);
  assert.equal(await client.sendJson('fine'), 'fine');
});
