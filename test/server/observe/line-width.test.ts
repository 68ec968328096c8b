// What `handoff serve` prints fits an 80-column terminal: its output, replayed into a headless
// one 80 columns wide, has no row that is the overflow of a longer line. And the words are
// right: `1 connection`, one decimal below 10 msg/s, thousands separators in MB/s, and the
// one line the tutorial's own client needs (only where --ack raw can help it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '../../../src/client/index.ts';
import { fitLine, megabytes, rate } from '../../../src/server/observe/log.ts';
import { run, type Spawned } from '../../helpers/process.ts';
import { replay } from '../../helpers/screen.ts';
import { sleep } from '../../helpers/wire.ts';

const HINT = "[HINT] acks are framed here; the tutorial's own client wants --ack raw";

async function until(what: string, p: Spawned, ready: () => boolean): Promise<void> {
  for (let i = 0; i < 800 && !ready(); i++) {
    if (p.child.exitCode !== null) throw new Error(`exited: ${p.stderr()}`);
    await sleep(25);
  }
  assert.ok(ready(), `no ${what}: ${p.stdout.join('\n')}`);
}

/** The port of the `[LISTENING]` line. */
async function port(p: Spawned): Promise<number> {
  const listening = () => p.stdout.find((l) => l.startsWith('[LISTENING] Server is listening on'));
  await until('[LISTENING] line', p, () => listening() !== undefined);
  return Number(/:(\d+)$/.exec(listening()!)![1]);
}

/** Stops the server and returns everything it printed, as rows of an 80-column terminal. */
async function stopAndReplay(p: Spawned): Promise<{ rows: string[]; wrapped: string[] }> {
  p.child.kill('SIGINT');
  await p.exited;
  return replay(`${p.stdout.join('\n')}\n`);
}

test('the default server: [LISTENING] and its details in 80 columns, the tutorial hint, a [STATS] line in words', async (t) => {
  const p = run(t, ['serve', '--port', '0', '--workers', '2', '--stats-interval', '1']);
  const client = await connect({ port: await port(p) });
  await client.send('Hello World!');
  await client.send('Hello Tim!');
  await until('[STATS] line', p, () => p.stdout.some((l) => l.startsWith('[STATS]') && !l.startsWith('[STATS] 0 ')));
  await client.close();
  const { rows, wrapped } = await stopAndReplay(p);
  assert.deepEqual(wrapped, [], 'no line wider than 80 columns');
  assert.match(rows[1]!, /^\[LISTENING\] Server is listening on 127\.0\.0\.1:\d+$/);
  assert.equal(rows[2], '            2 workers, strategy handoff, mode ack (framed)');
  assert.equal(rows[3], HINT);
  const stats = rows.find((r) => r.startsWith('[STATS] 1 '))!;
  assert.match(
    stats,
    /^\[STATS\] 1 connection \(per worker [01]\/[01]\) \| \d\.\d msg\/s \| in 0\.00 MB\/s \| out 0\.00 MB\/s$/,
  );
});

test('chat with many workers and a long PROXY list: the [STATS] and [LISTENING] lines wrap at a separator', async (t) => {
  const trusted = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8', '::1', 'fd00::/8'];
  const p = run(t, ['serve', '--port', '0', '--mode', 'chat', '--workers', '12', '--stats-interval', '1']);
  const chatPort = await port(p);
  const alice = await connect({ port: chatPort, chat: true });
  const bob = await connect({ port: chatPort, chat: true });
  await alice.send('hello bob');
  await until('[STATS] line with a delivery', p, () =>
    p.stdout.some((l) => /deliveries\/s/.test(l) && !/ 0 deliveries/.test(l)),
  );
  await Promise.all([alice.close(), bob.close()]);
  const chat = await stopAndReplay(p);
  assert.deepEqual(chat.wrapped, []);
  assert.ok(!chat.rows.includes(HINT), 'no tutorial hint in chat mode');
  const at = chat.rows.findIndex((r) => r.startsWith('[STATS] 2 connections'));
  assert.ok(at >= 0, chat.rows.join('\n'));
  assert.match(chat.rows.slice(at, at + 2).join('\n'), /msg\/s[^]*deliveries\/s[^]*out [\d.,]+ MB\/s$/);

  const proxied = run(t, [
    'serve',
    '--port',
    '0',
    '--proxy-protocol',
    '--proxy-trusted',
    trusted.join(','),
    '--workers',
    '12',
  ]);
  await port(proxied);
  const listening = await stopAndReplay(proxied);
  assert.deepEqual(listening.wrapped, []);
  const details = listening.rows.filter((r) => r.startsWith('            '));
  assert.equal(
    details.join(', ').replace(/\s+/g, ' ').trim(),
    `12 workers, strategy handoff, mode ack (framed), PROXY protocol from ${trusted.join(', ')}`,
  );
  assert.ok(
    !listening.rows.includes(HINT),
    'no tutorial hint behind the PROXY protocol: that client sends no PROXY header',
  );
});

test('--ack raw: no hint (it is what the hint asks for)', async (t) => {
  const p = run(t, ['serve', '--port', '0', '--ack', 'raw']);
  await port(p);
  await sleep(100);
  const { rows } = await stopAndReplay(p);
  assert.ok(!rows.some((r) => r.startsWith('[HINT]')), rows.join('\n'));
});

test('rates and megabytes for people: one decimal below 10, separators above', () => {
  assert.equal(rate(0), '0');
  assert.equal(rate(0.4), '0.4');
  assert.equal(rate(9.96), '10.0');
  assert.equal(rate(61_234.4), '61,234');
  assert.equal(megabytes(2718.2818), '2,718.28');
  assert.equal(megabytes(0), '0.00');
});

test('fitLine breaks between parts, never inside one, and indents under the text', () => {
  const parts = ['a'.repeat(40), 'b'.repeat(30), 'c'.repeat(20)];
  assert.equal(fitLine('[X]', parts, ' | '), `[X] ${'a'.repeat(40)} | ${'b'.repeat(30)}\n    ${'c'.repeat(20)}`);
  assert.equal(fitLine('[X]', ['x'.repeat(100)], ' | '), `[X] ${'x'.repeat(100)}`, 'one part too long stays whole');
});
