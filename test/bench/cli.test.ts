// `handoff bench` as a user runs it: one line and an exit status for what goes wrong.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import yargs from 'yargs';
import {
  BENCH_FLAGS,
  benchBuilder,
  benchOptionsFromArgv,
  compareBuilder,
  compareOptionsFromArgv,
} from '../../src/bench/cli.ts';
import { BENCH_DEFAULTS } from '../../src/bench/options.ts';
import { InvalidOptionError } from '../../src/protocol/index.ts';

const run = promisify(execFile);

/** argv as a user types it -> yargs, through the real builder, without running anything. */
function parse(args: string | string[]) {
  return benchBuilder(yargs())
    .strict()
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseAsync(args);
}

const fromArgv = async (args: string | string[]) => benchOptionsFromArgv(await parse(args));

/** The error a command line gets, worded in its flags as the CLI prints it. */
async function flagError(args: string | string[]): Promise<string> {
  try {
    await fromArgv(args);
  } catch (err) {
    assert.ok(err instanceof InvalidOptionError, String(err));
    return BENCH_FLAGS.describeError(err);
  }
  assert.fail(`${String(args)} was accepted`);
}

test('argv with every flag maps onto the options', async () => {
  const o = await fromArgv(
    '-c 500 -p 4 -d 3 --warmup 0.5 -s 16,1k -s 64k --header-bytes 64,8 --mode echo -r 20k -w 2 --label x ' +
      '--json --out res --strategy handoff,reuseport --server-workers 3 --repeat 2 --timeout 2 --connect-timeout 0.25 ' +
      '--no-progress --server-command "node fake.ts"',
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
  assert.equal(o.connectTimeoutS, 0.25);
  assert.equal(o.progress, false);
  assert.deepEqual(o.serverCommand, ['node', 'fake.ts']);
});

test('argv with no flags gives the defaults', async () => {
  const o = await fromArgv('');
  assert.equal(o.clients, BENCH_DEFAULTS.clients);
  assert.deepEqual(o.sizes, BENCH_DEFAULTS.sizes);
  assert.equal(o.out, BENCH_DEFAULTS.out);
  assert.equal(o.progress, true);
  assert.equal(o.connectTimeoutS, BENCH_DEFAULTS.connectTimeoutS);
});

test('argv: -n and --target, and --no-save empties the output folder', async () => {
  const o = await fromArgv('-n 10k --target 127.0.0.1:6000 --no-save');
  assert.equal(o.messages, 10_000);
  assert.deepEqual(o.target, { host: '127.0.0.1', port: 6000 });
  assert.equal(o.out, '');
});

test('sizes take binary units: 16, 1k, 4KiB, 64k, 1.5k, 1m, 0', async () => {
  const o = await fromArgv('-s 16,1k,4KiB,64k,1.5k,1m,0 --header-bytes 8');
  assert.deepEqual(o.sizes, [16, 1024, 4096, 65536, 1536, 1048576, 0]);
});

test('lists split on commas and spaces, and repeated flags add up', async () => {
  const o = await fromArgv(['-s', '16, 256,1k', '-s', '64k']);
  assert.deepEqual(o.sizes, [16, 256, 1024, 65536]);
});

test('counts and rates take decimal units: -r 10k, -n 1.5m', async () => {
  assert.equal((await fromArgv('-r 10k')).rate, 10_000);
  assert.equal((await fromArgv('-n 1.5m')).messages, 1_500_000);
});

test('a size with an unknown unit or a fraction of a byte is refused, naming --sizes', async () => {
  for (const bad of ['1x', 'k', '-1', '1.3', '1 k b']) {
    assert.match(await flagError(['-s', bad]), /^--sizes must be /, bad);
  }
});

test('errors name the flags the user typed, never the API names', async () => {
  assert.match(await flagError('-c 0'), /^--clients must be an integer from 1 to 100000, got 0$/);
  assert.match(await flagError('-d 0'), /^--duration must be /);
  assert.match(await flagError('-r 10q'), /^--rate must be /);
  assert.match(await flagError('-n 0'), /^--messages must be /);
  assert.match(await flagError('--connect-timeout 0'), /^--connect-timeout must be /);
  assert.match(await flagError('--connect-timeout abc'), /^--connect-timeout must be a number, got 'abc'$/);
  assert.match(await flagError('-c 2 -w 3'), /^--workers 3 is more than --clients 2/);
  assert.match(await flagError('--header-bytes 64,3'), /^--header-bytes must be /);
  assert.match(await flagError('--strategy handoff,fork'), /^--strategy must be one of handoff, reuseport, single/);
  assert.match(await flagError('--target :5050 --strategy handoff,single'), /^--strategy .* --target$/);
  assert.match(await flagError('--target localhost'), /^--target 'localhost' has no port: give host:port/);
  assert.match(await flagError('--mode pong'), /^--mode must be one of ack, echo/);
});

test('chat flags map onto the options: a sweep, senders, rooms, window, target kinds, server workers', async () => {
  const o = await fromArgv(
    '--mode chat -c 20,110,510 --senders 10 --rooms 2 --window 32 --nats-ping-every 50 -s 16,1k ' +
      '--target-kind handoff,nats,redis --server-workers 1,2 --nats-server /opt/nats --redis-server /opt/redis -r 1k',
  );
  assert.equal(o.mode, 'chat');
  assert.deepEqual(o.chat?.clients, [20, 110, 510]);
  assert.equal(o.clients, 510);
  assert.equal(o.chat?.senders, 10);
  assert.equal(o.chat?.rooms, 2);
  assert.equal(o.chat?.window, 32);
  assert.equal(o.chat?.natsPingEvery, 50);
  assert.deepEqual(o.chat?.targetKinds, ['handoff', 'nats', 'redis']);
  assert.deepEqual(o.chat?.serverWorkers, [1, 2]);
  assert.equal(o.chat?.natsServer, '/opt/nats');
  assert.equal(o.chat?.redisServer, '/opt/redis');
  assert.deepEqual(o.sizes, [16, 1024]);
  assert.equal(o.rate, 1000);
  const old = (await fromArgv('--mode chat -c 20 --redis')).chat;
  assert.deepEqual([old?.servers, old?.bus], [2, 'redis'], '--redis is the old spelling of --servers 2 --bus redis');
  const four = (await fromArgv('--mode chat -c 20 --servers 4 --bus redis-cluster')).chat;
  assert.deepEqual([four?.servers, four?.bus], [4, 'redis-cluster']);
});

test('chat: bad combinations are one line in the flags typed', async () => {
  assert.match(await flagError('--mode chat -c 10 --senders 20'), /^--senders 20 is more than --clients 10: /);
  assert.match(
    await flagError('--mode chat --target-kind nats --server-workers 2'),
    /^--server-workers sets the handoff server's threads: --target-kind nats starts none$/,
  );
  assert.match(
    await flagError('--mode chat --target-kind nats --redis'),
    /^--redis starts handoff servers on a bus: .*--target-kind nats$/,
  );
  assert.match(
    await flagError('--mode chat -c 20 --servers 2'),
    /^--servers 2 needs a bus between the servers: --bus local is one process's own threads \(give --bus redis/,
  );
  assert.match(
    await flagError('--mode chat --target :4222 --target-kind nats,redis'),
    /^--target is one running server/,
  );
  assert.match(await flagError('--mode chat -s 8'), /^--sizes must be at least 16 bytes in --mode chat/);
  assert.match(await flagError('--mode chat -p 4'), /^--pipelining is not for --mode chat: chat senders keep --window/);
  assert.match(await flagError('--senders 5'), /^--senders is for --mode chat only$/);
  assert.match(await flagError('-c 10,20'), /^several --clients \(a sweep\) are for --mode chat only$/);
  assert.match(
    await flagError('--mode chat --target-kind kafka'),
    /^--target-kind must be one of handoff, nats, redis/,
  );
});

test("help shows each default from BENCH_DEFAULTS, in the flag's unit, and no default written by hand", async () => {
  const help = await benchBuilder(yargs()).getHelp();
  // One entry per flag, its wrapped lines joined.
  const entries = help.split(/\n(?=\s+(?:-\w, )?--)/);
  const defaultOf = (flag: string) => {
    const entry = entries.find((e) => new RegExp(`^\\s+(?:-\\w, )?--${flag}\\s`).test(e));
    assert.ok(entry, `--${flag} is in the help`);
    return /[(;] ?default ([^;)]+)\)/.exec(entry.replace(/\s+/g, ' '))?.[1];
  };
  assert.equal(defaultOf('clients'), String(BENCH_DEFAULTS.clients));
  assert.equal(defaultOf('duration'), String(BENCH_DEFAULTS.durationS));
  assert.equal(defaultOf('connect-timeout'), String(BENCH_DEFAULTS.connectTimeoutS));
  assert.equal(defaultOf('timeout'), String(BENCH_DEFAULTS.timeoutS));
  assert.equal(defaultOf('sizes'), BENCH_DEFAULTS.sizes.join(','));
  assert.equal(defaultOf('workers'), 'half the cores');
  assert.equal(defaultOf('save'), 'on');
  assert.equal(defaultOf('messages'), undefined, 'no message count unless one is given');
  for (const row of BENCH_FLAGS.rows) assert.doesNotMatch(row.describe, /default/, `--${row.flag}: no default by hand`);
  assert.doesNotMatch(help, /server-command/, 'the tests-only flag is hidden');
});

test('compare: runs and flags map onto the compare options, defaults filled in', async () => {
  const argv = await yargs()
    .command('compare <runs..>', 'compare', compareBuilder)
    .strict()
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseAsync(['compare', 'a.json', 'b.json', '--json', '--no-save']);
  const o = compareOptionsFromArgv(argv);
  assert.deepEqual(o.runs, ['a.json', 'b.json']);
  assert.equal(o.json, true);
  assert.equal(o.save, false);
  assert.equal(o.out, 'results');
});
const HANDOFF = path.join(import.meta.dirname, '..', '..', 'bin', 'handoff');

async function failing(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(HANDOFF, args, { timeout: 30_000 });
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
  assert.fail(`handoff ${args.join(' ')} succeeded`);
}

test('bad options give one clear line and exit status 2: --clients 0, --sizes 1x', async () => {
  for (const args of [
    ['--clients', '0'],
    ['--sizes', '1x'],
  ]) {
    const { code, stderr } = await failing(['bench', ...args, '--no-save']);
    assert.equal(code, 2, args.join(' '));
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, new RegExp(args[0]!));
  }
});

test('an unreachable --target gives one line and a non-zero exit (ERR_CONNECT, the errno in the detail)', async () => {
  // A port that was free a moment ago: nothing listens there.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  const { code, stderr } = await failing([
    'bench',
    '--target',
    `127.0.0.1:${port}`,
    ...'-c 2 -w 1 -s 16 -d 0.2 --warmup 0 --no-save'.split(' '),
  ]);
  assert.equal(code, 1);
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
  // Said once, in words: not `ERR_CONNECT: connect ECONNREFUSED 127.0.0.1:port`.
  assert.match(stderr, /^handoff bench: cannot connect to 127\.0\.0\.1:\d+: connection refused \(ECONNREFUSED\)$/m);
  assert.equal(stderr.match(/ECONNREFUSED/g)?.length, 1, stderr);
});
