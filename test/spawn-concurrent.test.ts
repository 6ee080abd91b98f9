import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { concurrentAddRace, spawnWorktree } from '../scripts/spawn-worktree.js';
import { sh, tempDir, tempRepo } from './helpers/repo.js';

test('workers started together all get their worktree (git trips over concurrent worktree adds)', async () => {
  const repo = await tempRepo();
  const base = tempDir('coven-wt-');
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  const results = await Promise.all(names.map((n) => spawnWorktree({ cwd: repo, branch: `coven/${n}`, base })));
  assert.equal(
    results.map((r) => (r.kind === 'spawned' ? 'spawned' : `${r.kind}: ${'message' in r ? r.message : ''}`)),
    names.map(() => 'spawned'),
  );
  assert.is((await sh(repo, 'worktree', 'list', '--porcelain')).split('\n').filter((l) => l.startsWith('worktree ')).length, names.length + 1);
});

test('which git failures count as a race with another worktree add', () => {
  assert.ok(concurrentAddRace('fatal: failed to read .git/worktrees/brave-otter/commondir: Success'));
  assert.ok(concurrentAddRace('error: could not lock config file .git/config: File exists'));
  assert.ok(concurrentAddRace("fatal: could not open '.git/worktrees/a/gitdir' for writing: No such file or directory"));
  assert.not.ok(concurrentAddRace("fatal: 'coven/a' is already checked out at '/tmp/x'"));
  assert.not.ok(concurrentAddRace('fatal: invalid reference: main'));
});

test.run();
