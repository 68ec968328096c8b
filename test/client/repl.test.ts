// The interactive client, driven in-process through streams (as piped stdin would).
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { collector } from './collect.ts';
import { test } from 'node:test';
import { runRepl } from '../../src/client/index.ts';
import { ACK_TEXT, DISCONNECT_MESSAGE, TooLargeError } from '../../src/protocol/index.ts';
import { closedPort, startFakeServer } from './fake-server.ts';

async function repl(port: number, input: NodeJS.ReadableStream) {
  const out = collector();
  const err = collector();
  const code = await runRepl({ client: { port }, input, output: out.stream, errorOutput: err.stream });
  return { code, stdout: out.text(), stderr: err.text() };
}

test('a !DISCONNECT as the last line: nothing left over, nothing said', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const { code, stderr } = await repl(server.port, Readable.from([`hi\n${DISCONNECT_MESSAGE}\n`]));
  assert.equal(code, 0);
  assert.equal(stderr, '');
});

test('each piped line is sent and its reply printed; at the end the client leaves with !DISCONNECT', async (t) => {
  const server = await startFakeServer(t, { mode: 'echo' });
  const { code, stdout, stderr } = await repl(server.port, Readable.from(['Hello World!\nHello ', 'Tim!\n']));
  assert.equal(code, 0);
  assert.equal(stdout, 'Hello World!\nHello Tim!\n');
  assert.equal(stderr, '');
  assert.deepEqual(server.connections[0]!.received.map(String), ['Hello World!', 'Hello Tim!', DISCONNECT_MESSAGE]);
});

test('a last line without a newline is sent too, and CRLF line ends are not part of the message', async (t) => {
  const server = await startFakeServer(t, { mode: 'echo' });
  const { code, stdout } = await repl(server.port, Readable.from(['one\r\ntwo']));
  assert.equal(code, 0);
  assert.equal(stdout, 'one\ntwo\n');
});

test('empty lines send nothing', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const { code, stdout } = await repl(server.port, Readable.from(['\n\nhi\n\n']));
  assert.equal(code, 0);
  assert.equal(stdout, `${ACK_TEXT}\n`);
  assert.deepEqual(server.connections[0]!.received.map(String), ['hi', DISCONNECT_MESSAGE]);
});

test('/quit leaves cleanly: lines after it are not sent, and the user is told how many', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const { code, stdout, stderr } = await repl(server.port, Readable.from(['a\n/quit\nnot sent\n']));
  assert.equal(code, 0);
  assert.equal(stdout, `${ACK_TEXT}\n`);
  assert.equal(stderr, 'handoff: 1 line after /quit not sent\n');
  assert.deepEqual(server.connections[0]!.received.map(String), ['a', DISCONNECT_MESSAGE]);
});

test('typing !DISCONNECT prints its reply like the tutorial client and exits 0; the lines after it are counted, not sent', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const piped = Readable.from([`hi\n${DISCONNECT_MESSAGE}\nnot sent\n\nnor this\n`, 'nor that\n']);
  const { code, stdout, stderr } = await repl(server.port, piped);
  assert.equal(code, 0);
  assert.equal(stdout, `${ACK_TEXT}\n${ACK_TEXT}\n`);
  // Empty lines would send nothing anyway: three lines were not sent.
  assert.equal(stderr, `handoff: 3 lines after ${DISCONNECT_MESSAGE} not sent\n`);
  assert.deepEqual(server.connections[0]!.received.map(String), ['hi', DISCONNECT_MESSAGE]);
});

test('an !ERROR reply is one error line with its code and text, and exit status 1', async (t) => {
  const server = await startFakeServer(t, {
    reply: (conn) => conn.replyError(new TooLargeError('message exceeds the limit of 4 bytes')),
  });
  const { code, stdout, stderr } = await repl(server.port, Readable.from(['too long\nnever sent\n']));
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.equal(stderr, 'handoff: error TOO_LARGE: message exceeds the limit of 4 bytes\n');
});

test('a refused connection is one line on stderr and exit status 1', async () => {
  const port = await closedPort();
  const { code, stdout, stderr } = await repl(port, Readable.from(['hi\n']));
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.equal(stderr, `handoff: cannot connect to 127.0.0.1:${port}: connection refused (ECONNREFUSED)\n`);
});

test('a server that goes away while the user is idle ends the REPL with one line, status 1', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const input = new PassThrough(); // stays open: the user is "thinking"
  t.after(() => input.destroy());
  const running = repl(server.port, input);
  const conn = await server.nextConnection();
  conn.socket.destroy();
  const { code, stderr } = await running;
  assert.equal(code, 1);
  assert.match(stderr, /^handoff: .*closed.*\n$/);
  assert.equal(stderr.split('\n').length, 2, 'exactly one line');
});
