// The end-of-turn flush of a chat thread, in process with connections played by the test:
// a member whose replies go out while members of its room leave in the same flush still
// gets everything afterwards (found by fuzz:chat: it used to be marked as queued while it
// was not, and got nothing more, ever).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test } from 'node:test';
import { FrameDecoder, type ProtocolError } from '../../../src/protocol/index.ts';
import { PrebuiltAcks } from '../../../src/server/io/acks.ts';
import { ChatThread } from '../../../src/server/chat/chat-thread.ts';
import type { ChatConnection, ChatMember } from '../../../src/server/chat/member.ts';

const H = 64;

class FakeConnection implements ChatConnection {
  readonly address: string;
  readonly frames: string[] = [];
  readonly unsentBytes = 0;
  readonly #decoder = new FrameDecoder(
    { headerBytes: H, maxMessageBytes: 1 << 20 },
    (p) => this.frames.push(p.toString()),
    () => {},
  );
  constructor(address: string) {
    this.address = address;
  }
  writeOut(chunks: Buffer[]): void {
    for (const c of chunks) this.#decoder.push(c);
  }
  fail(err: ProtocolError): void {
    this.frames.push(`failed ${err.code}`);
  }
  crashed(where: string): void {
    this.frames.push(`crashed in ${where}`);
  }
}

function thread(t: { after(fn: () => void): void }): ChatThread {
  let ids = 0;
  const chat = new ChatThread({
    id: 1,
    busName: `test-${randomUUID()}`,
    headerBytes: H,
    maxMessageBytes: 4096,
    maxPendingBytes: 1 << 20,
    acks: new PrebuiltAcks(H, false),
    nextMemberId: () => ++ids,
    livePeers: () => [],
    bridge: false,
    onDelivered: () => {},
    onBusDropped: () => {},
    log: { essential() {}, info() {}, verbose: false, flush() {} },
  });
  t.after(() => chat.close());
  return chat;
}

test('members leaving during a flush do not leave another member of their room unwritten for ever', async (t) => {
  const chat = thread(t);
  const join = (name: string) => {
    const connection = new FakeConnection(name);
    return { connection, member: chat.attach(connection) };
  };
  const a = join('a:1');
  const c = join('c:1');
  const b = join('b:1');
  await nextTurn();
  await nextTurn();
  const leaveOnReply = (m: ChatMember) => {
    m.endAfterReplies = () => chat.detach(m);
  };
  // One turn: a asks !WHO, then c and b say !DISCONNECT (their close comes once their reply is out).
  chat.onPayload(a.member, Buffer.from('!WHO'));
  chat.onPayload(c.member, Buffer.from('!DISCONNECT'));
  leaveOnReply(c.member);
  chat.onPayload(b.member, Buffer.from('!DISCONNECT'));
  leaveOnReply(b.member);
  for (let i = 0; i < 5; i++) await nextTurn();
  assert.ok(
    a.connection.frames.some((f) => f.startsWith('!OK WHO lobby a:1')),
    a.connection.frames.join(' | '),
  );
  assert.ok(a.connection.frames.includes('!LEFT lobby c:1'), `a hears c leave: ${a.connection.frames.join(' | ')}`);
  assert.ok(a.connection.frames.includes('!LEFT lobby b:1'), 'and b');
  const d = join('d:1');
  await nextTurn();
  chat.onPayload(d.member, Buffer.from('still there?'));
  for (let i = 0; i < 3; i++) await nextTurn();
  assert.ok(a.connection.frames.includes('!MSG lobby d:1 still there?'), 'and everything after');
});
