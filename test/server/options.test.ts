// resolveServerOptions: one test per option (bad values -> InvalidOptionError with code
// ERR_INVALID_OPTION naming the option), and startServer refuses the same way.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidOptionError } from '../../src/protocol/index.ts';
import {
  type ResolvedServerOptions,
  resolveServerOptions,
  SERVER_DEFAULTS,
  type ServerOptions,
} from '../../src/server/options.ts';
import { startServer } from '../../src/server/server.ts';

function rejects(options: Record<string, unknown>, option: string): void {
  assert.throws(
    () => resolveServerOptions(options as ServerOptions),
    (err: unknown) => {
      assert.ok(
        err instanceof InvalidOptionError,
        `an InvalidOptionError for ${JSON.stringify(options)}, got ${String(err)}`,
      );
      assert.equal(err.code, 'ERR_INVALID_OPTION');
      assert.equal(err.option, option);
      assert.ok(err.message.length > 0 && !err.message.includes('\n'), 'one-line message');
      return true;
    },
  );
}

// (null and undefined mean "the default", as for every option.)
const NOT_INTEGERS = [1.5, Number.NaN, Number.POSITIVE_INFINITY, '10', true];

const INTEGER_OPTIONS: Array<[keyof ServerOptions & keyof ResolvedServerOptions, number, number]> = [
  ['port', 0, 65_535],
  ['headerBytes', 4, 1024],
  ['maxMessageBytes', 0, 2 ** 31 - 1],
  ['maxConnections', 1, 1_000_000],
  ['frameTimeoutMs', 1, 86_400_000],
  ['handshakeTimeoutMs', 1, 300_000],
  ['idleTimeoutMs', 0, 86_400_000],
  ['writeTimeoutMs', 0, 86_400_000],
  ['workers', 1, 256],
  ['highWaterMarkBytes', 1024, 2 ** 30],
  ['maxPendingBytes', 1024, 2 ** 40],
  ['statsIntervalMs', 0, 86_400_000],
  ['metricsPort', 0, 65_535],
  ['maxConnectionsPerIp', 0, 1_000_000],
];

test('resolveServerOptions() with nothing gives the documented defaults', () => {
  const resolved = resolveServerOptions();
  assert.deepEqual(resolved, SERVER_DEFAULTS);
  assert.equal(resolved.headerBytes, 64);
  assert.equal(resolved.maxMessageBytes, 1048576);
  assert.equal(resolved.maxConnections, 10_000);
  assert.equal(resolved.frameTimeoutMs, 30_000);
  assert.equal(resolved.handshakeTimeoutMs, 10_000, 'far shorter than the frame timeout');
  assert.equal(resolved.idleTimeoutMs, 300_000);
  assert.equal(resolved.writeTimeoutMs, 30_000);
  assert.equal(resolved.mode, 'ack');
  assert.equal(resolved.ack, 'framed');
  assert.ok(Object.isFrozen(resolved));
});

for (const [name, min, max] of INTEGER_OPTIONS) {
  test(`option ${name}: integers from ${min} to ${max} accepted, others refused with ERR_INVALID_OPTION`, () => {
    assert.equal(resolveServerOptions({ [name]: min })[name], min);
    assert.equal(resolveServerOptions({ [name]: max })[name], max);
    rejects({ [name]: min - 1 }, name);
    rejects({ [name]: max + 1 }, name);
    for (const bad of NOT_INTEGERS) rejects({ [name]: bad }, name);
  });
}

test('metrics: off unless a port is given; the host defaults to loopback and must not be empty', () => {
  assert.equal(resolveServerOptions().metricsPort, null);
  assert.equal(resolveServerOptions({ metricsPort: null }).metricsPort, null);
  assert.equal(resolveServerOptions().metricsHost, '127.0.0.1');
  rejects({ metricsHost: '' }, 'metricsHost');
});

test('option host: a non-empty string accepted, empty or non-string refused', () => {
  assert.equal(resolveServerOptions({ host: '0.0.0.0' }).host, '0.0.0.0');
  rejects({ host: '' }, 'host');
  rejects({ host: 42 }, 'host');
});

for (const [name, allowed] of [
  ['strategy', ['handoff', 'reuseport', 'single']],
  ['mode', ['ack', 'echo']],
  ['ack', ['framed', 'raw']],
] as const) {
  test(`option ${name}: one of ${allowed.join(', ')}; anything else refused with ERR_INVALID_OPTION`, () => {
    for (const value of allowed) {
      if (name === 'ack' && value === 'raw') assert.equal(resolveServerOptions({ ack: 'raw', mode: 'ack' }).ack, 'raw');
      else assert.equal(resolveServerOptions({ [name]: value })[name], value);
    }
    rejects({ [name]: 'nope' }, name);
    rejects({ [name]: allowed[0].toUpperCase() }, name);
    rejects({ [name]: 1 }, name);
  });
}

for (const name of ['logMessages', 'quiet', 'json', 'silent', 'proxyProtocol'] as const) {
  test(`option ${name}: true or false; anything else refused with ERR_INVALID_OPTION`, () => {
    assert.equal(resolveServerOptions({ [name]: true })[name], true);
    assert.equal(resolveServerOptions({ [name]: false })[name], false);
    rejects({ [name]: 'yes' }, name);
    rejects({ [name]: 1 }, name);
  });
}

test("ack 'raw' with mode 'echo' is refused (ERR_INVALID_OPTION)", () => {
  rejects({ ack: 'raw', mode: 'echo' }, 'ack');
});

test('startServer() refuses a bad option with InvalidOptionError before listening', async () => {
  await assert.rejects(startServer({ port: 0, silent: true, headerBytes: 2 }), (err: unknown) => {
    assert.ok(err instanceof InvalidOptionError, String(err));
    assert.equal(err.code, 'ERR_INVALID_OPTION');
    return true;
  });
  await assert.rejects(startServer({ port: 0, silent: true, ack: 'raw', mode: 'echo' }), {
    code: 'ERR_INVALID_OPTION',
  });
});

test('chat mode: a message limit whose deliveries would not fit the header is refused, naming both options', () => {
  rejects({ mode: 'chat', headerBytes: 4 }, 'maxMessageBytes');
  assert.equal(resolveServerOptions({ mode: 'chat', headerBytes: 4, maxMessageBytes: 9899 }).maxMessageBytes, 9899);
  rejects({ mode: 'chat', headerBytes: 4, maxMessageBytes: 9900 }, 'maxMessageBytes');
  assert.equal(
    resolveServerOptions({ mode: 'echo', headerBytes: 4 }).headerBytes,
    4,
    'echo replies are as long as messages',
  );
});

test('redis: a redis:// URL in chat mode (the old name of bus); refused in another mode or in another form', () => {
  assert.deepEqual(resolveServerOptions({ mode: 'chat', redis: 'redis://10.0.0.5:6379' }).bus, {
    kind: 'redis',
    url: 'redis://10.0.0.5:6379',
  });
  assert.equal(resolveServerOptions({ mode: 'chat' }).bus, null);
  rejects({ mode: 'ack', redis: 'redis://127.0.0.1:6379' }, 'redis');
  rejects({ mode: 'chat', redis: '127.0.0.1:6379' }, 'redis');
  rejects({ mode: 'chat', redis: 'nats://127.0.0.1:4222' }, 'redis');
  rejects({ mode: 'chat', redis: 6379 }, 'redis');
  rejects({ mode: 'chat', redis: 'redis://a:1', bus: 'redis://a:1' }, 'redis');
});

test('bus: redis://, redis-cluster:// and nats:// URLs parsed once; anything else refused, naming the bad part', () => {
  const bus = (url: string) => resolveServerOptions({ mode: 'chat', bus: url }).bus;
  assert.deepEqual(bus('redis://10.0.0.5:6379'), { kind: 'redis', url: 'redis://10.0.0.5:6379' });
  assert.deepEqual(bus('redis-cluster://127.0.0.1:7000,h2.example:7001,[::1]:7002'), {
    kind: 'redis-cluster',
    url: 'redis-cluster://127.0.0.1:7000,h2.example:7001,[::1]:7002',
    nodes: [
      { host: '127.0.0.1', port: 7000 },
      { host: 'h2.example', port: 7001 },
      { host: '::1', port: 7002 },
    ],
  });
  assert.deepEqual(bus('nats://127.0.0.1:4222,127.0.0.1:4223'), {
    kind: 'nats',
    url: 'nats://127.0.0.1:4222,127.0.0.1:4223',
    servers: ['nats://127.0.0.1:4222', 'nats://127.0.0.1:4223'],
  });
  assert.equal(resolveServerOptions({ mode: 'chat', bus: '' }).bus, null);
  rejects({ mode: 'echo', bus: 'nats://127.0.0.1:4222' }, 'bus');
  for (const bad of [
    'kafka://127.0.0.1:9092',
    '127.0.0.1:4222',
    'nats://',
    'nats://127.0.0.1',
    'nats://127.0.0.1:0',
    'nats://127.0.0.1:70000',
    'redis-cluster://127.0.0.1:7000,',
    'redis-cluster://127.0.0.1:7000,bad host:7001',
    'redis://',
  ]) {
    rejects({ mode: 'chat', bus: bad }, 'bus');
  }
  assert.throws(
    () => resolveServerOptions({ mode: 'chat', bus: 'nats://127.0.0.1:4222,oops' }),
    /nats:\/\/ takes host:port\[,host:port\.\.\.\] \(ports 1 to 65535\), got 'oops'/,
  );
});

test('tlsCert and tlsKey: both or neither; the one missing is named', () => {
  assert.equal(resolveServerOptions({ tlsCert: 'c.pem', tlsKey: 'k.pem' }).tlsCert, 'c.pem');
  assert.equal(resolveServerOptions().tlsCert, '');
  rejects({ tlsCert: 'c.pem' }, 'tlsKey');
  rejects({ tlsKey: 'k.pem' }, 'tlsCert');
  rejects({ tlsCert: 1, tlsKey: 'k.pem' }, 'tlsCert');
});

test('proxyTrusted: addresses and CIDRs of either family, default loopback; anything else refused', () => {
  assert.deepEqual(resolveServerOptions().proxyTrusted, ['127.0.0.0/8', '::1']);
  const list = ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1/128', '0.0.0.0/0'];
  assert.deepEqual(resolveServerOptions({ proxyTrusted: list }).proxyTrusted, list);
  for (const bad of ['10.0.0.0/33', '::/129', 'localhost', '10.0.0.0/8/1', '10.0.0/8', '', '10.0.0.0/-1']) {
    rejects({ proxyTrusted: [bad] }, 'proxyTrusted');
  }
  rejects({ proxyTrusted: '10.0.0.0/8' }, 'proxyTrusted');
});

test('maxConnectionsPerIp defaults to 1000 (a tenth of maxConnections), 0 turns it off', () => {
  assert.equal(resolveServerOptions().maxConnectionsPerIp, 1000);
  assert.equal(resolveServerOptions({ maxConnectionsPerIp: 0 }).maxConnectionsPerIp, 0);
});
