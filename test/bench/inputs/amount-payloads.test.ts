// --amount sends exactly N messages; your own payloads reach the server byte-exact, round-robin;
// --bailout ends the run at its threshold. Through the programmatic API (the CLI maps onto it).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { bench, type BenchResult } from '../../../src/bench/index.ts';
import { resolveBenchOptions } from '../../../src/bench/options.ts';
import { fakeServerCommand } from '../helpers/fake.ts';
import { startRecordingTarget } from '../helpers/recording-target.ts';

const QUIET = { workers: 1, out: '', progress: false, timeoutS: 5 } as const;

test('--amount: exactly N messages reach the server, whatever the connections, pipelining and threads', async (t) => {
  for (const [clients, pipelining, workers, amount] of [
    [3, 4, 1, 1000],
    [5, 1, 2, 2],
    [4, 8, 2, 999],
  ] as const) {
    const target = await startRecordingTarget(t);
    const result = (await bench({
      ...QUIET,
      workers,
      clients,
      pipelining,
      amount,
      sizes: [16],
      target: `127.0.0.1:${target.port}`,
    })) as BenchResult;
    const m = result.measurements[0]!;
    const what = `${clients} clients x ${pipelining}, ${workers} threads, amount ${amount}`;
    assert.equal(target.all().length, amount, what);
    assert.equal(m.window.messages, amount, what);
    assert.equal(m.errors.total, 0, what);
    assert.equal(m.unanswered, 0, what);
  }
});

test('--amount with the embedded server: its own count agrees, every size of the sweep gets exactly N', async () => {
  const result = (await bench({
    ...QUIET,
    clients: 2,
    amount: 500,
    sizes: [16, 1024],
    serverCommand: fakeServerCommand(),
  })) as BenchResult;
  assert.deepEqual(
    result.measurements.map((m) => [m.sizeBytes, m.window.messages, m.server?.messages]),
    [
      [16, 500, 500],
      [1024, 500, 500],
    ],
  );
});

test('--payload-file, one message a line: each reaches the server byte-exact, in turn on each connection', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'handoff-payloads-'));
  const file = path.join(dir, 'lines.txt');
  const lines = ['hello', 'wörld ✓', '{"user":"ada","n":1}', ' spaced  out '];
  writeFileSync(file, `${lines.join('\n')}\n`);
  const target = await startRecordingTarget(t);
  await bench({ ...QUIET, clients: 1, pipelining: 3, amount: 10, payloadFile: file, target: `:${target.port}` });
  const expected = Array.from({ length: 10 }, (_, i) => lines[i % lines.length]!);
  assert.deepEqual(
    target.connections[0]!.map((b) => b.toString('utf8')),
    expected,
  );
  // Byte for byte, UTF-8 included.
  assert.ok(target.connections[0]![1]!.equals(Buffer.from('wörld ✓', 'utf8')));
});

test('--payload-file with a JSON array of strings, in echo mode: the echoes are checked per payload, none is an error', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'handoff-payloads-'));
  const file = path.join(dir, 'msgs.json');
  const payloads = ['a', 'line\nbreak', 'x'.repeat(3000)];
  writeFileSync(file, JSON.stringify(payloads));
  const target = await startRecordingTarget(t, { echo: true });
  const result = (await bench({
    ...QUIET,
    clients: 2,
    pipelining: 2,
    amount: 12,
    mode: 'echo',
    payloadFile: file,
    target: `127.0.0.1:${target.port}`,
  })) as BenchResult;
  for (const seen of target.connections) {
    assert.deepEqual(
      seen.map((b) => b.toString()),
      seen.map((_, i) => payloads[i % payloads.length]),
    );
  }
  assert.equal(target.all().length, 12);
  assert.equal(result.measurements[0]!.errors.total, 0, JSON.stringify(result.measurements[0]!.errors));
});

test('--payload-json: an object, or an array of them, sent as compact JSON', async (t) => {
  const target = await startRecordingTarget(t);
  await bench({ ...QUIET, clients: 1, amount: 4, payloadJson: [{ a: 1 }, { b: 'two' }], target: `:${target.port}` });
  assert.deepEqual(
    target.all().map((b) => b.toString()),
    ['{"a":1}', '{"b":"two"}', '{"a":1}', '{"b":"two"}'],
  );
});

test('payload options: one source at most, not with --sizes, each payload a string under the limit', () => {
  const refused = (options: object) => {
    try {
      resolveBenchOptions(options);
    } catch (err) {
      return (err as Error).message;
    }
    return assert.fail(`${JSON.stringify(options)} was accepted`);
  };
  assert.match(refused({ payloads: ['a'], sizes: [16] }), /^sizes sets synthetic payloads/);
  assert.match(refused({ payloads: ['a'], payloadJson: {} }), /^give one of payloads and payloadJson/);
  assert.match(refused({ payloadJson: [1] }), /^payloadJson must be a JSON object or an array of objects/);
  assert.match(refused({ payloads: [] }), /^payloads has no payload in it/);
  assert.match(refused({ payloadFile: '/no/such/file' }), /^payloadFile cannot be read: ENOENT/);
  assert.match(refused({ payloads: ['x'.repeat(2 ** 20 + 1)] }), /above the 1 MiB message limit/);
  assert.match(
    refused({ payloads: ['x'.repeat(10_000)], headerBytes: [4] }),
    /cannot carry the length of a 10000-byte/,
  );
  // The measurement is named by the payloads' mean size.
  assert.deepEqual(resolveBenchOptions({ payloads: ['ab', 'abcdef'] }).sizes, [4]);
});

test('--bailout: the run ends with the measurement that reached it; the later sizes are not run', async () => {
  const warnings: string[] = [];
  const run = bench({
    ...QUIET,
    clients: 4,
    sizes: [16, 64, 256],
    durationS: 5,
    warmupS: 0,
    bailout: 2,
    serverCommand: fakeServerCommand('--close-after', '20'),
  });
  run.on('warning', (text) => warnings.push(text));
  const began = performance.now();
  const result = (await run) as BenchResult;
  assert.equal(result.measurements.length, 1);
  assert.ok(result.measurements[0]!.errors.total >= 2);
  // Stopped early, not after the 5 s window.
  assert.ok(performance.now() - began < 4_500, `${performance.now() - began} ms`);
  assert.ok(
    warnings.some((w) => /bailed out after \d+ errors \(bailout 2\)/.test(w)),
    warnings.join('\n'),
  );
});
