// A pool thread that dies loses only the connections it held: piscina's replacement
// serves, new connections are served, the active count stays right and the crash is
// logged with its cause. The death is injected by a message only tests can arm
// (HANDOFF_TEST_KILL_THREAD_PAYLOAD, read once when a pool thread starts): it throws
// outside every failure boundary, as a bug in Node or a native module would. A throw
// inside a boundary costs one connection only: failure-boundary.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT } from '../../../src/protocol/index.ts';
import { KILL_THREAD_PAYLOAD_ENV } from '../../../src/server/session/injected-faults.ts';
import { activeConnections, listening, nthEvent, run } from '../../helpers/process.ts';
import { answeredClients, type WireClient } from '../../helpers/wire.ts';

const CRASH = '!TEST-KILL-THIS-THREAD';

for (const strategy of ['handoff', 'reuseport'] as const) {
  test(`${strategy}: a worker thread that crashes loses only its own connections, and the server goes on serving`, async (t) => {
    const p = run(t, ['serve', '--port', '0', '--json', '--workers', '2', '--strategy', strategy], {
      [KILL_THREAD_PAYLOAD_ENV]: CRASH,
    });
    const address = await listening(p);
    let statsLines = 0;
    // Twice: the replacement thread reuses the dead one's counter slot, and must survive its own crash too.
    for (let round = 1; round <= 2; round++) {
      const clients = await answeredClients(t, address, 6);
      const [victim, ...others] = clients as [WireClient, ...WireClient[]];
      await victim.send(CRASH);
      await victim.waitClose(5000);
      const died = await nthEvent(p, 'worker-died', round);
      assert.match(String(died.cause), /injected fault/, 'the log names the cause');
      // Until then, under reuseport, the other thread is the only one listening (and takes every new connection).
      await nthEvent(p, 'worker-replaced', round);

      // Each other connection either still answers (it was on the other thread) or was closed with its thread.
      const survivors: WireClient[] = [];
      for (const c of others) {
        await c.send('still there?').catch(() => {});
        try {
          assert.equal(await c.readText(5000), ACK_TEXT);
          survivors.push(c);
        } catch {
          assert.notEqual(c.closedBy, null, `neither answered nor closed: ${c.describe()}`);
        }
      }
      assert.equal(died.lostConnections, clients.length - survivors.length, 'the log counts the lost connections');
      // Balancing itself is balance.test.ts's job; here it is enough that the other thread's connections live on
      // (least-busy puts about half there; the exact split depends on when completions reach the balancer).
      if (strategy === 'handoff') assert.ok(survivors.length >= 1, 'the connections on the other thread survive');

      // New connections are served (by the survivor and by the replacement), and the count is right.
      const fresh = await answeredClients(t, address, 6);
      assert.equal(await activeConnections(p, ++statsLines), survivors.length + fresh.length);
      for (const c of [...survivors, ...fresh]) await c.end();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await activeConnections(p, ++statsLines), 0, 'every closed connection is un-counted');
    }
  });
}
