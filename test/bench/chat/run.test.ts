// Short real chat runs (a few seconds each) against the embedded handoff chat server:
// nothing lost, nothing duplicated, in order at every receiver, and the deliveries
// counted exactly (the tester's count is what was sent times the recipients, and is
// what the servers say they wrote).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { runChatBench } from '../../../src/bench/load/chat/run.ts';
import { resolveBenchOptions } from '../../../src/bench/options.ts';
import type { ChatResult } from '../../../src/bench/results/chat-result.ts';
import { assertExact, SHORT } from '../helpers/chat.ts';

const run = promisify(execFile);
const HANDOFF = path.join(import.meta.dirname, '..', '..', '..', 'bin', 'handoff');

test('handoff, 2 server workers, 2 rooms, 2 load threads, 2 sizes: exact at every receiver, and the server wrote what the tester read', async () => {
  // At a rate: in a closed loop the senders wait only for their own acks, so on a
  // machine busy with other tests the receivers' threads can fall 8 MiB behind and
  // be cut off as SLOW_CONSUMER, which is the server doing its job, not this test's.
  const result = await runChatBench(
    resolveBenchOptions({
      ...SHORT,
      rate: 2000,
      clients: 14,
      senders: 4,
      rooms: 2,
      serverWorkers: 2,
      workers: 2,
      sizes: [16, 300],
    }),
  );
  assert.equal(result.schema, 'handoff-bench-chat/1');
  assert.equal(result.measurements.length, 2);
  for (const m of result.measurements) {
    assertExact(m);
    assert.equal(m.variant, 'handoff w2');
    assert.equal(m.receivers, 10);
    // Room 0: senders 0 and 2 and 5 receivers; room 1: sender 1 and 3 and 5 receivers: 6 recipients each.
    assert.equal(m.recipientsPerMessage, 6);
    assert.ok(m.server, 'an embedded server has figures');
    assert.equal(m.server.countsAgree, true, `${m.server.deliveriesCounted} counted, ${m.server.testerFrames} read`);
    assert.ok(m.presenceEvents > 0, 'the joins were seen');
  }
  assert.equal(result.summary.length, 2);
  assert.equal(result.summary[0]!.lostTotal, 0);
});

test('handoff at a fixed rate: the senders keep the schedule and latency counts from it', async () => {
  const result = await runChatBench(
    resolveBenchOptions({ ...SHORT, durationS: 1, clients: 8, senders: 2, rate: 200, serverWorkers: 1, sizes: [16] }),
  );
  const m = result.measurements[0]!;
  assertExact(m);
  assert.ok(Math.abs(m.sent.perSec - 200) <= 40, `sent ${m.sent.perSec} msgs/s at a rate of 200`);
  assert.ok(m.latencyUs.p50 < 200_000, `p50 ${m.latencyUs.p50} µs on an idle loopback`);
});

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'handoff-chat-bench-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('handoff bench --mode chat saves the run (JSON, markdown, chart, index) and compare reads it', async (t) => {
  const dir = await tempDir(t);
  const { stdout } = await run(
    HANDOFF,
    [
      ...'bench --mode chat -c 6,8 --senders 2 -s 16 -d 0.5 --warmup 0.1 --server-workers 1 --label chat-test'.split(
        ' ',
      ),
      '--out',
      dir,
    ],
    { timeout: 60_000 },
  );
  assert.match(stdout, /deliveries\/s to receivers/);
  assert.match(stdout, /recipients per message = 4 receivers \+ 2 senders - 1/);
  const files = await readdir(dir);
  const json = files.find((f) => f.endsWith('chat-test.json'))!;
  assert.ok(json, `a saved run in ${files}`);
  const result = JSON.parse(await readFile(path.join(dir, json), 'utf8')) as ChatResult;
  assert.equal(result.schema, 'handoff-bench-chat/1');
  assert.deepEqual(
    result.summary.map((r) => r.receivers),
    [4, 6],
  );
  for (const m of result.measurements) assertExact(m);
  assert.match(await readFile(path.join(dir, json.replace('.json', '.svg')), 'utf8'), /^<svg/);
  assert.match(await readFile(path.join(dir, json.replace('.json', '.md')), 'utf8'), /## Summary/);
  assert.match(await readFile(path.join(dir, 'README.md'), 'utf8'), /chat, 2 senders, 6\/8 conns/);

  const compared = await run(HANDOFF, ['compare', path.join(dir, json), path.join(dir, json), '--no-save'], {
    timeout: 30_000,
  });
  assert.match(compared.stdout, /A deliveries\/s/);
  assert.match(compared.stdout, /4 receivers, 16 B .* 1\.000 .* within noise/);
  assert.match(compared.stdout, /6 receivers, 16 B/);
});

test('a target that never lets the connections into the room fails within --connect-timeout, in one line', async (t) => {
  // Accepts, reads, never answers: no !OK, so nothing may be sent.
  const silent = net.createServer((socket) => socket.resume());
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => silent.close());
  const { port } = silent.address() as net.AddressInfo;
  const began = performance.now();
  const err = await run(
    HANDOFF,
    [
      'bench',
      ...'--mode chat -c 4 --senders 1 -s 16 -d 0.3 --no-save --connect-timeout 0.5'.split(' '),
      '--target',
      `127.0.0.1:${port}`,
    ],
    { timeout: 20_000 },
  ).then(
    () => assert.fail('the run succeeded'),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(err.code, 1);
  assert.equal(err.stderr.trim().split('\n').length, 1, err.stderr);
  assert.match(err.stderr, /4 of 4 connections did not get into the room .*ERR_CONNECT_TIMEOUT/);
  assert.ok(performance.now() - began < 10_000);
});
