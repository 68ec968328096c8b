// The command line's inputs as a user types them: the version, unknown flags named once, values
// named as typed, the new load flags mapped onto the API's options.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import yargs from 'yargs';
import { BENCH_FLAGS, benchBuilder, benchOptionsFromArgv } from '../../../src/bench/cli.ts';
import { nearestFlag } from '../../../src/options/flags.ts';
import { InvalidOptionError } from '../../../src/protocol/index.ts';

const run = promisify(execFile);
const HANDOFF = path.join(import.meta.dirname, '..', '..', '..', 'bin', 'handoff');
const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const failing = (args: string[]) =>
  run(HANDOFF, args).then(
    () => assert.fail(`${args.join(' ')} was accepted`),
    (e: { code: number; stderr: string }) => e,
  );

async function fromArgv(args: string) {
  const argv = await benchBuilder(yargs())
    .strict()
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseAsync(args);
  return benchOptionsFromArgv(argv);
}

async function flagError(args: string): Promise<string> {
  try {
    await fromArgv(args);
  } catch (err) {
    assert.ok(err instanceof InvalidOptionError, String(err));
    return BENCH_FLAGS.describeError(err);
  }
  return assert.fail(`${args} was accepted`);
}

test('--version and -v print the version, before or after a command', async () => {
  for (const args of [['--version'], ['-v'], ['bench', '--version'], ['serve', '-v'], ['client', '-v']]) {
    const { stdout } = await run(HANDOFF, args);
    assert.equal(stdout, `${version}\n`, args.join(' '));
  }
});

test('an unknown flag is named once, as typed (not also in camel case)', async () => {
  const one = await failing(['bench', '--foo-bar', '1']);
  assert.equal(one.code, 2);
  assert.equal(one.stderr, "handoff: Unknown argument: --foo-bar (see 'handoff --help')\n");
  const two = await failing(['bench', '--foo-bar', '--zip-zap']);
  assert.equal(two.stderr, "handoff: Unknown arguments: --foo-bar, --zip-zap (see 'handoff --help')\n");
});

test('a mistyped flag or command gets "did you mean", from that command\'s own flags', async () => {
  for (const [args, line] of [
    [['serve', '--prot', '6000'], 'Unknown argument: --prot (did you mean --port?)'],
    [['client', '--hots=x'], 'Unknown argument: --hots (did you mean --host?)'],
    [['bench', '--clinets', '5'], 'Unknown argument: --clinets (did you mean --clients?)'],
    [['serve', '--frame-timout', '3'], 'Unknown argument: --frame-timout (did you mean --frame-timeout?)'],
    [['compare', 'a.json', '--forse'], 'Unknown argument: --forse (did you mean --force?)'],
    [['serv'], 'Unknown command: serv (did you mean serve?)'],
    [['serve', 'extra'], 'Unknown argument: extra'],
  ] as const) {
    const { code, stderr } = await failing([...args]);
    assert.equal(code, 2, args.join(' '));
    assert.equal(stderr, `handoff: ${line} (see 'handoff --help')\n`, args.join(' '));
  }
});

test('nearestFlag: the flag a name starts, else the nearest within a few edits, else none', () => {
  const flags = ['port', 'host', 'header-bytes', 'frame-timeout', 'idle-timeout', 'workers'];
  assert.equal(nearestFlag('prot', flags), 'port', 'two letters swapped: one edit');
  assert.equal(nearestFlag('work', flags), 'workers');
  assert.equal(nearestFlag('idle-timout', flags), 'idle-timeout');
  assert.equal(nearestFlag('zzzz', flags), null);
  assert.equal(nearestFlag('h', flags), null, 'too short to guess');
});

test('a bad number is named as typed, never NaN: --port abc, --amount x, --connection-rate -1', async () => {
  const port = await failing(['client', '--port', 'abc']);
  assert.match(port.stderr, /--port must be an integer, got 'abc'/);
  assert.match(await flagError('--amount x'), /^--amount must be a number such as 500, 10k or 1\.5m, got 'x'$/);
  assert.match(await flagError('--connection-rate -1'), /^--connection-rate must be .*got '-1'$/);
});

test('--amount, --bailout, --connection-rate and the payload flags map onto the options', async () => {
  const o = await fromArgv('-c 20 -a 10k -b 5 --connection-rate 50 --payload-json {"a":1}');
  assert.equal(o.amount, 10_000);
  assert.equal(o.bailout, 5);
  assert.equal(o.connectionRate, 50);
  // The total rate is each connection's times the connections.
  assert.equal(o.rate, 1000);
  assert.deepEqual(o.payloads, ['{"a":1}']);
  // --amount is the whole measurement: no warm-up.
  assert.equal(o.warmupS, 0);
  const plain = await fromArgv('');
  assert.equal(plain.amount, 0);
  assert.equal(plain.bailout, 0);
  assert.equal(plain.payloads, null);
  assert.deepEqual(plain.onPort, []);
});

test('contradictions are refused in one line, in the flags typed', async () => {
  assert.match(
    await flagError('-r 1k --connection-rate 10'),
    /^give --rate \(all connections together\) or --connection-rate, not both$/,
  );
  assert.match(await flagError('-a 100 -d 3'), /^--amount is the whole measurement: it cannot go with --duration$/);
  assert.match(await flagError('-a 100 -n 5'), /^--amount is the whole measurement: it cannot go with --messages$/);
  assert.match(await flagError('-a 100 --warmup 1'), /^--amount is the whole measurement: it cannot go with --warmup$/);
  assert.match(await flagError('--payload-json {oops'), /^--payload-json is not JSON: /);
  assert.match(
    await flagError('--payload-file x --payload-json {}'),
    /^give one of --payload-file and --payload-json$/,
  );
  assert.match(await flagError('--mode chat -a 10'), /^--amount is not for --mode chat$/);
});
