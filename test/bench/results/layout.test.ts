import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, rm } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { updateIndex } from '../../../src/bench/results/saved-runs.ts';

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '..', '..', '..');
const exists = (file: string) => access(file).then(
  () => true,
  () => false,
);

async function gitStatus(): Promise<string | null> {
  try {
    return (await run('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: ROOT })).stdout;
  } catch {
    return null; // not a git checkout (an unpacked tarball): nothing to keep clean
  }
}

test('a bench run with the default --out saves under results/ and leaves git status as it was (published runs apart)', async (t) => {
  const before = await gitStatus();
  if (before === null) return t.skip('not a git checkout');
  const index = path.join(ROOT, 'results', 'README.md');
  const hadIndex = await exists(index);
  const { stdout } = await run(
    path.join(ROOT, 'bin', 'handoff'),
    ['bench', '-c', '2', '-w', '1', '-s', '16', '-d', '1', '--warmup', '0', '--server-workers', '1', '--label', 'layout test'],
    { cwd: ROOT, timeout: 60_000 },
  );
  const saved = [...stdout.matchAll(/^(?:saved)?\s+(results\/\S+)$/gm)].map((m) => path.join(ROOT, m[1]!));
  t.after(async () => {
    await Promise.all(saved.map((f) => rm(f, { force: true })));
    if (hadIndex) await updateIndex(path.join(ROOT, 'results'));
    else await rm(index, { force: true });
  });
  assert.equal(saved.length, 3, stdout);
  for (const file of saved) {
    assert.equal(path.dirname(file), path.join(ROOT, 'results'));
    assert.ok(await exists(file), file);
  }
  assert.ok(await exists(index), 'results/README.md indexes the run');
  assert.equal(await gitStatus(), before);
  assert.ok(await exists(path.join(ROOT, 'results', 'published', 'README.md')), 'the published index is tracked apart');
});
