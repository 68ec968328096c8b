// resolveBenchOptions, the programmatic API: defaults, and one refusal per option,
// each an InvalidOptionError that names the option as the API spells it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BENCH_DEFAULTS, DEFAULT_SIZES, resolveBenchOptions } from '../../src/bench/options.ts';
import { InvalidOptionError } from '../../src/protocol/index.ts';

function rejects(
  options: Parameters<typeof resolveBenchOptions>[0],
  option: string,
  names: RegExp = /./,
  oneLine = true,
) {
  assert.throws(
    () => resolveBenchOptions(options),
    (err: unknown) => {
      assert.ok(err instanceof InvalidOptionError);
      assert.equal(err.code, 'ERR_INVALID_OPTION');
      assert.equal(err.option, option);
      assert.ok(err.template.includes(`{${option}}`), `the message names {${option}}: ${err.template}`);
      assert.match(err.message, names);
      if (oneLine) assert.ok(!err.message.includes('\n'), 'one line');
      return true;
    },
  );
}

test('defaults: one header of 64, a sweep of sizes from 16 B to 64 KiB, closed loop, embedded handoff server', () => {
  const o = resolveBenchOptions();
  assert.deepEqual(o.sizes, DEFAULT_SIZES);
  assert.equal(o.sizes[0], 16);
  assert.equal(o.sizes.at(-1), 65536);
  assert.deepEqual(o.headerBytes, [64]);
  assert.equal(o.clients, BENCH_DEFAULTS.clients);
  assert.equal(o.pipelining, 1);
  assert.equal(o.rate, 0);
  assert.equal(o.messages, 0);
  assert.equal(o.target, null);
  assert.deepEqual(o.strategies, ['handoff']);
  assert.equal(o.out, 'results');
  assert.equal(o.mode, 'ack');
  assert.equal(o.timeoutS, 10);
  assert.equal(o.connectTimeoutS, 10);
});

test('a field given as undefined takes its default', () => {
  assert.equal(resolveBenchOptions({ clients: undefined }).clients, BENCH_DEFAULTS.clients);
});

test('sizes and header sizes: repeats are dropped, the order kept', () => {
  const o = resolveBenchOptions({ sizes: [1024, 16, 1024], headerBytes: [8, 64, 8] });
  assert.deepEqual(o.sizes, [1024, 16]);
  assert.deepEqual(o.headerBytes, [8, 64]);
});

test('clients 0 is refused', () => rejects({ clients: 0 }, 'clients', /^clients must be an integer/));
test('pipelining 0 is refused', () => rejects({ pipelining: 0 }, 'pipelining'));
test('durationS 0 is refused', () => rejects({ durationS: 0 }, 'durationS'));
test('warmupS -1 is refused', () => rejects({ warmupS: -1 }, 'warmupS'));
test('messages 0 is refused', () => rejects({ messages: 0 }, 'messages'));
test('an empty sizes list is refused', () => rejects({ sizes: [] }, 'sizes'));
test('a fraction of a byte is refused', () => rejects({ sizes: [1.5] }, 'sizes'));
test('sizes above the 1 MiB message limit are refused', () => rejects({ sizes: [2 * 1024 ** 2] }, 'sizes', /1 MiB/));
test('headerBytes 3 is refused (protocol minimum is 4)', () => rejects({ headerBytes: [64, 3] }, 'headerBytes'));
test('headerBytes too small for the largest size is refused', () =>
  rejects({ headerBytes: [4], sizes: [65536] }, 'headerBytes', /cannot carry the length of a 65536-byte payload/));
test('a mode other than ack or echo is refused', () => rejects({ mode: 'pong' as 'ack' }, 'mode'));
test('a negative rate is refused', () => rejects({ rate: -1 }, 'rate'));
test('workers above clients is refused, naming both', () =>
  rejects({ clients: 2, workers: 3 }, 'workers', /^workers 3 is more than clients 2/));
// (Its message shows the value as given, line break included: see validators' shown().)
test('a label of two lines is refused', () => rejects({ label: 'a\nb' }, 'label', /^label must be one line/, false));
test('json that is not a boolean is refused', () => rejects({ json: 'yes' as unknown as boolean }, 'json'));
test('serverWorkers 0 is refused', () => rejects({ serverWorkers: 0 }, 'serverWorkers'));
test('a strategy outside handoff, reuseport, single is refused', () =>
  rejects({ strategies: ['handoff', 'fork' as 'handoff'] }, 'strategies'));
test('repeat 0 is refused', () => rejects({ repeat: 0 }, 'repeat'));
test('timeoutS 0 is refused', () => rejects({ timeoutS: 0 }, 'timeoutS'));
test('connectTimeoutS 0 is refused', () => rejects({ connectTimeoutS: 0 }, 'connectTimeoutS'));
test('progress that is not a boolean is refused', () => rejects({ progress: 1 as unknown as boolean }, 'progress'));
test('an empty part of serverCommand is refused', () => rejects({ serverCommand: ['node', ''] }, 'serverCommand'));

test('target takes host:port, :port, port or [v6]:port', () => {
  assert.deepEqual(resolveBenchOptions({ target: 'localhost:5050' }).target, { host: 'localhost', port: 5050 });
  assert.deepEqual(resolveBenchOptions({ target: ':5050' }).target, { host: '127.0.0.1', port: 5050 });
  assert.deepEqual(resolveBenchOptions({ target: '5050' }).target, { host: '127.0.0.1', port: 5050 });
  assert.deepEqual(resolveBenchOptions({ target: '[::1]:7000' }).target, { host: '::1', port: 7000 });
});
test('a target without a port is refused', () => rejects({ target: 'localhost' }, 'target'));
test('a target port above 65535 is refused', () => rejects({ target: 'host:70000' }, 'target'));
test('target with two header sizes is refused', () =>
  rejects({ target: '127.0.0.1:5050', headerBytes: [64, 8] }, 'headerBytes', /target .* one headerBytes/));
test('target with several strategies is refused', () =>
  rejects({ target: ':5050', strategies: ['handoff', 'single'] }, 'strategies'));

// Chat mode: its options, and the combinations that cannot be measured, each one line.
const chat = (o: Parameters<typeof resolveBenchOptions>[0] = {}) => resolveBenchOptions({ mode: 'chat', ...o });

test('chat defaults: 10 senders, one room, a window of 64, NATS PING every 100, the handoff target', () => {
  const o = chat({ clients: 510 });
  assert.ok(o.chat);
  assert.deepEqual(o.chat.clients, [510]);
  assert.equal(o.chat.senders, BENCH_DEFAULTS.senders);
  assert.equal(o.chat.rooms, 1);
  assert.equal(o.chat.window, 64);
  assert.equal(o.chat.natsPingEvery, 100);
  assert.deepEqual(o.chat.targetKinds, ['handoff']);
  assert.equal(o.chat.servers, 1);
  assert.equal(o.chat.bus, 'local');
  assert.deepEqual(o.chat.serverWorkers, [BENCH_DEFAULTS.serverWorkers]);
  assert.equal(resolveBenchOptions().chat, null, 'ack mode has no chat part');
});

test('chat: a sweep of connections and of server workers; clients is the largest (the open-file limit)', () => {
  const o = chat({ clients: [20, 110, 510], serverWorkers: [1, 2], targetKinds: ['handoff', 'nats', 'redis'] });
  assert.deepEqual(o.chat!.clients, [20, 110, 510]);
  assert.equal(o.clients, 510);
  assert.deepEqual(o.chat!.serverWorkers, [1, 2]);
  assert.equal(o.serverWorkers, 1);
});

test('chat: more senders than clients is refused, naming both', () =>
  rejects({ mode: 'chat', clients: [100, 10], senders: 20 }, 'senders', /^senders 20 is more than clients 10/));
test('chat: more rooms than senders is refused (each room needs a sender)', () =>
  rejects({ mode: 'chat', clients: 100, senders: 2, rooms: 3 }, 'rooms', /each room needs a sender/));
test('chat: a room left without a receiver is refused', () =>
  rejects({ mode: 'chat', clients: 10, senders: 10 }, 'clients', /room 0 without a receiver/));
test('chat: --server-workers with only NATS is refused: there is no handoff server to give them to', () =>
  rejects({ mode: 'chat', targetKinds: ['nats'], serverWorkers: 2 }, 'serverWorkers', /targetKinds nats starts none/));
test('chat: --redis with NATS is refused (Redis goes between two handoff servers)', () =>
  rejects({ mode: 'chat', redis: true, targetKinds: ['handoff', 'nats'] }, 'redis', /targetKinds handoff,nats/));
test('chat: --redis with --target is refused', () =>
  rejects({ mode: 'chat', redis: true, target: ':5050' }, 'redis', /with target$/));
test('chat: --servers N on a bus; one server may run on a bus too', () => {
  for (const bus of ['redis', 'redis-cluster', 'nats'] as const) {
    assert.deepEqual([chat({ servers: 4, bus }).chat!.servers, chat({ servers: 4, bus }).chat!.bus], [4, bus]);
    assert.equal(chat({ bus }).chat!.servers, 1);
  }
  assert.equal(chat({ redis: true, servers: 4 }).chat!.servers, 4, '--redis keeps a --servers given');
  assert.equal(chat({ redis: false, targetKinds: ['nats'] }).chat!.bus, 'local', '--no-redis asks for nothing');
});
test('chat: --servers above 1 on the local bus is refused, saying local is one process', () => {
  rejects(
    { mode: 'chat', servers: 2 },
    'servers',
    /^servers 2 needs a bus between the servers: bus local is one process/,
  );
  rejects({ mode: 'chat', servers: 2, bus: 'local' }, 'servers', /give bus redis, redis-cluster or nats/);
});
test('chat: --servers and --bus out of range, unknown, or contradicting --redis are refused', () => {
  rejects({ mode: 'chat', servers: 0, bus: 'redis' }, 'servers');
  rejects({ mode: 'chat', servers: 17, bus: 'redis' }, 'servers');
  rejects({ mode: 'chat', bus: 'kafka' as 'nats' }, 'bus', /one of local, redis, redis-cluster, nats/);
  rejects({ mode: 'chat', redis: true, bus: 'nats' }, 'redis', /old spelling of bus redis: it cannot go with bus nats/);
});
test('chat: --servers and --bus start handoff servers: not with another target kind, nor with --target', () => {
  rejects({ mode: 'chat', bus: 'nats', targetKinds: ['nats'] }, 'bus', /targetKinds nats/);
  rejects({ mode: 'chat', servers: 1, targetKinds: ['handoff', 'redis'] }, 'servers', /targetKinds handoff,redis/);
  rejects({ mode: 'chat', servers: 2, bus: 'redis', target: ':5050' }, 'servers', /with target$/);
  rejects({ mode: 'chat', bus: 'nats', target: ':5050' }, 'bus', /with target$/);
});
test('chat: --target with two target kinds is refused', () =>
  rejects({ mode: 'chat', target: ':4222', targetKinds: ['nats', 'redis'] }, 'targetKinds', /one running server/));
test('chat: a target kind outside handoff, nats, redis is refused', () =>
  rejects({ mode: 'chat', targetKinds: ['kafka' as 'nats'] }, 'targetKinds', /one of handoff, nats, redis/));
test('chat: payloads below the 16-byte stamp are refused', () =>
  rejects({ mode: 'chat', sizes: [16, 8] }, 'sizes', /at least 16 bytes/));
test('chat: --pipelining and --messages are refused (senders keep a window, a run lasts a duration)', () => {
  rejects({ mode: 'chat', pipelining: 4 }, 'pipelining', /window/);
  rejects({ mode: 'chat', messages: 1000 }, 'messages', /durationS/);
});
test('chat: one header size and one strategy', () => {
  rejects({ mode: 'chat', headerBytes: [64, 8] }, 'headerBytes');
  rejects({ mode: 'chat', strategies: ['handoff', 'single'] }, 'strategies');
});
test('chat: window 0 and a NATS PING every 0 messages are refused', () => {
  rejects({ mode: 'chat', window: 0 }, 'window');
  rejects({ mode: 'chat', natsPingEvery: 0 }, 'natsPingEvery');
});
test("ack mode refuses chat's options, a sweep of clients and several server workers", () => {
  rejects({ senders: 5 }, 'senders', /^senders is for mode chat only$/);
  rejects({ targetKinds: ['nats'] }, 'targetKinds');
  rejects({ redis: true }, 'redis');
  rejects({ servers: 2 }, 'servers', /for mode chat only/);
  rejects({ bus: 'nats' }, 'bus', /for mode chat only/);
  rejects({ clients: [10, 20] }, 'clients', /a sweep/);
  rejects({ serverWorkers: [1, 2] }, 'serverWorkers');
});

test('tls and transports: tcp by default, --tls is transports tls, both at once take turns; contradictions refused', () => {
  assert.deepEqual(resolveBenchOptions().transports, ['tcp']);
  assert.deepEqual(resolveBenchOptions({ tls: true }).transports, ['tls']);
  assert.deepEqual(resolveBenchOptions({ transports: ['tcp', 'tls'] }).transports, ['tcp', 'tls']);
  rejects({ tls: false, transports: ['tls'] }, 'tls');
  rejects({ transports: ['udp' as 'tcp'] }, 'transports');
  rejects({ ca: 'ca.pem' }, 'ca', /tls/);
  assert.equal(resolveBenchOptions({ tls: true, ca: 'ca.pem', target: '127.0.0.1:5050' }).ca, 'ca.pem');
  rejects({ tls: true, mode: 'chat' }, 'tls');
});
