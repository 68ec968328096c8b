// The header: ASCII decimal digits, spaces on either side, nothing else.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertHeaderBytes,
  encodeHeader,
  HEADER_MALFORMED,
  HEADER_TOO_LARGE,
  parseHeader,
  writeHeader,
} from '../../src/protocol/index.ts';

const LIMIT = 1024 * 1024;

/** `content` (a string of latin1 characters or raw bytes) padded with spaces to `size` bytes. */
function header(content: string | number[], size = 64): Buffer {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'latin1') : Buffer.from(content);
  assert.ok(bytes.length <= size, 'test header content longer than the header');
  return Buffer.concat([bytes, Buffer.alloc(size - bytes.length, 0x20)]);
}

const parse = (buf: Buffer, limit = LIMIT): number => parseHeader(buf, 0, buf.length, limit);

describe('encodeHeader', () => {
  for (const size of [4, 8, 64, 1024]) {
    test(`writes the digits left-aligned and pads with spaces (header size ${size})`, () => {
      const encoded = encodeHeader(12, size);
      assert.equal(encoded.length, size);
      assert.equal(encoded.toString('latin1'), '12'.padEnd(size, ' '));
    });

    test(`round-trips through parseHeader (header size ${size})`, () => {
      const largest = Math.min(10 ** size - 1, LIMIT);
      for (const length of [0, 1, 9, 10, 12, 999, largest]) {
        assert.equal(parse(encodeHeader(length, size)), length, `length ${length}`);
      }
    });
  }

  test('a length with more digits than the header refuses with ERR_HEADER_OVERFLOW', () => {
    assert.throws(() => encodeHeader(10_000, 4), { code: 'ERR_HEADER_OVERFLOW' });
    assert.equal(encodeHeader(9_999, 4).toString(), '9999');
  });

  test('writeHeader writes at an offset and touches nothing else', () => {
    const target = Buffer.alloc(12, 0xaa);
    writeHeader(target, 2, 7, 8);
    assert.deepEqual([...target], [0xaa, 0xaa, 0x37, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0xaa, 0xaa]);
  });
});

describe('parseHeader accepts', () => {
  test('spaces before the digits', () => assert.equal(parse(header('   12')), 12));
  test('spaces on both sides', () => assert.equal(parse(header('      12   ')), 12));
  test('digits filling the whole header', () => assert.equal(parse(Buffer.from('0012')), 12));
  test('leading zeros', () => assert.equal(parse(header('007')), 7));
  test('zero', () => assert.equal(parse(header('0')), 0));
  test('a header in the middle of a buffer (start offset)', () => {
    const buf = Buffer.concat([Buffer.from('garbage'), header('42', 8), Buffer.from('more')]);
    assert.equal(parseHeader(buf, 7, 8, LIMIT), 42);
  });
  test('a value exactly at the limit', () => assert.equal(parse(header('1000'), 1000), 1000));
});

describe('parseHeader rejects as malformed', () => {
  const malformed: Array<[string, string | number[]]> = [
    ['a plus sign', '+12'],
    ['a minus sign', '-12'],
    ['an underscore', '1_000'],
    ['a tab', '12\t'],
    ['a tab before the digits', '\t12'],
    ['a newline', '12\n'],
    ['a carriage return', '12\r'],
    ['a NUL byte', [0x31, 0x32, 0x00]],
    ['Arabic-Indic digits (UTF-8 bytes)', [...Buffer.from('\u0661\u0662', 'utf8')]],
    ['fullwidth digits (UTF-8 bytes)', [...Buffer.from('\uff11\uff12', 'utf8')]],
    ['a Latin-1 superscript digit', [0x31, 0xb2]],
    ['letters', 'abc'],
    ['a hex number', '0x10'],
    ['an exponent', '1e3'],
    ['a decimal point', '1.5'],
    ['spaces only', ''],
    ['digits, a space, digits', '1 2'],
    ['a letter after spaces', '12  x'],
  ];
  for (const [what, content] of malformed) {
    test(`${what}`, () => assert.equal(parse(header(content)), HEADER_MALFORMED));
  }
});

describe('parseHeader and the size limit', () => {
  test('one above the limit is TOO_LARGE', () => assert.equal(parse(header('1001'), 1000), HEADER_TOO_LARGE));
  test('a huge well-formed number is TOO_LARGE, however many digits', () => {
    assert.equal(parse(header('9'.repeat(300), 1024)), HEADER_TOO_LARGE);
    assert.equal(parse(header(` ${'1'.repeat(1000)} `, 1024)), HEADER_TOO_LARGE);
  });
  test('leading zeros do not make a small value large', () => {
    assert.equal(parse(header(`${'0'.repeat(1000)}5`, 1024)), 5);
  });
  test('a huge number followed by a bad byte is malformed, not TOO_LARGE', () => {
    assert.equal(parse(header(`${'9'.repeat(300)}x`, 1024)), HEADER_MALFORMED);
    assert.equal(parse(header(`${'9'.repeat(300)} 1`, 1024)), HEADER_MALFORMED);
  });
  test('a limit of 0 allows only empty payloads', () => {
    assert.equal(parse(header('0'), 0), 0);
    assert.equal(parse(header('1'), 0), HEADER_TOO_LARGE);
  });
});

describe('assertHeaderBytes', () => {
  test('accepts 4 and 1024', () => {
    assertHeaderBytes(4);
    assertHeaderBytes(1024);
  });
  for (const bad of [3, 1025, 64.5, Number.NaN]) {
    test(`rejects ${bad} as an invalid headerBytes option, like every other way a header size enters`, () => {
      assert.throws(() => assertHeaderBytes(bad), { code: 'ERR_INVALID_OPTION', option: 'headerBytes' });
    });
  }
});
