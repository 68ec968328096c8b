// --max-connections-per-ip: counted across every worker thread (shared memory),
// answered with !ERROR SERVER_FULL, and a place is given back when a connection closes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT } from '../../../src/protocol/index.ts';
import { connect, errorOf, eventually, forEachVariant, variantOptions, withServer } from '../../helpers/wire.ts';

forEachVariant((variant) => {
  test('one connection more than --max-connections-per-ip from one address gets SERVER_FULL', async (t) => {
    const server = await withServer(t, variantOptions(variant, { maxConnectionsPerIp: 3 }));
    const held = [];
    for (let i = 0; i < 3; i++) {
      const client = await connect(t, server);
      await client.send('hi');
      assert.equal(await client.readText(), ACK_TEXT);
      held.push(client);
    }
    const extra = await connect(t, server);
    const { frames } = await extra.readUntilClose(5000);
    assert.equal(errorOf(frames.at(-1))?.code, 'SERVER_FULL', extra.describe());
    assert.match(errorOf(frames.at(-1))!.text, /127\.0\.0\.1/);
    // The ones already in are untouched, and a place comes back when one leaves.
    await held[0]!.end();
    await eventually(() => server.stats().activeConnections === 2, 'the close to be counted');
    const again = await connect(t, server);
    await again.send('hi');
    assert.equal(await again.readText(), ACK_TEXT);
    await held[1]!.send('still here');
    assert.equal(await held[1]!.readText(), ACK_TEXT);
  });

  test('--max-connections-per-ip 0 is no limit', async (t) => {
    const server = await withServer(t, variantOptions(variant, { maxConnectionsPerIp: 0 }));
    for (let i = 0; i < 5; i++) {
      const client = await connect(t, server);
      await client.send('hi');
      assert.equal(await client.readText(), ACK_TEXT);
    }
  });
});
