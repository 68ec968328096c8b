// Errors are matched as users match them: by class and by `code`, never by message alone.
import assert from 'node:assert/strict';
import type { HandoffError } from '../../src/client/index.ts';

type ErrorClass = abstract new (...args: never[]) => HandoffError;

/** `err` is an `errorClass` with `code` (and, when given, a message matching `message`). */
export function assertError<C extends ErrorClass>(
  err: unknown,
  errorClass: C,
  code: string,
  message?: RegExp,
): asserts err is InstanceType<C> {
  assert.ok(err instanceof errorClass, `expected a ${errorClass.name}, got ${String(err)}`);
  assert.equal(err.code, code);
  if (message) assert.match(err.message, message);
}

/** The same check as a validator for assert.throws / assert.rejects. */
export function failsWith(errorClass: ErrorClass, code: string, message?: RegExp): (err: unknown) => true {
  return (err) => {
    assertError(err, errorClass, code, message);
    return true;
  };
}

/** What `promise` rejects with; fails the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => assert.fail(`expected a rejection, got ${String(value)}`),
    (err: unknown) => err,
  );
}
