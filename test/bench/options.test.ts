import assert from 'node:assert/strict';
import { test } from 'node:test';
import yargs from 'yargs';
import { benchBuilder, benchOptionsFromArgv } from '../../src/bench/cli.ts';
import {
  InvalidOptionError,
  DEFAULT_SIZES,
  parseCount,
  parseSize,
  parseTarget,
  resolveBenchOptions,
  splitList,
} from '../../src/bench/options.ts';
import { checkFileLimit, readFileLimit } from '../../src/bench/load/system.ts';

/** argv as a user types it -> resolved options, through the real yargs builder, without running anything. */
async function fromArgv(line: string) {
  const argv = await benchBuilder(yargs())
    .strict()
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseAsync(line);
  return resolveBenchOptions(benchOptionsFromArgv(argv));
}

function rejects(options: Parameters<typeof resolveBenchOptions>[0], option: string) {
  assert.throws(
    () => resolveBenchOptions(options),
    (err: InvalidOptionError) => {
      assert.equal(err.code, 'ERR_INVALID_OPTION');
      assert.equal(err.option, option);
      assert.ok(!err.message.includes('\n'), 'one line');
      return true;
    },
  );
}

test('sizes take binary units: 16, 1k, 4KiB, 64k, 1m', () => {
  assert.equal(parseSize('16'), 16);
  assert.equal(parseSize('1k'), 1024);
  assert.equal(parseSize('4KiB'), 4096);
  assert.equal(parseSize('64k'), 65536);
  assert.equal(parseSize('1.5k'), 1536);
  assert.equal(parseSize('1m'), 1048576);
  assert.equal(parseSize('0'), 0);
});

test('a size with an unknown unit or a fraction of a byte is refused', () => {
  for (const bad of ['1x', 'k', '-1', '1.3', '', '1 k b']) {
    assert.throws(() => parseSize(bad), { code: 'ERR_INVALID_OPTION' }, bad);
  }
});

test('counts and rates take decimal units: 10k, 1.5m', () => {
  assert.equal(parseCount('10k', 'rate'), 10_000);
  assert.equal(parseCount('1.5m', 'rate'), 1_500_000);
  assert.throws(() => parseCount('10q', 'rate'), { code: 'ERR_INVALID_OPTION' });
});

test('lists split on commas and spaces, and repeated flags add up', () => {
  assert.deepEqual(splitList('16, 256,1k'), ['16', '256', '1k']);
  assert.deepEqual(splitList(['64,8', '16']), ['64', '8', '16']);
});

test('defaults: one header of 64, a sweep of sizes from 16 B to 64 KiB, closed loop, embedded handoff server', () => {
  const o = resolveBenchOptions();
  assert.deepEqual(o.sizes, DEFAULT_SIZES);
  assert.equal(o.sizes[0], 16);
  assert.equal(o.sizes.at(-1), 65536);
  assert.deepEqual(o.headerBytes, [64]);
  assert.equal(o.pipelining, 1);
  assert.equal(o.rate, 0);
  assert.equal(o.target, null);
  assert.deepEqual(o.strategies, ['handoff']);
  assert.equal(o.out, 'results');
  assert.equal(o.mode, 'ack');
});

test('--clients 0 is refused with one line naming the option', () => rejects({ clients: 0 }, 'clients'));
test('--pipelining 0 is refused', () => rejects({ pipelining: 0 }, 'pipelining'));
test('--duration 0 is refused', () => rejects({ durationS: 0 }, 'duration'));
test('--sizes 1x is refused', () => rejects({ sizes: '1x' }, 'sizes'));
test('--sizes above the 1 MiB message limit is refused', () => rejects({ sizes: '2m' }, 'sizes'));
test('--header-bytes 3 is refused (protocol minimum is 4)', () => rejects({ headerBytes: '64,3' }, 'header-bytes'));
test('--header-bytes too small for the largest size is refused', () =>
  rejects({ headerBytes: 4, sizes: '64k' }, 'header-bytes'));
test('--mode other than ack or echo is refused', () => rejects({ mode: 'pong' as 'ack' }, 'mode'));
test('--strategy outside handoff, reuseport, single is refused', () =>
  rejects({ strategies: 'handoff,fork' }, 'strategy'));
test('--workers above --clients is refused', () => rejects({ clients: 2, workers: 3 }, 'workers'));
test('--target with two header sizes is refused', () =>
  rejects({ target: '127.0.0.1:5050', headerBytes: '64,8' }, 'header-bytes'));
test('--target with several strategies is refused', () =>
  rejects({ target: ':5050', strategies: 'handoff,single' }, 'strategy'));
test('--rate 10q is refused', () => rejects({ rate: '10q' }, 'rate'));
test('--messages 0 is refused', () => rejects({ messages: '0' }, 'messages'));

test('--target takes host:port, :port, or [v6]:port', () => {
  assert.deepEqual(parseTarget('localhost:5050'), { host: 'localhost', port: 5050 });
  assert.deepEqual(parseTarget(':5050'), { host: '127.0.0.1', port: 5050 });
  assert.deepEqual(parseTarget('[::1]:7000'), { host: '::1', port: 7000 });
  assert.throws(() => parseTarget('localhost'), { code: 'ERR_INVALID_OPTION' });
  assert.throws(() => parseTarget('host:70000'), { code: 'ERR_INVALID_OPTION' });
});

test('argv with every flag maps onto the options', async () => {
  const o = await fromArgv(
    '-c 500 -p 4 -d 3 --warmup 0.5 -s 16,1k -s 64k --header-bytes 64,8 --mode echo -r 20k -w 2 --label x ' +
      '--json --out res --strategy handoff,reuseport --server-workers 3 --repeat 2 --timeout 2 --no-progress',
  );
  assert.equal(o.clients, 500);
  assert.equal(o.pipelining, 4);
  assert.equal(o.durationS, 3);
  assert.equal(o.warmupS, 0.5);
  assert.deepEqual(o.sizes, [16, 1024, 65536]);
  assert.deepEqual(o.headerBytes, [64, 8]);
  assert.equal(o.mode, 'echo');
  assert.equal(o.rate, 20_000);
  assert.equal(o.workers, 2);
  assert.equal(o.label, 'x');
  assert.equal(o.json, true);
  assert.equal(o.out, 'res');
  assert.deepEqual(o.strategies, ['handoff', 'reuseport']);
  assert.equal(o.serverWorkers, 3);
  assert.equal(o.repeat, 2);
  assert.equal(o.timeoutS, 2);
  assert.equal(o.progress, false);
});

test('argv: -n and --target, and --no-save empties the output folder', async () => {
  const o = await fromArgv('-n 10k --target 127.0.0.1:6000 --no-save');
  assert.equal(o.messages, 10_000);
  assert.deepEqual(o.target, { host: '127.0.0.1', port: 6000 });
  assert.equal(o.out, '');
});

test('file limit: enough passes; a low soft limit names the ulimit command; a low hard limit says so', () => {
  checkFileLimit(500, { soft: 1024, hard: 4096 });
  assert.throws(
    () => checkFileLimit(500, { soft: 256, hard: 4096 }),
    (err: Error & { code: string }) => {
      assert.equal(err.code, 'ERR_FILE_LIMIT');
      assert.match(err.message, /ulimit -n \d+/);
      return true;
    },
  );
  assert.throws(() => checkFileLimit(500, { soft: 256, hard: 256 }), /hard limit is 256/);
  const parsed = readFileLimit(
    'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n',
  );
  assert.deepEqual(parsed, { soft: 1024, hard: 524288 });
});
