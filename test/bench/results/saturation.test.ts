// A saturated tester: the reports say by how much (threads, machine) and what to do about it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLatencyHistogram, encodeHistogram, summarize } from '../../../src/bench/shared/latency.ts';
import { describeMeasurement, markdownReport } from '../../../src/bench/results/report.ts';
import { type BenchResult, type Measurement, summarizeMeasurements } from '../../../src/bench/results/result.ts';
import { saturationText } from '../../../src/bench/results/saturation.ts';
import { resolveBenchOptions } from '../../../src/bench/options.ts';
import { replay } from '../../helpers/screen.ts';

/** A measurement as a run would save it, with the tester's load as given. */
function fabricated(tester: Pick<Measurement['tester'], 'threadUtilization' | 'machineBusy' | 'cores'>): Measurement {
  const h = createLatencyHistogram();
  h.recordValue(50_000);
  return {
    key: 'handoff h64 16 B',
    variant: 'handoff h64',
    round: 1,
    strategy: 'handoff',
    headerBytes: 64,
    sizeBytes: 16,
    mode: 'ack',
    clients: 500,
    pipelining: 1,
    rate: 0,
    connect: { ms: 10, failed: 0, firstError: '' },
    ramp: { ms: 20, unramped: 0 },
    window: { seconds: 5, messages: 250_000 },
    msgsPerSec: { overall: 50_000, mean: 50_000, stdev: 0, min: 50_000, max: 50_000 },
    samples: [],
    latencyUs: summarize(h),
    histogram: encodeHistogram(h),
    bytes: { txPayload: 0, rxPayload: 0, txWire: 0, rxWire: 0, txHeader: 0, rxHeader: 0 },
    payloadMBps: 0,
    wireMBps: 0,
    headerShare: 0,
    errors: { total: 0, kinds: {}, first: '' },
    timeouts: 0,
    unanswered: 0,
    connAcked: { min: 1, max: 1 },
    server: null,
    tester: { cpuSeconds: 9, cpuUsPerMsg: 36, saturated: true, ...tester },
  };
}

function resultOf(m: Measurement, cores: number): BenchResult {
  return {
    schema: 'handoff-bench/1',
    label: 'fabricated',
    environment: { node: 'v26.10.0', platform: 'linux-x64', cpuModel: 'test', cores, date: '', gitCommit: null },
    options: resolveBenchOptions({ clients: 500, sizes: [16] }),
    target: { kind: 'external', host: '127.0.0.1', port: 5050 },
    startedAt: '2026-12-01T00:00:00.000Z',
    finishedAt: '2026-12-01T00:00:10.000Z',
    warnings: [],
    measurements: [m],
    summary: summarizeMeasurements([m]),
  };
}

test('a saturated tester on a busy machine: each thread and the machine by how much, and another machine plus bench:merge', () => {
  const m = fabricated({ threadUtilization: [1, 0.98], machineBusy: 0.95, cores: 2 });
  const expected =
    "load threads 100%/98% busy, machine 95% busy: the figures are the tester's limit, not the server's; " +
    'no core of this 2-core machine was idle: run the tester on another machine too';
  const terminal = describeMeasurement(m);
  assert.deepEqual(terminal.split('\n').slice(-2), [
    "  SATURATED: the tester's limit, not the server's (no core was idle)",
    '  fix: the same command on a second machine at once, then bench:merge',
  ]);
  const report = markdownReport(resultOf(m, 2));
  assert.match(report, /## Tester saturation/);
  assert.ok(report.includes(`- handoff h64 16 B: ${expected}`), report);
});

test('a saturated tester with idle cores: run with more --workers, as many as the idle cores allow', () => {
  const m = fabricated({ threadUtilization: [0.97], machineBusy: 0.4, cores: 4 });
  const text = saturationText(m.tester);
  assert.equal(
    text,
    "load thread 97% busy, machine 40% busy: the figures are the tester's limit, not the server's; " +
      'about 2.4 of the 4 cores were idle: run with --workers 3',
  );
  assert.deepEqual(describeMeasurement(m).split('\n').slice(-2), [
    "  SATURATED: the tester's limit, not the server's (2.4 of 4 cores idle)",
    '  fix: --workers 3',
  ]);
  // A run saved before the tester's cores were recorded takes them from its environment.
  const { cores: _cores, ...older } = m.tester;
  assert.match(markdownReport(resultOf({ ...m, tester: older }, 8)), /about 4\.8 of the 8 cores were idle: run with --workers 5/);
});

test('an unsaturated tester: no saturation sentence anywhere', () => {
  const m = fabricated({ threadUtilization: [0.5], machineBusy: 0.5, cores: 2 });
  m.tester.saturated = false;
  assert.doesNotMatch(describeMeasurement(m), /SATURATED/);
  assert.doesNotMatch(markdownReport(resultOf(m, 2)), /saturation/i);
});

test('in an 80-column terminal the saturation is said once per measurement, in two whole rows with the fix', async () => {
  for (const tester of [
    { threadUtilization: [1, 0.98], machineBusy: 0.95, cores: 2 },
    { threadUtilization: [0.97], machineBusy: 0.4, cores: 64 },
    { threadUtilization: [0.99], machineBusy: null, cores: 128 },
  ]) {
    const { rows, wrapped } = await replay(`${describeMeasurement(fabricated(tester), 80)}\n`);
    assert.deepEqual(wrapped, [], rows.join('\n'));
    assert.equal(rows.filter((r) => /SATURATED|saturated/.test(r)).length, 1, rows.join('\n'));
    assert.match(rows.at(-1)!, /^ {2}fix: (--workers \d+|.*bench:merge)/);
  }
});
