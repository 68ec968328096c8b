// `handoff client` as a user runs it: a real process, piped stdin, exit status.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { type ClientArgs, clientOptionsFromArgs } from '../../src/client/cli.ts';
import { ACK_TEXT, DISCONNECT_MESSAGE } from '../../src/protocol/index.ts';
import { closedPort, startFakeServer } from './fake-server.ts';

const HANDOFF = fileURLToPath(new URL('../../bin/handoff', import.meta.url));
const RUN_LIMIT_MS = 15_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runHandoff(args: string[], stdin: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(HANDOFF, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`handoff ${args.join(' ')} did not exit within ${RUN_LIMIT_MS} ms; stderr: ${stderr}`));
    }, RUN_LIMIT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

const ARGS: ClientArgs = {
  host: '127.0.0.1',
  port: 5050,
  'header-bytes': 64,
  'max-message-bytes': 1048576,
  ack: 'framed',
  'connect-timeout': 10,
  'reply-timeout': 0,
};

test('argv maps onto the options connect() takes (seconds become ms)', () => {
  assert.deepEqual(clientOptionsFromArgs({ ...ARGS, ack: 'raw', 'connect-timeout': 2.5, 'reply-timeout': 1 }), {
    host: '127.0.0.1',
    port: 5050,
    headerBytes: 64,
    maxMessageBytes: 1048576,
    ack: 'raw',
    connectTimeoutMs: 2500,
    replyTimeoutMs: 1000,
  });
});

test('a bad flag value is ERR_INVALID_OPTION naming the flag', () => {
  assert.throws(() => clientOptionsFromArgs({ ...ARGS, 'header-bytes': 2 }), {
    code: 'ERR_INVALID_OPTION',
    message: /^--header-bytes must be/,
  });
  assert.throws(() => clientOptionsFromArgs({ ...ARGS, port: Number.NaN }), {
    code: 'ERR_INVALID_OPTION',
    message: /^--port must be/,
  });
  assert.throws(() => clientOptionsFromArgs({ ...ARGS, 'reply-timeout': -1 }), {
    code: 'ERR_INVALID_OPTION',
    message: /^--reply-timeout/,
  });
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

test('`handoff client --header-bytes 3` is one error line and exit status 2', async () => {
  const run = await runHandoff(['client', '--header-bytes', '3'], '');
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^handoff: --header-bytes must be an integer from 4 to 1024, got 3/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
});

test('`handoff client --help` describes the flags and exits 0', async () => {
  const run = await runHandoff(['client', '--help'], '');
  assert.equal(run.code, 0);
  for (const flag of ['--host', '--port', '--header-bytes', '--ack']) assert.match(run.stdout, new RegExp(flag));
});
