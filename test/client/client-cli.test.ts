// `handoff client` as a user runs it: a real process, piped stdin, exit status.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLIENT_FLAGS, clientOptionsFromArgs } from '../../src/client/cli.ts';
import { CLIENT_DEFAULTS, InvalidOptionError } from '../../src/client/index.ts';
import { ACK_TEXT, DISCONNECT_MESSAGE } from '../../src/protocol/index.ts';
import { assertError } from './expect-error.ts';
import { closedPort, startFakeServer } from './fake-server.ts';
import { runToEnd } from '../helpers/process.ts';

const runHandoff = (args: string[], stdin: string) => runToEnd(args, stdin);

test('argv maps onto the options connect() takes (seconds become ms)', () => {
  const argv = { host: 'localhost', port: '6000', 'header-bytes': '8', 'max-message-bytes': '4096', ack: 'raw' };
  assert.deepEqual(clientOptionsFromArgs({ ...argv, 'connect-timeout': '2.5', 'reply-timeout': '1' }), {
    ...CLIENT_DEFAULTS,
    host: 'localhost',
    port: 6000,
    headerBytes: 8,
    maxMessageBytes: 4096,
    ack: 'raw',
    connectTimeoutMs: 2500,
    replyTimeoutMs: 1000,
  });
  assert.equal(clientOptionsFromArgs({ chat: true }).chat, true, '--chat');
  assert.equal(clientOptionsFromArgs({}).chat, false);
  assert.equal(clientOptionsFromArgs({ 'reply-timeout': '0' }).replyTimeoutMs, 0, '0 = no reply limit');
});

test('with no flags the interactive client talks to port 5050 and gives up on a reply after 30 s', () => {
  assert.deepEqual(clientOptionsFromArgs({}), { ...CLIENT_DEFAULTS, port: 5050, replyTimeoutMs: 30_000 });
});

test('a bad flag value is an InvalidOptionError naming the API option, worded in flags for the command line', () => {
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ 'header-bytes': '2' }, 'headerBytes', /^--header-bytes must be an integer from 4 to 1024, got 2$/],
    [{ port: 'abc' }, 'port', /^--port must be an integer, got 'abc'$/],
    [{ port: '0' }, 'port', /^--port must be an integer from 1 to 65535, got 0$/],
    [{ 'connect-timeout': '0' }, 'connectTimeoutMs', /^--connect-timeout must be a number of seconds, from 0\.001/],
    [{ 'reply-timeout': '-1' }, 'replyTimeoutMs', /^--reply-timeout must be a number of seconds, 0 \(no limit\) or/],
    [{ ack: 'RAW' }, 'ack', /^--ack must be one of framed, raw, got 'RAW'$/],
    [{ chat: true, ack: 'raw' }, 'chat', /^--chat cannot be used with --ack 'raw': deliveries need frames$/],
  ];
  for (const [argv, option, flagMessage] of cases) {
    assert.throws(
      () => clientOptionsFromArgs(argv),
      (err: unknown) => {
        assertError(err, InvalidOptionError, 'ERR_INVALID_OPTION', new RegExp(`^${option} `));
        assert.equal(err.option, option);
        assert.match(CLIENT_FLAGS.describeError(err), flagMessage);
        return true;
      },
    );
  }
});

test('`handoff client` with piped lines prints each reply and exits 0 after !DISCONNECT', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const run = await runHandoff(['client', '--port', String(server.port)], 'Hello World!\nHello Tim!\n');
  assert.equal(run.stderr, '');
  assert.equal(run.stdout, `${ACK_TEXT}\n${ACK_TEXT}\n`);
  assert.equal(run.code, 0);
  assert.deepEqual(server.connections[0]!.received.map(String), ['Hello World!', 'Hello Tim!', DISCONNECT_MESSAGE]);
});

test('`handoff client --ack raw --header-bytes 8` talks to a raw-ack server with 8-byte headers', async (t) => {
  const server = await startFakeServer(t, { mode: 'raw-ack', headerBytes: 8 });
  const run = await runHandoff(
    ['client', '--port', String(server.port), '--ack', 'raw', '--header-bytes', '8'],
    'hi\n',
  );
  assert.equal(run.stdout, `${ACK_TEXT}\n`);
  assert.equal(run.code, 0);
});

test('`handoff client` against a closed port prints one line on stderr, no stack, and exits non-zero', async () => {
  const port = await closedPort();
  const run = await runHandoff(['client', '--port', String(port)], 'hi\n');
  assert.notEqual(run.code, 0);
  assert.equal(run.stdout, '');
  assert.equal(run.stderr, `handoff: cannot connect to 127.0.0.1:${port}: connection refused (ECONNREFUSED)\n`);
});

for (const [flags, line] of [
  [['--header-bytes', '3'], /^handoff: --header-bytes must be an integer from 4 to 1024, got 3 /],
  [['--port', 'abc'], /^handoff: --port must be an integer, got 'abc' /],
  [['--connect-timeout', '0'], /^handoff: --connect-timeout must be a number of seconds, from 0\.001 to 86400, got 0 /],
] as const) {
  test(`\`handoff client ${flags.join(' ')}\` is one error line naming the flag, and exit status 2`, async () => {
    const run = await runHandoff(['client', ...flags], '');
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, line);
    assert.equal(run.stderr.split('\n').length, 2, 'exactly one line, no stack trace');
  });
}

test('`handoff client --help` describes the flags, with the defaults in their units, and exits 0', async () => {
  const run = await runHandoff(['client', '--help'], '');
  assert.equal(run.code, 0);
  for (const flag of ['--host', '--port', '--header-bytes', '--max-message-bytes', '--ack']) {
    assert.match(run.stdout, new RegExp(flag));
  }
  assert.match(run.stdout, /--port .*default 5050/);
  assert.match(run.stdout, /--connect-timeout .*default 10 s/);
  assert.match(run.stdout, /--reply-timeout .*0 = no limit; default 30 s/);
});

test('`handoff client --chat` with piped lines: commands, deliveries line by line, no acks, a refusal that does not end it', async (t) => {
  const server = await startFakeServer(t, {
    reply: (conn, payload) => {
      const text = payload.toString();
      if (text === '!NICK bob') conn.reply('!OK NICK bob');
      else if (text === '!NICK no way') conn.refuse('BAD_NAME', 'names hold no spaces');
      else {
        if (text === 'hello') conn.deliver('message', 'lobby', 'alice', 'hi bob, how are you?');
        conn.reply(ACK_TEXT);
      }
    },
  });
  const run = await runHandoff(
    ['client', '--chat', '--port', String(server.port)],
    '/nick bob\nhello\n/nick no way\nbye\n',
  );
  assert.equal(run.stdout, '* you are now bob\n[lobby] alice: hi bob, how are you?\n');
  assert.equal(run.stderr, 'refused: BAD_NAME names hold no spaces\n');
  assert.equal(run.code, 0);
  assert.deepEqual(server.connections[0]!.received.map(String), [
    '!NICK bob',
    'hello',
    '!NICK no way',
    'bye',
    DISCONNECT_MESSAGE,
  ]);
});
