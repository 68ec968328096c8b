import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkFileLimit, readFileLimit } from '../../../src/bench/load/system.ts';

test('file limit: enough passes; a low soft limit names the ulimit command; a low hard limit says so', () => {
  checkFileLimit(500, { soft: 1024, hard: 4096 });
  assert.throws(
    () => checkFileLimit(500, { soft: 256, hard: 4096 }),
    (err: Error & { code: string }) => {
      assert.equal(err.code, 'ERR_FILE_LIMIT');
      assert.match(err.message, /ulimit -n \d+/);
      return true;
    },
  );
  assert.throws(() => checkFileLimit(500, { soft: 256, hard: 256 }), /hard limit is 256/);
  const parsed = readFileLimit(
    'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n',
  );
  assert.deepEqual(parsed, { soft: 1024, hard: 524288 });
});
