// Chat mode's limits and v1's rules in chat mode: a receiver that never reads is cut off
// with SLOW_CONSUMER while senders and the other receivers go on, and server memory stays
// bounded; a bad header and a shutdown behave as in v1; a thread that dies takes only its
// members, who leave their rooms.
//
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { ACK_TEXT, encodeFrame, FrameDecoder } from '../../../src/protocol/index.ts';
import { ChatPeer } from '../../helpers/chat-wire.ts';
import { listening, nthEvent, run } from '../../helpers/process.ts';
import { errorOf, eventually, sleep, withServer } from '../../helpers/wire.ts';
import { KILL_THREAD_PAYLOAD_ENV } from '../../../src/server/session/injected-faults.ts';

const MiB = 1024 * 1024;

/** The server process's resident memory, from /proc. */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** A connection that only counts what it gets (no copies): frames of each size. */
async function counter(address: { host: string; port: number }) {
  const socket = net.connect({ ...address, noDelay: true });
  await once(socket, 'connect');
  const counts = { big: 0, acks: 0, errors: [] as string[] };
  const decoder = new FrameDecoder(
    { maxMessageBytes: 2 ** 31 - 1 },
    (payload) => {
      if (payload.length > 65536) counts.big++;
      else if (payload.length === ACK_TEXT.length && payload.toString() === ACK_TEXT) counts.acks++;
      else if (errorOf(payload)) counts.errors.push(errorOf(payload)!.code);
    },
    () => counts.errors.push('undecodable'),
  );
  socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  socket.on('error', () => {});
  const closed = once(socket, 'close');
  return { socket, counts, closed };
}

test('a receiver that never reads is closed with SLOW_CONSUMER; the sender is not slowed, others get everything, server RSS stays bounded', async (t) => {
  const p = run(t, ['serve', '--port', '0', '--json', '--mode', 'chat', '--workers', '2', '--write-timeout', '0']);
  const address = await listening(p);
  const pid = p.child.pid!;
  const slow = await counter(address);
  slow.socket.pause();
  const readers = [await counter(address), await counter(address)];
  const sender = await counter(address);
  for (const c of [slow, ...readers, sender]) t.after(() => c.socket.destroy());
  await sleep(200); // everyone in the lobby (the sender's first ack proves it for the sender)
  const rssBefore = rssOf(pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssOf(pid))), 50);
  t.after(() => clearInterval(sampler));

  // 6400 messages of 64 KiB: 400 MiB through the room, in windows of 16 acks. Were the slow
  // receiver's share kept, the server would grow by that much.
  const MESSAGES = 6400;
  const frame = encodeFrame(Buffer.alloc(64 * 1024, 0x61), 64);
  const burst = Buffer.concat(Array.from({ length: 16 }, () => frame));
  const started = performance.now();
  // Once it is far behind (the server has cut it off, but not yet given up flushing to it),
  // the slow one starts reading: it must find what was queued for it, the error, and the end.
  void eventually(() => readers[0]!.counts.big >= 1000, 'progress', 60_000).then(() => slow.socket.resume());
  for (let sent = 0; sent < MESSAGES; sent += 16) {
    sender.socket.write(burst);
    await eventually(() => sender.counts.acks >= sent + 16, `${sent + 16} acks`, 30_000);
    // This test's own readers share the machine with the server: keep them within 4 MiB so that
    // they are never the slow ones (the limit is 8 MiB).
    await eventually(() => readers.every((r) => r.counts.big >= sent - 48), 'the readers to keep up', 30_000);
  }
  const seconds = (performance.now() - started) / 1000;
  await eventually(() => readers.every((r) => r.counts.big === MESSAGES), 'both readers get every message', 30_000);
  clearInterval(sampler);
  t.diagnostic(
    `400 MiB sent in ${seconds.toFixed(1)} s; server RSS ${(rssBefore / MiB).toFixed(0)} -> peak ${(rssPeak / MiB).toFixed(0)} MiB`,
  );
  assert.ok(rssPeak - rssBefore < 150 * MiB, `server RSS grew ${((rssPeak - rssBefore) / MiB).toFixed(0)} MiB`);
  for (const r of [...readers, sender]) assert.deepEqual(r.counts.errors, []);

  await slow.closed;
  assert.deepEqual(slow.counts.errors, ['SLOW_CONSUMER']);
  assert.ok(slow.counts.big < MESSAGES / 4, `it got ${slow.counts.big} messages: cut off, not waited for`);
});

test('chat mode keeps v1 rules: a bad header is BAD_HEADER for that connection only, and its room hears !LEFT', async (t) => {
  const server = await withServer(t, { mode: 'chat', workers: 2 });
  const [a, b] = [await ChatPeer.connect(t, server), await ChatPeer.connect(t, server)];
  await b.wire.sendRaw('x'.repeat(64));
  await b.wire.waitClose();
  assert.equal(errorOf(b.replies.at(-1))?.code, 'BAD_HEADER');
  await a.waitDelivery(`!LEFT lobby ${b.address}`, 1000);
  assert.equal(await a.request('still fine'), ACK_TEXT);
});

test('chat mode keeps v1 rules: on shutdown every member gets SHUTTING_DOWN', async (t) => {
  const server = await withServer(t, { mode: 'chat', workers: 2 });
  const peers = [
    await ChatPeer.connect(t, server),
    await ChatPeer.connect(t, server),
    await ChatPeer.connect(t, server),
  ];
  await server.close();
  for (const p of peers) {
    await p.wire.waitClose();
    assert.equal(errorOf(p.replies.at(-1))?.code, 'SHUTTING_DOWN');
  }
});

test('a worker thread that dies in chat mode: its members leave their rooms on the other thread, which goes on', async (t) => {
  const CRASH = '!TEST-CRASH-THIS-THREAD';
  const p = run(t, ['serve', '--port', '0', '--json', '--workers', '2', '--mode', 'chat'], {
    [KILL_THREAD_PAYLOAD_ENV]: CRASH,
  });
  const address = await listening(p);
  const peers: ChatPeer[] = [];
  for (let i = 0; i < 4; i++) peers.push(await ChatPeer.connect(t, address));
  const [victim, ...others] = peers as [ChatPeer, ...ChatPeer[]];
  await victim.send(CRASH);
  await victim.wire.waitClose(5000);
  await nthEvent(p, 'worker-died');
  await sleep(300);
  const survivors = others.filter((o) => o.wire.closedBy === null);
  const lost = peers.filter((o) => o.wire.closedBy !== null);
  assert.ok(survivors.length >= 1 && lost.length >= 1, `${survivors.length} survivors, ${lost.length} lost`);
  for (const s of survivors) {
    for (const l of lost) await s.waitDelivery(`!LEFT lobby ${l.address}`, 1000);
    assert.deepEqual((await s.who()).members, survivors.map((x) => x.address).sort());
  }
  // New members (on the replacement thread too) chat with the survivors.
  const fresh = [await ChatPeer.connect(t, address), await ChatPeer.connect(t, address)];
  await fresh[0]!.request('after the crash');
  for (const s of [...survivors, fresh[1]!]) await s.waitDelivery(`!MSG lobby ${fresh[0]!.address} after the crash`);
});

test('--ack raw with --mode chat is refused at start-up: one line, exit status 2', async (t) => {
  const p = run(t, ['serve', '--port', '0', '--mode', 'chat', '--ack', 'raw']);
  const exit = await p.exited;
  assert.deepEqual(exit, { code: 2, signal: null });
  const lines = p.stderr().trimEnd().split('\n');
  assert.equal(lines.length, 1, p.stderr());
  assert.match(lines[0]!, /--ack 'raw'.*--mode/);
});

test('the stats count deliveries as well as messages: SIGUSR2 and the final line', async (t) => {
  const p = run(t, ['serve', '--port', '0', '--json', '--workers', '2', '--mode', 'chat']);
  const address = await listening(p);
  const peers = [
    await ChatPeer.connect(t, address),
    await ChatPeer.connect(t, address),
    await ChatPeer.connect(t, address),
  ];
  for (let i = 0; i < 5; i++) await peers[0]!.request(`m${i}`);
  for (const peer of peers.slice(1)) await peer.waitDelivery('!MSG lobby ' + peers[0]!.address + ' m4');
  p.child.kill('SIGUSR2');
  const stats = await nthEvent(p, 'stats');
  // 5 messages to 2 others, the presence events of the later connections, and 8 messages in all (3 !WHO).
  assert.equal(stats.messages, 8);
  assert.ok(Number(stats.deliveries) >= 10, `deliveries: ${String(stats.deliveries)}`);
  p.child.kill('SIGTERM');
  const stopped = await nthEvent(p, 'stopped');
  assert.match(String(stopped.msg), /8 messages served, \d+ deliveries/);
});

test('--redis with a mode other than chat, or a --redis that is not a redis:// URL, is refused at start-up: one line, exit 2', async (t) => {
  for (const [args, pattern] of [
    [['--mode', 'ack', '--redis', 'redis://127.0.0.1:6379'], /--redis .*--mode 'chat'/],
    [['--mode', 'chat', '--redis', 'http://127.0.0.1:6379'], /--redis must be a URL such as redis:/],
  ] as const) {
    const p = run(t, ['serve', '--port', '0', ...args]);
    assert.deepEqual(await p.exited, { code: 2, signal: null });
    const lines = p.stderr().trimEnd().split('\n');
    assert.equal(lines.length, 1, p.stderr());
    assert.match(lines[0]!, pattern);
  }
});
