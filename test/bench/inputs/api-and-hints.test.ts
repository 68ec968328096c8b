// The programmatic API (options in, the result out, progress as events), and the hint a
// header-size mismatch gets in the bench and in the client.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { bench, type BenchResult, type PlanInfo } from '../../../src/bench/index.ts';
import { connect } from '../../../src/client/index.ts';
import { startServer } from '../../../src/server/index.ts';
import { ACK_TEXT, encodeTextFrame, InvalidOptionError, NoReplyError } from '../../../src/protocol/index.ts';
import { fakeServerCommand } from '../helpers/fake.ts';

test('bench(): options in, the result object out, progress as events in order', async () => {
  const events: string[] = [];
  const measured: PlanInfo[] = [];
  const run = bench({
    clients: 2,
    workers: 1,
    sizes: [16, 64],
    durationS: 1.2,
    warmupS: 0,
    out: '',
    serverCommand: fakeServerCommand(),
  });
  run.on('start', (plan) => events.push(`start ${plan.index + 1}/${plan.total} ${plan.key}`));
  run.on('phase', (plan, phase) => events.push(`phase ${plan.index} ${phase}`));
  run.on('tick', (plan) => events.push(`tick ${plan.index}`));
  run.on('measurement', (plan) => measured.push(plan));
  const result = (await run) as BenchResult;
  assert.equal(result.schema, (await run.result).schema);
  assert.deepEqual(
    result.measurements.map((m) => m.key),
    ['handoff h64 16 B', 'handoff h64 64 B'],
  );
  assert.deepEqual(
    measured.map((p) => p.key),
    result.measurements.map((m) => m.key),
  );
  assert.equal(events[0], 'start 1/2 handoff h64 16 B');
  for (const phase of ['connect', 'ramp', 'measure', 'drain']) assert.ok(events.includes(`phase 0 ${phase}`), phase);
  assert.ok(events.includes('tick 0'), events.join(', '));
  assert.ok(events.indexOf('phase 0 drain') < events.indexOf('start 2/2 handoff h64 64 B'));
  assert.ok(result.measurements.every((m) => m.window.messages > 0));
});

test('bench(): a bad option rejects the run with an InvalidOptionError naming the API option', async () => {
  await assert.rejects(bench({ clients: 0 }).result, (err: unknown) => {
    assert.ok(err instanceof InvalidOptionError);
    assert.equal(err.option, 'clients');
    assert.match(err.message, /^clients must be an integer from 1 to 100000, got 0$/);
    return true;
  });
});

/** A server that frames its acks with an 8-byte header, whatever it is sent. */
async function eightByteServer(t: { after(fn: () => Promise<void>): void }): Promise<number> {
  const ack = encodeTextFrame(ACK_TEXT, 8);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => socket.write(ack));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as net.AddressInfo).port;
}

test('bench: a server of another header size is one error that says header sizes must agree, and which was used', async (t) => {
  const port = await eightByteServer(t);
  for (const headerBytes of [64, 16]) {
    const began = performance.now();
    await assert.rejects(
      bench({
        ...{ clients: 2, workers: 1, sizes: [16], durationS: 5, out: '' },
        ...{ timeoutS: 1, connectTimeoutS: 1, target: `:${port}`, headerBytes: [headerBytes] },
      }).result,
      (err: unknown) => {
        assert.ok(err instanceof NoReplyError, String(err));
        assert.match(err.message, new RegExp(`no reply from 127\\.0\\.0\\.1:${port} could be read`));
        assert.match(
          err.message,
          new RegExp(`client and server must use the same header size \\(this side used ${headerBytes}-byte headers`),
        );
        // Said once.
        assert.equal(err.message.split('header size').length, 2, err.message);
        return true;
      },
    );
    // Within the reply timeout (64: 20 bytes never make a 64-byte header) or at once (16: a bad header), never
    // after measuring the 5 s window.
    assert.ok(performance.now() - began < 4_000, `${performance.now() - began} ms`);
  }
});

test('client: the first reply that does not come, or does not parse, says header sizes must agree', async (t) => {
  const port = await eightByteServer(t);
  // 64: the 20 bytes of the 8-byte frame never make a 64-byte header, so the reply timeout says it.
  const wide = await connect({ port, headerBytes: 64, replyTimeoutMs: 300 });
  await assert.rejects(wide.send('hi'), (err: Error) => {
    assert.match(err.message, /^no reply within 0\.3 s; .*same header size \(this side used 64-byte headers/);
    return true;
  });
  wide.destroy();
  // 16: '12      Msg rece' is no header: the decode error says it.
  const narrow = await connect({ port, headerBytes: 16, replyTimeoutMs: 5_000 });
  await assert.rejects(narrow.send('hi'), /header must be .*; .*same header size \(this side used 16-byte headers/);
  narrow.destroy();
});

test('bench --amount against a server in the other mode ends at once with one error naming the mismatch and --mode (it used to hang)', async (t) => {
  for (const [serverMode, benchMode, said] of [
    ['echo', 'ack', /the replies are not acks \("Msg received"\).*measure it with --mode echo/],
    [
      'ack',
      'echo',
      /the server acks each message \("Msg received"\) instead of sending it back; measure it with --mode ack/,
    ],
  ] as const) {
    const server = await startServer({ host: '127.0.0.1', port: 0, workers: 1, mode: serverMode, silent: true });
    t.after(() => server.close());
    const began = performance.now();
    const run = bench({
      ...{ clients: 2, workers: 1, sizes: [16], amount: 200, out: '' },
      ...{ timeoutS: 5, target: `127.0.0.1:${server.port}`, mode: benchMode },
    }).result;
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`bench --mode ${benchMode} against --mode ${serverMode}: no end in 20 s`)),
        20_000,
      );
    });
    await assert.rejects(Promise.race([run, hang]), (err: unknown) => {
      assert.ok(err instanceof NoReplyError, String(err));
      assert.match(err.message, said);
      assert.doesNotMatch(err.message, /header size/, 'no header size hint: the sizes agree');
      return true;
    });
    clearTimeout(timer);
    assert.ok(performance.now() - began < 10_000, `${performance.now() - began} ms`);
  }
});
