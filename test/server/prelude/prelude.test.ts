// The prelude (PROXY header, TLS) on its own: what it hands on is a socket Node still
// manages fully, and its bound drops the oldest connection to make room.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { createServerLog } from '../../../src/server/observe/log.ts';
import { PreludeBound, runPrelude, trustedPeers } from '../../../src/server/prelude/prelude.ts';
import { proxyV1Header } from '../../../src/server/prelude/proxy-protocol.ts';

const silent = createServerLog({ json: false, quiet: true, silent: true });

test("after the PROXY header the socket keeps Node's own listeners (only the reader's own are removed)", async (t) => {
  const accepted = new Promise<net.Socket>((resolve) => {
    const server = net.createServer({ pauseOnConnect: true }, resolve);
    t.after(() => server.close());
    server.listen(0, '127.0.0.1', () => {
      const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      t.after(() => client.destroy());
      client.write(proxyV1Header({ address: '198.51.100.7', port: 40000 }, { address: '10.0.0.1', port: 5050 }));
    });
  });
  const socket = await accepted;
  const prepared = await runPrelude(socket, {
    proxyTrusted: trustedPeers(['127.0.0.0/8']),
    secureContext: null,
    deadlineMs: 5000,
    bound: new PreludeBound(() => 10),
    highWaterMarkBytes: 65536,
    log: silent,
  });
  assert.ok(prepared, 'the header was read');
  t.after(() => prepared.socket.destroy());
  assert.deepEqual(prepared.peer, { address: '198.51.100.7', port: 40000 });
  // A socket Node makes listens to its own 'end' (to refuse writes after the peer's FIN): that must stay.
  const fresh = new net.Socket();
  for (const event of ['end', 'close', 'error', 'finish', 'data']) {
    assert.equal(prepared.socket.listenerCount(event), fresh.listenerCount(event), `'${event}' listeners`);
  }
});

test('PreludeBound: at its limit, one more drops the oldest; leaving frees a place', () => {
  const bound = new PreludeBound(() => 2);
  const dropped: string[] = [];
  const leaveA = bound.enter(() => dropped.push('a'));
  bound.enter(() => dropped.push('b'));
  leaveA();
  bound.enter(() => dropped.push('c'));
  assert.equal(dropped.length, 0, 'a left: room for c');
  bound.enter(() => dropped.push('d'));
  assert.deepEqual(dropped, ['b'], 'the oldest, b, made room for d');
  assert.equal(bound.size, 2);
});

test('the bound is read at every entry: a limit lowered meanwhile drops as many as needed', () => {
  let limit = 3;
  const bound = new PreludeBound(() => limit);
  const dropped: number[] = [];
  for (let i = 0; i < 3; i++) bound.enter(() => dropped.push(i));
  limit = 1;
  bound.enter(() => dropped.push(3));
  assert.deepEqual(dropped, [0, 1, 2]);
});
