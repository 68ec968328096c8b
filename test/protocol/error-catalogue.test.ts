// docs/ERRORS.md lists exactly the classes of the catalogue, each with its code; its
// protocol tables list exactly the codes of docs/PROTOCOL.md; and every class is a
// HandoffError that carries its code, whoever constructs it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as protocol from '../../src/protocol/index.ts';
import { ERROR_CATALOGUE, ErrorCode, HandoffError, RefusalCode } from '../../src/protocol/index.ts';

const docs = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

/** The first two cells of every table row that starts with a `code` cell: [code, class]. */
function tableRows(markdown: string): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  for (const line of markdown.split('\n')) {
    const m = /^\| `([^`]+)`[^|]* \| `([A-Za-z]+)` \|/.exec(line);
    if (m) rows.push([m[1]!, m[2]!]);
  }
  return rows;
}

/** The codes in the first column of the markdown table that follows `heading`. */
function codesUnder(markdown: string, heading: string, firstHeader: string): string[] {
  const at = markdown.indexOf(heading);
  assert.ok(at >= 0, `a "${heading}" section`);
  const lines = markdown.slice(at).split('\n');
  const start = lines.findIndex((l) => l.startsWith(`| ${firstHeader} |`));
  assert.ok(start >= 0, `a table under "${heading}"`);
  const codes: string[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const m = /^\| `!?([A-Z_]+)/.exec(line);
    if (m) codes.push(m[1]!);
  }
  return codes;
}

test('docs/ERRORS.md lists every class of the catalogue with its code, and nothing else', () => {
  const documented = tableRows(docs('ERRORS.md')).map(([code, name]) => `${code} ${name}`);
  const catalogue = ERROR_CATALOGUE.map(({ code, errorClass }) => `${code} ${errorClass.name}`);
  assert.deepEqual([...documented].sort(), [...catalogue].sort());
});

test('every class of the catalogue is exported, is a HandoffError, and carries its code', () => {
  for (const { code, errorClass } of ERROR_CATALOGUE) {
    assert.equal((protocol as Record<string, unknown>)[errorClass.name], errorClass, `${errorClass.name} is exported`);
    const Class = errorClass as unknown as new (...args: string[]) => HandoffError;
    // Generic classes take the code first; the others know theirs.
    const err = code === '*' ? new Class('SOME_CODE', 'text') : new Class('some text', 'more text');
    assert.ok(err instanceof HandoffError && err instanceof Error, errorClass.name);
    assert.equal(err.code, code === '*' ? 'SOME_CODE' : code, errorClass.name);
    assert.equal(err.name, errorClass.name);
  }
});

test('the codes are unique', () => {
  const codes = ERROR_CATALOGUE.map((e) => e.code).filter((c) => c !== '*');
  assert.equal(new Set(codes).size, codes.length);
});

test('the !ERROR codes are exactly those of the Errors table of docs/PROTOCOL.md', () => {
  assert.deepEqual(codesUnder(docs('PROTOCOL.md'), '## Errors', 'code').sort(), Object.values(ErrorCode).sort());
});

test('the !NO codes are exactly those docs/PROTOCOL.md names for chat mode', () => {
  const m = /`!NO` codes: ([^;]+);/.exec(docs('PROTOCOL.md'));
  assert.ok(m, 'the sentence that lists the !NO codes');
  const codes = [...m[1]!.matchAll(/`([A-Z_]+)`/g)].map((c) => c[1]!);
  assert.deepEqual(codes.sort(), Object.values(RefusalCode).sort());
});

test('docs/ERRORS.md has a row for every !ERROR and !NO code', () => {
  const documented = new Set(tableRows(docs('ERRORS.md')).map(([code]) => code));
  for (const code of [...Object.values(ErrorCode), ...Object.values(RefusalCode)])
    assert.ok(documented.has(code), code);
});
