// When accept() fails anyway (descriptors taken elsewhere): back off, log once per burst, resume.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { test } from 'node:test';
import { ACCEPT_BACKOFF_MS, guardAccepts } from '../../../src/server/accept/accept-guard.ts';
import { descriptorLimit, fitConnections, SpareDescriptors } from '../../../src/server/accept/descriptors.ts';
import type { ServerLog } from '../../../src/server/observe/log.ts';

function recordingLog(): ServerLog & { lines: string[] } {
  const lines: string[] = [];
  const write = (_event: string, text: string) => void lines.push(text);
  return { lines, essential: write, info: write, verbose: true, flush() {} };
}

/** Just what the guard uses of a net.Server. */
class FakeServer extends EventEmitter {
  listening = true;
  listens: net.ListenOptions[] = [];
  address() {
    return { address: '127.0.0.1', family: 'IPv4', port: 4321 };
  }
  close() {
    this.listening = false;
  }
  listen(options: net.ListenOptions) {
    this.listens.push(options);
    this.listening = true;
  }
}

function acceptError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`accept ${code}`), { code, syscall: 'accept' });
}

test('a burst of EMFILE accept failures: one line, spare descriptors let go, accepting paused, then resumed on the same port with one line', async () => {
  const server = new FakeServer();
  const log = recordingLog();
  const spares = new SpareDescriptors(2);
  assert.equal(spares.held, 2);
  const guard = guardAccepts(server as unknown as net.Server, { host: '127.0.0.1', port: 0 }, log, spares);
  for (let i = 0; i < 1000; i++) server.emit('error', acceptError('EMFILE'));
  assert.equal(log.lines.length, 1, `one line for the burst: ${log.lines.join('\n')}`);
  assert.match(log.lines[0]!, /EMFILE: out of file descriptors/);
  assert.equal(server.listening, false, 'accepting is paused');
  assert.equal(spares.held, 0, 'the spare descriptors were let go');
  assert.equal(guard.backingOff, true);
  await new Promise((r) => setTimeout(r, ACCEPT_BACKOFF_MS + 50));
  assert.equal(server.listening, true, 'accepting again');
  assert.deepEqual(server.listens, [{ host: '127.0.0.1', port: 4321 }], 'on the port it had');
  assert.equal(spares.held, 2, 'spares taken back');
  assert.equal(log.lines.length, 2);
  assert.match(log.lines[1]!, /accepting connections again after 1,000 failed accepts \(EMFILE\)/);
  guard.stop();
});

test('after stop(), a pause does not listen again', async () => {
  const server = new FakeServer();
  const guard = guardAccepts(server as unknown as net.Server, { port: 0 }, recordingLog(), new SpareDescriptors(0));
  server.emit('error', acceptError('ENFILE'));
  guard.stop();
  await new Promise((r) => setTimeout(r, ACCEPT_BACKOFF_MS + 50));
  assert.equal(server.listening, false);
});

test('the descriptor limit is read from /proc/self/limits (soft limit)', () => {
  const text =
    'Limit                     Soft Limit           Hard Limit           Units\nMax open files            256                  4096                 files\n';
  assert.equal(descriptorLimit(text), 256);
  assert.equal(descriptorLimit('Max open files            unlimited            unlimited            files'), Infinity);
  assert.equal(descriptorLimit('nothing here'), null);
  if (process.platform === 'linux') assert.ok((descriptorLimit() ?? 0) > 0);
});

test('--max-connections is lowered to the descriptors left after those in use and a reserve, never below 1', () => {
  assert.deepEqual(fitConnections(10_000, 256, 37), {
    maxConnections: 187,
    requested: 10_000,
    limit: 256,
    inUse: 37,
    reserved: 32,
  });
  assert.equal(fitConnections(100, 256, 37).maxConnections, 100, 'a limit that fits is kept');
  assert.equal(fitConnections(10_000, 1024, 40).reserved, 128, 'an eighth of a larger limit is kept free');
  assert.equal(fitConnections(10_000, 256, 37, 64).reserved, 80, 'room for the lingering refusals');
  assert.equal(fitConnections(10_000, 40, 37).maxConnections, 1);
  assert.equal(fitConnections(10_000, Infinity, 37).maxConnections, 10_000);
});
