// `instanceof` across two copies of the library: a user's project and a dependency that
// brings its own handoff each load errors.ts once. A second URL (a query) makes Node load a
// second, separate copy of the module, with classes of its own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ours from '../../src/protocol/errors.ts';

type Errors = typeof ours;

async function secondCopy(): Promise<Errors> {
  const url = new URL('../../src/protocol/errors.ts?second-copy', import.meta.url).href;
  return (await import(url)) as Errors;
}

test('the second copy is a copy: other classes, which the plain prototype check does not connect', async () => {
  const theirs = await secondCopy();
  assert.notEqual(theirs.ConnectError, ours.ConnectError);
  const err = new theirs.ConnectError('cannot connect');
  assert.equal(Function.prototype[Symbol.hasInstance].call(ours.ConnectError, err), false);
  assert.equal(theirs.ERROR_BRAND, ours.ERROR_BRAND, 'one brand: Symbol.for');
});

test('an error of another copy is an instance of our class of its name and of each of its bases', async () => {
  const theirs = await secondCopy();
  const connect = new theirs.ConnectError('cannot connect');
  assert.ok(connect instanceof ours.ConnectError);
  assert.ok(connect instanceof ours.HandoffError);
  assert.ok(connect instanceof Error);
  const badHeader = theirs.protocolErrorFor('BAD_HEADER', 'not a header');
  assert.ok(badHeader instanceof ours.BadHeaderError);
  assert.ok(badHeader instanceof ours.ProtocolError);
  assert.ok(badHeader instanceof ours.HandoffError);
  const refused = theirs.refusalFor('BAD_NAME', 'no spaces');
  assert.ok(refused instanceof ours.BadNameError && refused instanceof ours.CommandRefusedError);
  assert.ok(new theirs.InvalidOptionError('port', '{port} is bad') instanceof ours.InvalidOptionError);
  // And the other way round.
  assert.ok(new ours.TooLargeError('big') instanceof theirs.TooLargeError);
});

test('the brand says no where the classes differ, and to what is not a handoff error', async () => {
  const theirs = await secondCopy();
  const connect = new theirs.ConnectError('cannot connect');
  assert.equal(connect instanceof ours.ConnectTimeoutError, false);
  assert.equal(connect instanceof ours.ProtocolError, false);
  assert.equal(theirs.protocolErrorFor('TIMEOUT', 'late') instanceof ours.TooLargeError, false);
  for (const value of [new Error('plain'), {}, null, undefined, 'ConnectError', 42]) {
    assert.equal(value instanceof ours.HandoffError, false, String(value));
  }
  class ConnectError extends Error {}
  assert.equal(new ConnectError('same name, not ours') instanceof ours.ConnectError, false);
});

test('within one copy instanceof is the ordinary one', () => {
  const err = ours.protocolErrorFor('SHUTTING_DOWN', 'bye');
  assert.ok(err instanceof ours.ShuttingDownError && err instanceof ours.ProtocolError);
  assert.equal(err instanceof ours.ServerFullError, false);
  assert.deepEqual(err[ours.ERROR_BRAND], ['ShuttingDownError', 'ProtocolError', 'HandoffError']);
});
