// Connection churn (--churn K): every connection carries K messages, closes and is made again.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { resolveBenchOptions } from '../../../src/bench/options.ts';
import type { BenchResult } from '../../../src/bench/results/result.ts';
import { markdownReport } from '../../../src/bench/results/report.ts';
import { InvalidOptionError } from '../../../src/protocol/index.ts';

const run = promisify(execFile);
const HANDOFF = path.join(import.meta.dirname, '..', '..', '..', 'bin', 'handoff');

test('a short churn run against the embedded server, every strategy: connections = messages / K on both ends, nothing lost', async () => {
  const args = '-c 6 -w 2 -s 16 -d 0.5 --warmup 0 --server-workers 2 --churn 1,4 --json --no-save';
  const { stdout } = await run(HANDOFF, ['bench', ...args.split(' '), '--strategy', 'handoff,reuseport,single'], {
    timeout: 90_000,
  });
  const result = JSON.parse(stdout) as BenchResult;
  assert.deepEqual(
    result.measurements.map((m) => [m.strategy, m.churn?.messagesPerConnection]),
    [
      ['handoff', 1],
      ['handoff', 4],
      ['reuseport', 1],
      ['reuseport', 4],
      ['single', 1],
      ['single', 4],
    ],
  );
  for (const m of result.measurements) {
    const c = m.churn!;
    const k = c.messagesPerConnection;
    assert.equal(m.errors.total, 0, `${m.key}: ${m.errors.first}`);
    assert.equal(m.unanswered, 0, m.key);
    assert.ok(c.connections > 6, `${m.key}: connections were made again (${c.connections})`);
    // The tester's count and the server's, and each connection carried exactly K messages.
    assert.equal(c.serverConnections, c.connections, `${m.key}: the server counted ${c.serverConnections}`);
    assert.equal(c.completed, c.connections, m.key);
    assert.equal(m.server!.testerAcked, c.connections * k, `${m.key}: ${m.server!.testerAcked} acks`);
    assert.equal(m.server!.messages, m.server!.testerAcked, m.key);
    assert.equal(
      m.server!.connectionsPerWorker.reduce((a, b) => a + b, 0),
      c.connections,
    );
    assert.ok(c.connectionsPerSec > 0 && c.windowConnections > 0, m.key);
    assert.ok(c.connectUs.count > 0 && c.connectUs.p50 > 0 && c.connectUs.p50 <= c.connectUs.p99, m.key);
    assert.ok(c.firstReplyUs.p50 >= c.connectUs.p50, `${m.key}: the first reply comes after the connect`);
    assert.equal(typeof c.connectHistogram, 'string');
    assert.ok(c.mainThreadCpuUsPerConnection !== null && c.mainThreadCpuUsPerConnection >= 0, m.key);
  }
  const rows = result.summary.map((r) => [r.variant, r.churn?.messagesPerConnection, r.churn?.countsAgree]);
  assert.equal(rows.length, 6);
  assert.ok(rows.every(([, , agree]) => agree === true));
  const report = markdownReport(result);
  assert.match(report, /## Connection churn/);
  assert.match(report, /\| reuseport h64 \| 16 B \| 4 \|/);
});

test('churn options: a list of whole numbers; not with --rate, not in chat mode', () => {
  assert.deepEqual(resolveBenchOptions({ churn: [1, 100] }).churn, [1, 100]);
  assert.deepEqual(resolveBenchOptions({ churn: 5 }).churn, [5]);
  assert.deepEqual(resolveBenchOptions().churn, []);
  for (const [options, pattern] of [
    [{ churn: [0] }, /churn/],
    [{ churn: [1.5] }, /churn/],
    [{ churn: [1], rate: 1000 }, /closed loop/],
    [{ churn: [1], mode: 'chat' as const, sizes: [16] }, /ack and echo/],
  ] as const) {
    assert.throws(
      () => resolveBenchOptions(options),
      (err: unknown) => err instanceof InvalidOptionError && err.option === 'churn' && pattern.test(err.message),
    );
  }
});
