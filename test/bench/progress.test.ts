// The live view drawn into a headless terminal (xterm.js) 80 columns wide: what a
// user sees, screen line by screen line, not the bytes written.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Writable } from 'node:stream';
import { headlessScreen } from '../helpers/screen.ts';
import { resolveBenchOptions } from '../../src/bench/options.ts';
import { etaText, liveView } from '../../src/bench/progress.ts';
import type { PlanInfo } from '../../src/bench/load/window.ts';

/** A terminal of `cols` columns; out and err both draw on it, as on a real one. */
function screen(cols: number) {
  const s = headlessScreen(cols, 60);
  return { ...s, streams: { out: s.stream(), err: s.stream() } };
}

const plan = (index: number, total: number, key: string): PlanInfo => ({ index, total, key, round: 1 });
const tick = (elapsedS: number, msgsPerSec: number) => ({
  phase: 'measure' as const,
  elapsedS,
  msgsPerSec,
  messages: 0,
});

test('the bars fit 80 columns, warnings and reports go above them whole, and the overall line gives the ETA', async (t) => {
  const s = screen(80);
  t.after(s.dispose);
  let clock = 0;
  const view = liveView(resolveBenchOptions({ durationS: 5, warmupS: 1 }), s.streams, () => clock);
  t.after(() => view.close());
  const h = view.hooks;
  h.onMeasurementStart!(plan(0, 3, 'handoff h64 16 B'));
  clock += 2000;
  h.onTick!(plan(0, 3, 'handoff h64 16 B'), tick(1, 1_234_567));
  let lines = await s.lines();
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0]!, /^\[1\/3\] handoff h64 16 B .*about \d+ s left/);
  assert.match(lines[1]!, /measure .* 1\/5 s +1,234,567 msgs\/s$/, 'the live figure is not cut off');
  const warning =
    "handoff h64 16 B: load thread 1 was busy 99% of the window: the figures may be the tester's limit, add --workers";
  h.onWarning!(warning);
  clock += 5000;
  h.onTick!(plan(0, 3, 'handoff h64 16 B'), tick(5, 1_000_000));
  h.onMeasurementEnd!(plan(0, 3, 'handoff h64 16 B'), {});
  view.report('handoff h64 16 B: 50 connections x 1 in flight\n  1,000,000 msgs/s over 5.0 s\n');
  h.onMeasurementStart!(plan(1, 3, 'handoff h64 1 KiB'));
  lines = await s.lines();
  for (const line of lines) assert.ok(line.length <= 80);
  // The warning, whole (wrapped at a word), then the report, then the bars: nothing of a bar in between.
  const text = lines.join('\n');
  assert.match(
    text,
    /^warning: handoff h64 16 B: load thread 1 was busy 99% of the window: the\n {2}figures may be the tester's limit, add --workers\nhandoff h64 16 B: 50 connections x 1 in flight\n {2}1,000,000 msgs\/s over 5\.0 s\n\n\[2\/3\] handoff h64 1 KiB .*about \d+ s left *\n {2}connect /,
  );
  // After one measurement of 7 s, two are left: about 14 s.
  assert.match(lines.at(-2)!, /about 14 s left/);
  view.close();
  lines = await s.lines();
  assert.doesNotMatch(lines.join('\n'), /\[2\/3\]|connect .*msgs\/s/, 'no bar left behind');
  assert.match(lines.join('\n'), /add --workers/);
});

test('on a 50-column terminal the bars shrink and still end with the live figure', async (t) => {
  const s = screen(50);
  t.after(s.dispose);
  const view = liveView(resolveBenchOptions({ durationS: 5 }), s.streams, () => 0);
  t.after(() => view.close());
  view.hooks.onMeasurementStart!(plan(0, 2, 'handoff h64 16 B'));
  view.hooks.onTick!(plan(0, 2, 'handoff h64 16 B'), tick(2, 56_000));
  const lines = await s.lines();
  assert.match(lines[1]!, /56,000 msgs\/s$/);
  view.close();
});

test('not a terminal: no bars, warnings still printed, reports as they are', async () => {
  const written: string[] = [];
  const sink = (isTTY: boolean) =>
    Object.assign(
      new Writable({
        write(chunk: Buffer, _e, done) {
          written.push(chunk.toString());
          done();
        },
      }),
      { isTTY },
    );
  const view = liveView(resolveBenchOptions({}), { out: sink(false), err: sink(false) });
  view.hooks.onMeasurementStart!(plan(0, 1, 'x'));
  view.hooks.onWarning!('w');
  view.report('r');
  view.close();
  assert.deepEqual(written, ['warning: w\n', 'r\n']);
});

test('the ETA reads in seconds, minutes, hours', () => {
  assert.equal(etaText(42.4), 'about 42 s left');
  assert.equal(etaText(185), 'about 3 min left');
  assert.equal(etaText(3900), 'about 1 h 5 min left');
  assert.equal(etaText(null), 'time left: after the first');
});
