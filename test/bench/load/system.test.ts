import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkFileLimit, gitCommit, readFileLimit } from '../../../src/bench/shared/system.ts';

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

test('the commit is read from a plain .git and from a worktree (a .git file, refs in the common folder)', async (t) => {
  const { mkdtemp, mkdir, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const root = await mkdtemp(path.join(tmpdir(), 'handoff-git-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const commit = 'a'.repeat(40);
  const main = path.join(root, 'main');
  await mkdir(path.join(main, '.git', 'refs', 'heads'), { recursive: true });
  await writeFile(path.join(main, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  await writeFile(path.join(main, '.git', 'refs', 'heads', 'main'), `${commit}\n`);
  assert.equal(gitCommit(main), commit);
  const wtGit = path.join(main, '.git', 'worktrees', 'wt');
  await mkdir(wtGit, { recursive: true });
  await writeFile(path.join(wtGit, 'HEAD'), 'ref: refs/heads/branch\n');
  await writeFile(path.join(wtGit, 'commondir'), '../..\n');
  await writeFile(path.join(main, '.git', 'packed-refs'), `# pack-refs\n${'b'.repeat(40)} refs/heads/branch\n`);
  const wt = path.join(root, 'wt');
  await mkdir(wt);
  await writeFile(path.join(wt, '.git'), `gitdir: ${wtGit}\n`);
  assert.equal(gitCommit(wt), 'b'.repeat(40));
  assert.equal(gitCommit(path.join(root, 'nowhere')), null);
});
