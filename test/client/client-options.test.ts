// resolveClientOptions: one check per option, a precise message naming it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CLIENT_DEFAULTS,
  type ClientOptions,
  InvalidOptionError,
  resolveClientOptions,
} from '../../src/client/index.ts';

function rejects(options: ClientOptions, option: string): void {
  assert.throws(
    () => resolveClientOptions(options),
    (err: unknown) =>
      err instanceof InvalidOptionError &&
      err.code === 'ERR_INVALID_OPTION' &&
      err.option === option &&
      err.message.startsWith(option),
  );
}

test('defaults fill every option but the port', () => {
  assert.deepEqual(resolveClientOptions({ port: 5050 }), { ...CLIENT_DEFAULTS, port: 5050 });
  assert.ok(Object.isFrozen(resolveClientOptions({ port: 5050 })));
});

test('port must be an integer from 1 to 65535', () => {
  for (const port of [0, -1, 65_536, 1.5, Number.NaN, '80' as unknown as number, undefined as unknown as number])
    rejects({ port }, 'port');
  assert.equal(resolveClientOptions({ port: 65_535 }).port, 65_535);
});

test('host must be a non-empty string', () => {
  rejects({ port: 1, host: '' }, 'host');
  rejects({ port: 1, host: 42 as unknown as string }, 'host');
});

test('headerBytes must be an integer from 4 to 1024', () => {
  for (const headerBytes of [3, 1025, 64.5]) rejects({ port: 1, headerBytes }, 'headerBytes');
  assert.equal(resolveClientOptions({ port: 1, headerBytes: 4 }).headerBytes, 4);
  assert.equal(resolveClientOptions({ port: 1, headerBytes: 1024 }).headerBytes, 1024);
});

test('maxMessageBytes must be an integer from 0 to 2^31-1', () => {
  for (const maxMessageBytes of [-1, 2 ** 31, 0.5]) rejects({ port: 1, maxMessageBytes }, 'maxMessageBytes');
  assert.equal(resolveClientOptions({ port: 1, maxMessageBytes: 0 }).maxMessageBytes, 0);
});

test("ack must be 'framed' or 'raw'", () => {
  rejects({ port: 1, ack: 'RAW' as 'raw' }, 'ack');
  assert.equal(resolveClientOptions({ port: 1, ack: 'raw' }).ack, 'raw');
});

test('connectTimeoutMs must be a positive integer', () => {
  for (const connectTimeoutMs of [0, -5, 1.5]) rejects({ port: 1, connectTimeoutMs }, 'connectTimeoutMs');
});

test('replyTimeoutMs must be an integer >= 0 (0 = no limit)', () => {
  for (const replyTimeoutMs of [-1, 2.5]) rejects({ port: 1, replyTimeoutMs }, 'replyTimeoutMs');
  assert.equal(resolveClientOptions({ port: 1, replyTimeoutMs: 0 }).replyTimeoutMs, 0);
});

test('a missing options object is ERR_INVALID_OPTION, not a TypeError', () => {
  rejects(undefined as unknown as ClientOptions, 'options');
});

test('chat must be true or false (default false)', () => {
  rejects({ port: 1, chat: 'yes' as unknown as boolean }, 'chat');
  assert.equal(resolveClientOptions({ port: 1 }).chat, false);
  assert.equal(resolveClientOptions({ port: 1, chat: true }).chat, true);
});

test("chat cannot go with ack 'raw': deliveries need frames", () => {
  rejects({ port: 1, chat: true, ack: 'raw' }, 'chat');
  assert.throws(() => resolveClientOptions({ port: 1, chat: true, ack: 'raw' }), /deliveries need frames/);
});

test('maxBufferedDeliveryBytes must be an integer from 0 to 2^31-1 (default 8 MiB)', () => {
  for (const maxBufferedDeliveryBytes of [-1, 2 ** 31, 1.5])
    rejects({ port: 1, maxBufferedDeliveryBytes }, 'maxBufferedDeliveryBytes');
  assert.equal(resolveClientOptions({ port: 1, maxBufferedDeliveryBytes: 0 }).maxBufferedDeliveryBytes, 0);
  assert.equal(resolveClientOptions({ port: 1 }).maxBufferedDeliveryBytes, 8 * 1024 * 1024);
});
