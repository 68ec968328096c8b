// A port accepts a connection only when the server can serve it: clients that connect as
// early as possible during start-up (a tight retry loop from the moment the process is
// spawned, many at once) get the reply to their first message on every connection the
// port accepts, and none is reset, under every strategy. (reuseport used to open a
// placeholder listener that accepted and destroyed sockets until the pool existed.)
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { ACK_TEXT, encodeFrame } from '../../../src/protocol/index.ts';
import { STRATEGIES } from '../../../src/server/options.ts';
import { listening, run } from '../../helpers/process.ts';

/** Retry loops connecting at once. */
const LOOPS = 12;
/** How long the loops go on after the server says it listens. */
const AFTER_LISTENING_MS = 300;

type Outcome = 'reply' | 'reset' | 'closed without a reply' | 'no reply in time';

async function freePort(): Promise<number> {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

/** One connection attempt: null when the port refused it (not listening yet), else what the client got. */
function attempt(port: number): Promise<Outcome | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    let connected = false;
    let received = 0;
    const done = (outcome: Outcome | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done('no reply in time'), 5000);
    socket.on('connect', () => {
      connected = true;
      socket.write(encodeFrame(Buffer.from('first byte after accept'), 64));
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= 64 + ACK_TEXT.length) done('reply');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected && err.code === 'ECONNREFUSED') done(null);
      else done(err.code === 'ECONNRESET' ? 'reset' : 'closed without a reply');
    });
    socket.on('close', () => done('closed without a reply'));
  });
}

for (const strategy of STRATEGIES) {
  test(`${strategy}: every connection accepted during start-up gets its reply, none is reset`, async (t) => {
    const port = await freePort();
    const p = run(t, ['serve', '--port', String(port), '--json', '--quiet', '--strategy', strategy, '--workers', '2']);
    let serving = false;
    let stopAt = Number.POSITIVE_INFINITY;
    const outcomes: Outcome[] = [];
    const loop = async () => {
      while (performance.now() < stopAt) {
        const outcome = await attempt(port);
        if (outcome === null) await new Promise(setImmediate);
        else outcomes.push(outcome);
      }
    };
    const loops = Array.from({ length: LOOPS }, loop);
    try {
      await listening(p);
      serving = true;
    } finally {
      stopAt = performance.now() + (serving ? AFTER_LISTENING_MS : 0);
      await Promise.all(loops);
    }
    const failed = outcomes.filter((o) => o !== 'reply');
    assert.ok(outcomes.length >= LOOPS, `every loop got connections accepted (${outcomes.length})`);
    assert.deepEqual(failed, [], `${failed.length} of ${outcomes.length} accepted connections were not served`);
  });
}
