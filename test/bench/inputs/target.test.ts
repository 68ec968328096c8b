// --target is parsed strictly, its name looked up once and bounded by --connect-timeout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lookupTarget } from '../../../src/bench/load/target-address.ts';
import { parseHostPort } from '../../../src/options/validators.ts';
import { InvalidOptionError, TargetLookupError } from '../../../src/protocol/index.ts';

test('host:port parsing: what is accepted, and what each refusal says', () => {
  for (const [typed, host, port] of [
    ['127.0.0.1:5050', '127.0.0.1', 5050],
    ['localhost:1', 'localhost', 1],
    ['my-host.example.org:65535', 'my-host.example.org', 65535],
    ['[::1]:5050', '::1', 5050],
    ['[2001:db8::1]:80', '2001:db8::1', 80],
    [':6000', '127.0.0.1', 6000],
    ['6000', '127.0.0.1', 6000],
    [' 10.0.0.2:9 ', '10.0.0.2', 9],
  ] as const) {
    assert.deepEqual(parseHostPort('target', typed), { host, port }, typed);
  }
  const refusal = (typed: string) => {
    try {
      parseHostPort('target', typed);
    } catch (err) {
      assert.ok(err instanceof InvalidOptionError);
      return err.message;
    }
    return assert.fail(`${typed} was accepted`);
  };
  for (const [typed, said] of [
    // A host without a port: said so, with the fix (never misread as 127.0.0.:1).
    ['127.0.0.1', "target '127.0.0.1' has no port: give host:port, e.g. 127.0.0.1:5050"],
    ['localhost', "target 'localhost' has no port: give host:port, e.g. localhost:5050"],
    ['localhost5050', "target 'localhost5050' has no port: give host:port, e.g. localhost:5050"],
    ['::1', "target '::1': an IPv6 address goes in brackets, the port after them, e.g. [::1]:5050"],
    ['::1:5050', "target '::1:5050': an IPv6 address goes in brackets, the port after them, e.g. [::1]:5050"],
    ['[::1]', "target '[::1]' has no port: give host:port, e.g. [::1]:5050"],
  ] as const) {
    assert.equal(refusal(typed), said);
  }
  for (const typed of ['host:0', 'host:65536', 'host:50a', 'ho st:1', '[::1]5050', 'h:1:2', '', 'http://h:1']) {
    assert.match(refusal(typed), /^target must be host:port, \[IPv6\]:port or a port \(1-65535\), got '/, typed);
  }
});

test('the name lookup is bounded by the connect timeout: a resolver that never answers is one error in time', async () => {
  const began = performance.now();
  const never = () => new Promise<{ address: string }>(() => {});
  await assert.rejects(lookupTarget('slow.example', 0.2, never), (err: unknown) => {
    assert.ok(err instanceof TargetLookupError);
    assert.equal(err.code, 'ERR_TARGET_LOOKUP');
    assert.equal(err.message, "cannot look up 'slow.example': no answer within 0.2 s");
    return true;
  });
  assert.ok(performance.now() - began < 2_000);
});

test('a failed lookup says why, in words, once; an IP address is not looked up; a name is, once', async () => {
  const unknown = () =>
    Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND nope.invalid'), { code: 'ENOTFOUND' }));
  await assert.rejects(lookupTarget('nope.invalid', 1, unknown), {
    code: 'ERR_TARGET_LOOKUP',
    message: "cannot look up 'nope.invalid': unknown host (ENOTFOUND)",
  });
  let asked = 0;
  const counting = () => {
    asked++;
    return Promise.resolve({ address: '127.0.0.9' });
  };
  assert.equal(await lookupTarget('10.1.2.3', 1, counting), '10.1.2.3');
  assert.equal(await lookupTarget('::1', 1, counting), '::1');
  assert.equal(asked, 0);
  assert.equal(await lookupTarget('localhost', 1, counting), '127.0.0.9');
  assert.equal(asked, 1);
  // The system's resolver, for real: localhost is in /etc/hosts.
  assert.match(await lookupTarget('localhost', 5), /^(127\.|::1$)/);
});
