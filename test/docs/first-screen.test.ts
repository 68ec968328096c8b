// The README's first screen, as a newcomer's 80x24 terminal shows it: every line fits, and
// it names what to run first, beside `npm start`, for the tutorial's exact output, a chat
// and a 500-client bench, and why npm ci warns EBADENGINE.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const firstScreen = README.split('\n').slice(0, 24);

test('the first 24 lines of the README fit 80 columns', () => {
  for (const line of firstScreen) assert.ok(line.length <= 80, `${line.length}: ${line}`);
});

test('the first screen walks to the tutorial output, a chat and a bench, and explains EBADENGINE', () => {
  const text = firstScreen.join('\n');
  for (const needed of [
    'npm ci && npm start',
    'npm test',
    'EBADENGINE',
    'only listens',
    'npm run client',
    'npm start -- --ack raw',
    'python3 test/fixtures/tutorial_client.py',
    'npm start -- --mode chat',
    'npm run client -- --chat',
    'npm run bench -- --clients 500',
  ]) {
    assert.ok(text.includes(needed), `the first screen says ${needed}`);
  }
});
