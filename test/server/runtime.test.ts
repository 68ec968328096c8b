// The server refuses a Node.js older than package.json's engines (socket transfer to
// threads): one line, ERR_UNSUPPORTED_RUNTIME, instead of accepting and never answering.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRuntime, isAtLeast } from '../../src/server/runtime.ts';

test('versions compare part by part, as numbers', () => {
  assert.ok(isAtLeast('v26.10.0', '26.10.0'));
  assert.ok(isAtLeast('v26.11.2', '26.10.0'));
  assert.ok(isAtLeast('v27.0.0', '26.10.0'));
  assert.ok(!isAtLeast('v26.9.9', '26.10.0'), '9 < 10, though "9" > "1"');
  assert.ok(!isAtLeast('v20.20.2', '26.10.0'));
});

test("a Node older than package.json's engines is ERR_UNSUPPORTED_RUNTIME, naming both versions", () => {
  assert.doesNotThrow(() => checkRuntime(process.version), 'the pinned Node runs it');
  assert.throws(() => checkRuntime('v20.20.2'), {
    code: 'ERR_UNSUPPORTED_RUNTIME',
    message: 'the server needs Node.js >= 26.10.0 (socket transfer to worker threads); this is v20.20.2',
  });
});
