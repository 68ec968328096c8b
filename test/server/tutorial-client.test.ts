// The tutorial's own Python client, unchanged in style, against `ack: 'raw'`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { forEachVariant, variantOptions, withServer } from '../helpers/wire.ts';

const CLIENT = fileURLToPath(new URL('../fixtures/tutorial_client.py', import.meta.url));

forEachVariant((variant) => {
  test("the tutorial's Python client prints `Msg received` for each of its 4 messages and exits 0 (ack raw)", async (t) => {
    const server = await withServer(t, variantOptions(variant, { ack: 'raw' }));
    const child = spawn('python3', [CLIENT, server.host, String(server.port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.stdin.end('\n\n'); // the tutorial's two input() pauses
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code] = await once(child, 'exit');
    clearTimeout(timer);
    assert.equal(code, 0, `exit status; stderr: ${err}`);
    assert.deepEqual(
      out.split('\n').filter((l) => l !== ''),
      ['Msg received', 'Msg received', 'Msg received', 'Msg received'],
    );
  });
});
