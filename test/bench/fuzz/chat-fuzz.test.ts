// The chat fuzz: its oracle says what PROTOCOL.md and the batch format say, its judge catches a
// server that does otherwise, and a short run against two servers on a real redis-server passes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BATCH_VARIANTS, frameOf, generateChatInput } from '../../../src/bench/fuzz/chat-inputs.ts';
import { judgeSession } from '../../../src/bench/fuzz/chat-judge.ts';
import { expectedBatch, expectedSession, whoProblem } from '../../../src/bench/fuzz/chat-oracle.ts';
import { CHAT_FUZZ_DEFAULTS, chatFuzzProblems, runChatFuzz } from '../../../src/bench/fuzz/chat-run.ts';
import { redisAvailable } from '../../helpers/redis.ts';
import { bareBatch as handBatch } from '../../helpers/chat-redis.ts';

const CONFIG = { headerBytes: 64, maxMessageBytes: 100 };
const b = (s: string) => Buffer.from(s, 'latin1');
const frames = (...payloads: string[]) => Buffer.concat(payloads.map((p) => frameOf(b(p), 64)));

test('session oracle: replies per PROTOCOL.md, the name and room as they change', () => {
  const e = expectedSession(
    ['hi', '!NICK bob', '!JOIN r1', '!WHO', '!NICK bad name', '!JOIN', '!PING', '!WHO x', '!hello', '!'].map(b),
    { tooLarge: false, disconnect: true },
    '127.0.0.1:5',
  );
  assert.deepEqual(e.replies, [
    { kind: 'exact', text: 'Msg received' },
    { kind: 'exact', text: '!OK NICK bob' },
    { kind: 'exact', text: '!OK JOIN r1' },
    { kind: 'who', room: 'r1', self: 'bob' },
    { kind: 'refusal', code: 'BAD_NAME' },
    { kind: 'refusal', code: 'BAD_COMMAND' },
    { kind: 'refusal', code: 'BAD_COMMAND' },
    { kind: 'refusal', code: 'BAD_COMMAND' },
    { kind: 'exact', text: 'Msg received' },
    { kind: 'exact', text: 'Msg received' },
    { kind: 'exact', text: 'Msg received' },
  ]);
  assert.equal(e.end, 'fin');
});

test('who oracle: the asker first, the size rule, +N last', () => {
  assert.equal(whoProblem('!OK WHO lobby me a b', 'lobby', 'me', 200), null);
  assert.equal(whoProblem('!OK WHO lobby me a +3', 'lobby', 'me', 200), null);
  assert.equal(whoProblem('!OK WHO lobby +3', 'lobby', 'me', 200), null);
  assert.match(whoProblem('!OK WHO lobby a me', 'lobby', 'me', 200)!, /not the asker/);
  assert.match(whoProblem('!OK WHO lobby me +3 a', 'lobby', 'me', 200)!, /before the end/);
  assert.match(whoProblem(`!OK WHO lobby me ${'x'.repeat(300)}`, 'lobby', 'me', 200)!, /above 200/);
  assert.match(whoProblem('!OK WHO r1 me', 'lobby', 'me', 200)!, /not a !WHO of lobby/);
});

test('the judge catches a missing reply, a wrong one, a connection left open, and a refusal without text', () => {
  const expected = expectedSession([b('x'), b('!NICK a')], { tooLarge: false, disconnect: true }, 'h:1');
  const good = frames('Msg received', '!JOINED lobby z', '!OK NICK a', 'Msg received');
  assert.equal(judgeSession(expected, good, 'fin', CONFIG), null, 'deliveries are set apart');
  assert.match(judgeSession(expected, frames('Msg received', '!OK NICK a'), 'fin', CONFIG)!, /2 replies, expected 3/);
  assert.match(judgeSession(expected, frames('Msg received', '!OK NICK b', 'Msg received'), 'fin', CONFIG)!, /reply 2/);
  assert.equal(judgeSession(expected, good, 'reset', CONFIG), null, 'a reset once every reply is in loses nothing');
  assert.match(judgeSession(expected, good, 'left-open', CONFIG)!, /left open/);
  const refused = expectedSession([b('!PING')], { tooLarge: false, disconnect: false }, 'h:1');
  assert.match(judgeSession(refused, frames('!NO BAD_COMMAND'), 'fin', CONFIG)!, /not !NO BAD_COMMAND <text>/);
});

// The oracle judges a batch as the bus hands it over, out of its envelope (bareBatch).
test('batch oracle: every reason, and what is delivered (against batches written by hand)', () => {
  const limits = { headerBytes: 64, maxMessageBytes: 100 };
  const fate = (batch: Buffer, room = 'lobby') => {
    const f = expectedBatch(batch, room, CONFIG);
    return 'drop' in f ? f.drop : f.deliver.map(String);
  };
  assert.deepEqual(fate(handBatch({ ...limits, payloads: ['!MSG lobby a hi', '!LEFT lobby b'] })), [
    '!MSG lobby a hi',
    '!LEFT lobby b',
  ]);
  assert.equal(fate(b('hello')), 'garbage');
  assert.equal(fate(b('hbus')), 'truncated');
  assert.equal(fate(handBatch({ ...limits, version: 2, payloads: [] })), 'version');
  assert.equal(fate(handBatch({ ...limits, server: '', payloads: [] })), 'malformed');
  assert.equal(fate(handBatch({ ...limits, count: 9, payloads: [] })), 'truncated');
  assert.equal(fate(Buffer.concat([handBatch({ ...limits, payloads: [] }), b('x')])), 'malformed');
  assert.equal(fate(handBatch({ ...limits, headerBytes: 8, payloads: [] })), 'header_bytes');
  assert.equal(fate(handBatch({ ...limits, maxMessageBytes: 99, payloads: [] })), 'max_message_bytes');
  assert.equal(fate(handBatch({ ...limits, payloads: [`!MSG lobby a ${'x'.repeat(200)}`] })), 'too_large');
  assert.equal(fate(handBatch({ ...limits, payloads: ['!MSG r1 a hi'] })), 'not_delivery');
});

test('inputs are reproducible and cover every batch variant and both servers', () => {
  assert.deepEqual(generateChatInput(3, 77, CONFIG), generateChatInput(3, 77, CONFIG));
  const inputs = Array.from({ length: 3000 }, (_, i) => generateChatInput(1, i, CONFIG));
  const variants = new Set(inputs.flatMap((x) => (x.kind === 'batch' ? [x.variant] : [])));
  assert.deepEqual([...variants].sort(), [...BATCH_VARIANTS].sort());
  assert.deepEqual(new Set(inputs.flatMap((x) => (x.kind === 'session' ? [x.server] : []))), new Set([0, 1]));
});

test(
  '600 chat fuzz inputs against two servers on one redis-server: no crash, every outcome as the oracle says',
  { skip: redisAvailable() ? false : 'redis-server is not installed', timeout: 120_000 },
  async () => {
    const report = await runChatFuzz({ ...CHAT_FUZZ_DEFAULTS, inputs: 600, concurrency: 50, seed: 9 });
    assert.deepEqual(chatFuzzProblems(report), []);
    assert.equal(report.finalProbe, 'ok');
    assert.ok(report.deliveriesChecked > 0 && report.sessions > 0 && report.batches > 0);
    assert.ok(Object.keys(report.droppedExpected).length >= 6, JSON.stringify(report.droppedExpected));
  },
);
