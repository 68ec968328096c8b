// Error classes and the `!ERROR <CODE> <text>` payload, both ways.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BadHeaderError,
  ErrorCode,
  errorPayload,
  HandoffError,
  parseErrorPayload,
  ProtocolError,
  protocolErrorFor,
  ServerFullError,
  ShuttingDownError,
  SlowConsumerError,
  TimeoutError,
  TooLargeError,
} from '../../src/protocol/index.ts';

const CLASS_OF = {
  BAD_HEADER: BadHeaderError,
  TOO_LARGE: TooLargeError,
  TIMEOUT: TimeoutError,
  SERVER_FULL: ServerFullError,
  SHUTTING_DOWN: ShuttingDownError,
  SLOW_CONSUMER: SlowConsumerError,
} as const;

describe('every protocol code', () => {
  for (const code of Object.values(ErrorCode)) {
    test(`${code}: protocolErrorFor builds its own class, a ProtocolError and a HandoffError`, () => {
      const err = protocolErrorFor(code, 'some text');
      assert.ok(err instanceof CLASS_OF[code]);
      assert.ok(err instanceof ProtocolError);
      assert.ok(err instanceof HandoffError);
      assert.ok(err instanceof Error);
      assert.equal(err.code, code);
      assert.equal(err.text, 'some text');
      assert.equal(err.message, `${code}: some text`);
      assert.equal(err.name, CLASS_OF[code].name);
    });

    test(`${code}: errorPayload and parseErrorPayload round-trip class, code and text`, () => {
      const text = 'text with spaces, ünïcødé and a trailing space ';
      const payload = errorPayload(new CLASS_OF[code](text));
      assert.equal(payload.toString('utf8'), `!ERROR ${code} ${text}`);
      const back = parseErrorPayload(payload);
      assert.ok(back instanceof CLASS_OF[code]);
      assert.equal(back.code, code);
      assert.equal(back.text, text);
    });
  }
});

describe('parseErrorPayload', () => {
  for (const ordinary of [
    'Msg received',
    '',
    '!ERROR',
    '!ERRORS TOO_LARGE x',
    '!error TOO_LARGE x',
    ' !ERROR TOO_LARGE x',
  ]) {
    test(`an ordinary payload ${JSON.stringify(ordinary)} is not an error`, () => {
      assert.equal(parseErrorPayload(Buffer.from(ordinary)), null);
    });
  }

  test('an unknown code is still a ProtocolError carrying that code', () => {
    const err = parseErrorPayload(Buffer.from('!ERROR RATE_LIMITED slow down'));
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.code as string, 'RATE_LIMITED');
    assert.equal(err.text, 'slow down');
  });

  test('a code named like an Object.prototype member is an unknown code, not a crash', () => {
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      const err = parseErrorPayload(Buffer.from(`!ERROR ${name} x`));
      assert.ok(err instanceof ProtocolError, name);
      assert.equal(err.code as string, name);
    }
  });

  test('a code with no text gives an empty text', () => {
    const err = parseErrorPayload(Buffer.from('!ERROR TIMEOUT'));
    assert.ok(err instanceof TimeoutError);
    assert.equal(err.text, '');
  });
});

test('HandoffError keeps its code and passes `cause` along', () => {
  const cause = new Error('root');
  const err = new HandoffError('ERR_SOMETHING', 'it failed', { cause });
  assert.equal(err.code, 'ERR_SOMETHING');
  assert.equal(err.cause, cause);
  assert.equal(err.name, 'HandoffError');
});
