// What the server prints (issues 8 and 10): control characters escaped in both formats, a
// --log-messages line of bounded size, the address really bound and a warning on a wildcard
// address, shutdown logged once, the count right after each close, no idle stats lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DISCONNECT_MESSAGE } from '../../../src/protocol/index.ts';
import { LOGGED_PAYLOAD_BYTES, utf8Head } from '../../../src/server/observe/message-log.ts';
import { jsonLines, listening, run, type Spawned, within } from '../../helpers/process.ts';
import { connect, sleep } from '../../helpers/wire.ts';

/** The port of the text `[LISTENING]` line, and the line with the row of details below it. */
async function textListening(p: Spawned): Promise<{ host: string; port: number; line: string }> {
  for (let i = 0; i < 800; i++) {
    const at = p.stdout.findIndex((l) => l.startsWith('[LISTENING] Server is listening on'));
    if (at >= 0 && p.stdout.length > at + 1) {
      const line = p.stdout.slice(at, at + 2).join('\n');
      return { host: '127.0.0.1', port: Number(/:(\d+)\n/.exec(line)![1]), line };
    }
    if (p.child.exitCode !== null) throw new Error(`exited: ${p.stderr()}`);
    await sleep(25);
  }
  throw new Error(`no [LISTENING] line: ${p.stdout.join('\n')}`);
}

async function until(what: string, condition: () => boolean, p: Spawned): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}; stdout:\n${p.stdout.join('\n')}`);
}

const HOSTILE = 'a\u009b2J\u007fb\u0085c\u001bd';

test('--json --log-messages: DEL and C1 controls never reach the terminal raw, and the payload field keeps its value', async (t) => {
  const p = run(t, ['serve', '--port', '0', '--json', '--log-messages']);
  const client = await connect(t, await listening(p));
  await client.send(HOSTILE);
  await client.readText();
  await until('the message line', () => jsonLines(p).some((l) => l.event === 'message'), p);
  const raw = p.stdout.find((l) => l.includes('"event":"message"'))!;
  // eslint-disable-next-line no-control-regex -- looking for control characters
  assert.doesNotMatch(raw, /[\u0000-\u001f\u007f-\u009f]/, `no raw control character in ${JSON.stringify(raw)}`);
  const line = JSON.parse(raw) as { payload: string; msg: string };
  assert.equal(line.payload, HOSTILE, 'the JSON value is the payload exactly');
  assert.ok(line.msg.endsWith('a\\x9b2J\\x7fb\\x85c\\x1bd'), line.msg);
});

test('text --log-messages: C0, DEL and C1 controls are printed as \\xNN', async (t) => {
  const p = run(t, ['serve', '--port', '0', '--log-messages']);
  const client = await connect(t, await textListening(p));
  await client.send(HOSTILE);
  await client.readText();
  await until('the message line', () => p.stdout.some((l) => l.endsWith('a\\x9b2J\\x7fb\\x85c\\x1bd')), p);
  // eslint-disable-next-line no-control-regex -- looking for control characters
  assert.ok(p.stdout.every((l) => !/[\u0000-\u001f\u007f-\u009f]/.test(l)));
});

// 'a' then two-byte characters: byte 1024 falls inside one, so the cut must step back to 1023.
const BIG = `a${'é'.repeat(524_287)}`; // 1 + 2 * 524,287 = 1,048,575 bytes

test('a long payload is cut on a character boundary', () => {
  const bytes = Buffer.from(BIG);
  assert.equal(utf8Head(bytes, LOGGED_PAYLOAD_BYTES), 1023);
  assert.equal(utf8Head(Buffer.from('short'), LOGGED_PAYLOAD_BYTES), 5);
});

for (const json of [false, true]) {
  test(`--log-messages${json ? ' --json' : ''} of a 1 MiB message prints its first KiB and its full length, not 1 MiB`, async (t) => {
    const p = run(t, ['serve', '--port', '0', '--log-messages', ...(json ? ['--json'] : [])]);
    const client = await connect(t, json ? await listening(p) : await textListening(p));
    await client.send(BIG);
    await client.readText();
    const isMessage = (l: string) => (json ? l.includes('"event":"message"') : l.startsWith('[127.0.0.1:'));
    await until('the message line', () => p.stdout.some(isMessage), p);
    const line = p.stdout.find(isMessage)!;
    assert.ok(line.length < 3000, `a line of ${line.length} characters`);
    assert.ok(!line.includes('\uFFFD'), 'no character cut in half');
    if (json) {
      const obj = JSON.parse(line) as { payload: string; bytes: number; truncated: boolean; msg: string };
      assert.equal(obj.payload, BIG.slice(0, 512), 'the first 1,023 bytes: a and 511 é');
      assert.equal(obj.bytes, 1_048_575);
      assert.equal(obj.truncated, true);
      assert.match(obj.msg, /… \(1,048,575 bytes, first 1,023 shown\)$/);
    } else {
      assert.ok(line.endsWith(`${BIG.slice(0, 512)}… (1,048,575 bytes, first 1,023 shown)`), line.slice(-80));
    }
  });
}

test('--host 0.0.0.0 --ack raw: [LISTENING] names 0.0.0.0 and the ack kind, then one warning that any machine can connect', async (t) => {
  const p = run(t, ['serve', '--port', '0', '--host', '0.0.0.0', '--ack', 'raw']);
  const { line } = await textListening(p);
  assert.match(line, /^\[LISTENING\] Server is listening on 0\.0\.0\.0:\d+\n {12}\d+ workers, .*mode ack \(raw\)$/);
  await until('the warning', () => p.stdout.some((l) => l.startsWith('[WARNING]')), p);
  const warnings = p.stdout.filter((l) => l.startsWith('[WARNING]'));
  assert.equal(warnings.length, 1, p.stdout.join('\n'));
  // Wrapped to 80 columns: the rest of the sentence on the indented row below.
  const at = p.stdout.indexOf(warnings[0]!);
  const below = p.stdout.slice(at + 1);
  const end = below.findIndex((row) => !row.startsWith(' '));
  const continued = end === -1 ? below : below.slice(0, end);
  const sentence = [warnings[0]!, ...continued].map((row) => row.trim()).join(' ');
  assert.match(sentence, /any machine that can reach this one can now connect$/);
  for (const row of p.stdout) assert.ok(row.length <= 80, row);
});

test('--host 127.0.0.1: no warning, mode ack (framed)', async (t) => {
  const p = run(t, ['serve', '--port', '0']);
  const { line } = await textListening(p);
  assert.match(
    line,
    /^\[LISTENING\] Server is listening on 127\.0\.0\.1:\d+\n {12}\d+ workers, .*mode ack \(framed\)$/,
  );
  await sleep(200);
  assert.ok(!p.stdout.some((l) => l.startsWith('[WARNING]')), p.stdout.join('\n'));
});

test('Ctrl-C with open connections: one [SHUTTING DOWN] line with the count, no [ERROR] line per connection', async (t) => {
  const p = run(t, ['serve', '--port', '0', '--workers', '2']);
  const { port } = await textListening(p);
  const clients = await Promise.all([1, 2, 3].map(() => connect(t, { host: '127.0.0.1', port })));
  for (const c of clients) {
    await c.send('hi');
    await c.readText();
  }
  p.child.kill('SIGINT');
  assert.deepEqual(await within(p.exited, 5000), { code: 0, signal: null });
  assert.deepEqual(
    p.stdout.filter((l) => l.startsWith('[SHUTTING DOWN]')),
    ['[SHUTTING DOWN] closing 3 open connections'],
  );
  assert.deepEqual(
    p.stdout.filter((l) => l.startsWith('[ERROR]')),
    [],
    'shutting down is not an error',
  );
});

test('two connections closing at once: each [DISCONNECTED] line shows the count right after its own close', async (t) => {
  const p = run(t, ['serve', '--port', '0', '--workers', '2']);
  const { port } = await textListening(p);
  const [a, b] = await Promise.all([1, 2].map(() => connect(t, { host: '127.0.0.1', port })));
  await a!.send('hi');
  await a!.readText();
  await Promise.all([a!.send(DISCONNECT_MESSAGE), b!.send(DISCONNECT_MESSAGE)]);
  await until('two disconnects', () => p.stdout.filter((l) => l.startsWith('[DISCONNECTED]')).length === 2, p);
  const counts = p.stdout
    .filter((l) => l.startsWith('[DISCONNECTED]'))
    .map((l) => Number(/; (\d+) active$/.exec(l)![1]))
    .sort();
  assert.deepEqual(counts, [0, 1]);
  assert.ok(
    p.stdout.some((l) => /\(1 message, disconnect\)/.test(l)),
    'one message, singular',
  );
});

test('[STATS] lines stop while nothing happens', async (t) => {
  const p = run(t, ['serve', '--port', '0', '--stats-interval', '0.1']);
  const { port } = await textListening(p);
  const client = await connect(t, { host: '127.0.0.1', port });
  await client.send('hi');
  await client.readText();
  await until('a stats line', () => p.stdout.some((l) => l.startsWith('[STATS]')), p);
  await sleep(300); // the line of the last interval with activity may still come
  const before = p.stdout.filter((l) => l.startsWith('[STATS]')).length;
  await sleep(1000); // ten intervals with a connection open and nothing sent
  assert.equal(p.stdout.filter((l) => l.startsWith('[STATS]')).length, before, p.stdout.join('\n'));
});
