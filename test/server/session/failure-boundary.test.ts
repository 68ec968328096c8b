// One failure boundary per callback: a throw in our own code while a connection is served
// (its read, TLS read, the timeout sweep, its close timers, the start of its session) costs
// that connection only. It gets `!ERROR SHUTTING_DOWN` when a frame can still be sent, one
// `[ERROR]` line names it and the cause, handoff_session_faults_total counts it, and the
// thread and every other connection go on. The throws are injected by test-only switches
// (injected-faults.ts); a thread that dies all the same is worker-crash.test.ts.
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { ACK_TEXT, DISCONNECT_MESSAGE } from '../../../src/protocol/index.ts';
import { INTERNAL_ERROR_TEXT } from '../../../src/server/session/session.ts';
import { metricValue, scrapeMetrics } from '../../../src/server/observe/metrics-text.ts';
import { CRASH_AT_ENV, CRASH_PAYLOAD_ENV } from '../../../src/server/session/injected-faults.ts';
import { activeConnections, jsonLines, listening, nthEvent, run, type Spawned } from '../../helpers/process.ts';
import { testCertificate } from '../../helpers/tls.ts';
import {
  answeredClients,
  assertEndedWithError,
  connect,
  errorOf,
  type WireClient,
  type WireClientOptions,
} from '../../helpers/wire.ts';

const CRASH = '!TEST-CRASH-THIS-CONNECTION';

interface Started {
  p: Spawned;
  address: { host: string; port: number };
  client: WireClientOptions;
}

function start(t: TestContext, args: string[], env: NodeJS.ProcessEnv, tls = false): Promise<Started> {
  const { certFile, keyFile, ca } = testCertificate();
  const tlsArgs = tls ? ['--tls-cert', certFile, '--tls-key', keyFile] : [];
  const p = run(t, ['serve', '--port', '0', '--json', '--metrics-port', '0', ...args, ...tlsArgs], env);
  return listening(p).then((address) => ({ p, address, client: tls ? { tls: { ca } } : {} }));
}

function clientsOf(t: TestContext, s: Started, n: number): Promise<WireClient[]> {
  return answeredClients(t, s.address, n, s.client);
}

/** The address the server knows `client` by (read while it is connected). */
function addressOf(client: WireClient): string {
  return `127.0.0.1:${client.socket.localPort}`;
}

/** The `[ERROR]` line of the fault names the connection and the cause. */
async function faultLine(s: Started, victim: string, where: string): Promise<void> {
  const fault = await nthEvent(s.p, 'session-fault');
  assert.equal(fault.remote, victim, 'the line names the connection');
  assert.equal(fault.where, where);
  assert.match(String(fault.cause), /injected fault/, 'the line names the cause');
  assert.match(String(fault.msg), /^\[ERROR\] /);
}

/** Every other connection still answers, no thread died, and the server's counts are right. */
async function othersGoOn(s: Started, others: WireClient[], faults = 1): Promise<void> {
  for (const c of others) {
    await c.send('still there?');
    assert.equal(await c.readText(5000), ACK_TEXT, c.describe());
  }
  assert.equal(
    jsonLines(s.p).some((l) => l.event === 'worker-died'),
    false,
    'no thread died',
  );
  assert.equal(await activeConnections(s.p, 1), others.length, 'the failed connection is not counted any more');
  const metrics = await nthEvent(s.p, 'metrics');
  const samples = await scrapeMetrics('127.0.0.1', Number(metrics.port));
  assert.equal(metricValue(samples, 'handoff_session_faults_total'), faults);
}

// Each case runs its own server process: a few at a time.
describe('failure boundaries', { concurrency: 3 }, () => {
  const READ_CASES = [
    { label: 'handoff/2w', args: ['--strategy', 'handoff', '--workers', '2'], tls: false },
    { label: 'reuseport/2w', args: ['--strategy', 'reuseport', '--workers', '2'], tls: false },
    { label: 'single', args: ['--strategy', 'single'], tls: false },
    { label: 'handoff/2w+tls', args: ['--strategy', 'handoff', '--workers', '2'], tls: true },
  ];

  for (const { label, args, tls } of READ_CASES) {
    test(`${label}: a throw in the read path costs that connection only: it gets !ERROR SHUTTING_DOWN, the thread and the others go on`, async (t) => {
      const s = await start(t, args, { [CRASH_PAYLOAD_ENV]: CRASH }, tls);
      // Six, so that under every strategy others share the victim's thread.
      const [victim, ...others] = (await clientsOf(t, s, 6)) as [WireClient, ...WireClient[]];
      const address = addressOf(victim);
      await victim.send(CRASH);
      const end = await victim.readUntilClose(5000);
      assertEndedWithError(victim, end, 'SHUTTING_DOWN');
      assert.equal(errorOf(end.frames.at(-1))!.text, INTERNAL_ERROR_TEXT);
      await faultLine(s, address, tls ? 'tls-read' : 'read');
      await othersGoOn(s, [...others, ...(await clientsOf(t, s, 2))]);
    });
  }

  test('a throw in the timeout sweep costs that connection only (!ERROR SHUTTING_DOWN)', async (t) => {
    // --frame-timeout 1: the sweep runs every 100 ms.
    const s = await start(t, ['--workers', '1', '--frame-timeout', '1'], {
      [CRASH_PAYLOAD_ENV]: CRASH,
      [CRASH_AT_ENV]: 'sweep',
    });
    const [victim, ...others] = (await clientsOf(t, s, 4)) as [WireClient, ...WireClient[]];
    const address = addressOf(victim);
    await victim.send(CRASH);
    const end = await victim.readUntilClose(5000);
    assert.equal(end.frames.length, 2, 'the ack of the message, then the error');
    assertEndedWithError(victim, end, 'SHUTTING_DOWN');
    await faultLine(s, address, 'sweep');
    await othersGoOn(s, others);
  });

  test("a throw in a connection's close timer costs that connection only (it was closing: it is closed at once)", async (t) => {
    const s = await start(t, ['--workers', '1'], { [CRASH_PAYLOAD_ENV]: CRASH, [CRASH_AT_ENV]: 'timer' });
    const [victim, ...others] = (await clientsOf(t, s, 4)) as [WireClient, ...WireClient[]];
    const address = addressOf(victim);
    await victim.send(CRASH);
    await victim.send(DISCONNECT_MESSAGE);
    const end = await victim.readUntilClose(5000);
    assert.deepEqual(
      end.frames.map((f) => f.toString()),
      [ACK_TEXT, ACK_TEXT],
      'both messages were answered before the close',
    );
    await faultLine(s, address, 'timer');
    await othersGoOn(s, others);
  });

  for (const strategy of ['handoff', 'reuseport', 'single'] as const) {
    test(`${strategy}: a connection that cannot be handed to its session is closed and logged; the thread serves the next one`, async (t) => {
      // `adopt`: the first connection of each thread fails before its session starts (as when Node's internals change).
      const s = await start(t, ['--strategy', strategy, '--workers', '1'], { [CRASH_AT_ENV]: 'adopt' });
      const first = await connect(t, s.address, s.client);
      await first.send('hello');
      const end = await first.readUntilClose(5000);
      assert.equal(end.frames.length, 0, 'nothing was served');
      const fault = await nthEvent(s.p, 'session-fault');
      assert.equal(fault.where, 'serve');
      assert.match(String(fault.cause), /injected fault/);
      await othersGoOn(s, await clientsOf(t, s, 2));
    });
  }
});
