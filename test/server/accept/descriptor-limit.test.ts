// Out of file descriptors (issue 8): under `ulimit -n 256`, 400 clients connect at once and
// send one echo frame each. The server lowers --max-connections to what fits (one warning
// line), so every client gets either its reply or !ERROR SERVER_FULL (never a bare close or
// reset, never silence), the server does not spin afterwards, and it stops promptly.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { encodeFrame, FrameDecoder, parseErrorPayload } from '../../../src/protocol/index.ts';
import { STRATEGIES } from '../../../src/server/options.ts';
import { BIN, jsonLines, listening, run, within } from '../../helpers/process.ts';

const LIMIT = 256;
const CLIENTS = 400;
const WAIT_MS = 15_000;

type Outcome = 'reply' | 'SERVER_FULL' | string;

/** One client: connect, send one frame, keep the connection until told; resolves with what it got. */
function oneClient(port: number, sockets: net.Socket[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    sockets.push(socket);
    let outcome: Outcome | null = null;
    const settle = (o: Outcome) => {
      if (outcome !== null) return;
      outcome = o;
      clearTimeout(timer);
      resolve(o);
    };
    const decoder = new FrameDecoder(
      { headerBytes: 64, maxMessageBytes: 1 << 20 },
      (payload) => {
        const error = parseErrorPayload(payload);
        settle(error ? error.code : payload.toString() === 'hello' ? 'reply' : `other: ${payload.toString()}`);
      },
      (err) => settle(`bad frame: ${err.code}`),
    );
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => settle(`error ${err.code}`));
    socket.on('close', () => settle('closed without a frame'));
    socket.on('connect', () => socket.write(encodeFrame(Buffer.from('hello'), 64)));
    const timer = setTimeout(() => settle('nothing within 15 s'), WAIT_MS);
  });
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
}

for (const strategy of STRATEGIES) {
  test(`${strategy}: under ulimit -n ${LIMIT}, ${CLIENTS} clients at once each get their reply or SERVER_FULL; no spin, prompt stop`, async (t) => {
    const command = `ulimit -n ${LIMIT} && exec "$0" "$@"`;
    const p = run(
      t,
      [
        '-c',
        command,
        BIN,
        'serve',
        '--port',
        '0',
        '--json',
        '--mode',
        'echo',
        '--workers',
        '2',
        '--strategy',
        strategy,
      ],
      undefined,
      'bash',
    );
    const address = await listening(p);
    const sockets: net.Socket[] = [];
    t.after(() => sockets.forEach((s) => s.destroy()));
    const outcomes = await Promise.all(Array.from({ length: CLIENTS }, () => oneClient(address.port, sockets)));
    const tally: Record<string, number> = {};
    for (const o of outcomes) tally[o] = (tally[o] ?? 0) + 1;
    const unexpected = Object.keys(tally).filter((k) => k !== 'reply' && k !== 'SERVER_FULL');
    assert.deepEqual(unexpected, [], `every client gets its reply or SERVER_FULL: ${JSON.stringify(tally)}`);
    const warnings = jsonLines(p).filter((l) => l.event === 'descriptor-limit');
    assert.equal(warnings.length, 1, `one warning line: ${p.stdout.join('\n')}`);
    const lowered = Number(warnings[0]!.maxConnections);
    assert.ok(lowered > 0 && lowered < LIMIT, `lowered below ${LIMIT}: ${lowered}`);
    assert.match(String(warnings[0]!.msg), /lowered to \d+ connections/);

    assert.equal(tally.reply, lowered, `as many served as the lowered limit: ${JSON.stringify(tally)}`);

    // Nothing spins once the burst is over (a spinning accept loop burns a core per thread).
    const before = cpuSeconds(p.child.pid!);
    await new Promise((r) => setTimeout(r, 1000));
    const spent = cpuSeconds(p.child.pid!) - before;
    assert.ok(spent < 0.5, `the idle server used ${spent.toFixed(2)} s of CPU in 1 s`);

    // Nothing is stranded: with every client still connected, SIGTERM ends them all and the process exits.
    p.child.kill('SIGTERM');
    const exit = await within(p.exited, 5000);
    assert.deepEqual(exit, { code: 0, signal: null }, `exited by itself within 5 s; stderr: ${p.stderr()}`);
  });
}
