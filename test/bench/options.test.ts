// resolveBenchOptions, the programmatic API: defaults, and one refusal per option,
// each an InvalidOptionError that names the option as the API spells it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BENCH_DEFAULTS, DEFAULT_SIZES, resolveBenchOptions } from '../../src/bench/options.ts';
import { InvalidOptionError } from '../../src/protocol/index.ts';

function rejects(
  options: Parameters<typeof resolveBenchOptions>[0],
  option: string,
  names: RegExp = /./,
  oneLine = true,
) {
  assert.throws(
    () => resolveBenchOptions(options),
    (err: unknown) => {
      assert.ok(err instanceof InvalidOptionError);
      assert.equal(err.code, 'ERR_INVALID_OPTION');
      assert.equal(err.option, option);
      assert.ok(err.template.includes(`{${option}}`), `the message names {${option}}: ${err.template}`);
      assert.match(err.message, names);
      if (oneLine) assert.ok(!err.message.includes('\n'), 'one line');
      return true;
    },
  );
}

test('defaults: one header of 64, a sweep of sizes from 16 B to 64 KiB, closed loop, embedded handoff server', () => {
  const o = resolveBenchOptions();
  assert.deepEqual(o.sizes, DEFAULT_SIZES);
  assert.equal(o.sizes[0], 16);
  assert.equal(o.sizes.at(-1), 65536);
  assert.deepEqual(o.headerBytes, [64]);
  assert.equal(o.clients, BENCH_DEFAULTS.clients);
  assert.equal(o.pipelining, 1);
  assert.equal(o.rate, 0);
  assert.equal(o.messages, 0);
  assert.equal(o.target, null);
  assert.deepEqual(o.strategies, ['handoff']);
  assert.equal(o.out, 'results');
  assert.equal(o.mode, 'ack');
  assert.equal(o.timeoutS, 10);
  assert.equal(o.connectTimeoutS, 10);
});

test('a field given as undefined takes its default', () => {
  assert.equal(resolveBenchOptions({ clients: undefined }).clients, BENCH_DEFAULTS.clients);
});

test('sizes and header sizes: repeats are dropped, the order kept', () => {
  const o = resolveBenchOptions({ sizes: [1024, 16, 1024], headerBytes: [8, 64, 8] });
  assert.deepEqual(o.sizes, [1024, 16]);
  assert.deepEqual(o.headerBytes, [8, 64]);
});

test('clients 0 is refused', () => rejects({ clients: 0 }, 'clients', /^clients must be an integer/));
test('pipelining 0 is refused', () => rejects({ pipelining: 0 }, 'pipelining'));
test('durationS 0 is refused', () => rejects({ durationS: 0 }, 'durationS'));
test('warmupS -1 is refused', () => rejects({ warmupS: -1 }, 'warmupS'));
test('messages 0 is refused', () => rejects({ messages: 0 }, 'messages'));
test('an empty sizes list is refused', () => rejects({ sizes: [] }, 'sizes'));
test('a fraction of a byte is refused', () => rejects({ sizes: [1.5] }, 'sizes'));
test('sizes above the 1 MiB message limit are refused', () => rejects({ sizes: [2 * 1024 ** 2] }, 'sizes', /1 MiB/));
test('headerBytes 3 is refused (protocol minimum is 4)', () => rejects({ headerBytes: [64, 3] }, 'headerBytes'));
test('headerBytes too small for the largest size is refused', () =>
  rejects({ headerBytes: [4], sizes: [65536] }, 'headerBytes', /cannot carry the length of a 65536-byte payload/));
test('a mode other than ack or echo is refused', () => rejects({ mode: 'pong' as 'ack' }, 'mode'));
test('a negative rate is refused', () => rejects({ rate: -1 }, 'rate'));
test('workers above clients is refused, naming both', () =>
  rejects({ clients: 2, workers: 3 }, 'workers', /^workers 3 is more than clients 2/));
// (Its message shows the value as given, line break included: see validators' shown().)
test('a label of two lines is refused', () => rejects({ label: 'a\nb' }, 'label', /^label must be one line/, false));
test('json that is not a boolean is refused', () => rejects({ json: 'yes' as unknown as boolean }, 'json'));
test('serverWorkers 0 is refused', () => rejects({ serverWorkers: 0 }, 'serverWorkers'));
test('a strategy outside handoff, reuseport, single is refused', () =>
  rejects({ strategies: ['handoff', 'fork' as 'handoff'] }, 'strategies'));
test('repeat 0 is refused', () => rejects({ repeat: 0 }, 'repeat'));
test('timeoutS 0 is refused', () => rejects({ timeoutS: 0 }, 'timeoutS'));
test('connectTimeoutS 0 is refused', () => rejects({ connectTimeoutS: 0 }, 'connectTimeoutS'));
test('progress that is not a boolean is refused', () => rejects({ progress: 1 as unknown as boolean }, 'progress'));
test('an empty part of serverCommand is refused', () => rejects({ serverCommand: ['node', ''] }, 'serverCommand'));

test('target takes host:port, :port, port or [v6]:port', () => {
  assert.deepEqual(resolveBenchOptions({ target: 'localhost:5050' }).target, { host: 'localhost', port: 5050 });
  assert.deepEqual(resolveBenchOptions({ target: ':5050' }).target, { host: '127.0.0.1', port: 5050 });
  assert.deepEqual(resolveBenchOptions({ target: '5050' }).target, { host: '127.0.0.1', port: 5050 });
  assert.deepEqual(resolveBenchOptions({ target: '[::1]:7000' }).target, { host: '::1', port: 7000 });
});
test('a target without a port is refused', () => rejects({ target: 'localhost' }, 'target'));
test('a target port above 65535 is refused', () => rejects({ target: 'host:70000' }, 'target'));
test('target with two header sizes is refused', () =>
  rejects({ target: '127.0.0.1:5050', headerBytes: [64, 8] }, 'headerBytes', /target .* one headerBytes/));
test('target with several strategies is refused', () =>
  rejects({ target: ':5050', strategies: ['handoff', 'single'] }, 'strategies'));
