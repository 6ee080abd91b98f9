import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { concurrentAddRace, spawnWorktree } from '../scripts/lib/worktree/spawn.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitWrapper, pathWith, withGitWrapper } from './helpers/git-wrapper.js';
import { coven, run, sh, tempDir, tempRepo } from './helpers/repo.js';

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

/**
 * A git that, the first time a spawn is about to create something (the branch, or the
 * worktree), first lets a racer do `racer` (a shell snippet): as if another process got
 * there in the instant after the spawn's checks.
 */
function raceOnFirstCreate(racer: string): string {
  const once = join(tempDir('coven-race-'), 'once');
  return gitWrapper(`case "$1 $2" in "update-ref "*|"worktree add") if mkdir '${once}' 2>/dev/null; then ${racer}; fi ;; esac`);
}

test("a spawn that loses the race for its branch and folder leaves the winner's worktree, files and branch alone", async () => {
  const repo = await tempRepo('t4');
  const base = tempDir('coven-base-');
  const path = join(base, 't4', 'racer');
  const wrapper = raceOnFirstCreate(`"$REAL_GIT" -C '${repo}' worktree add -q --track -b racer '${path}' main && echo work > '${path}/work.txt'`);
  const r = await coven(['spawn', 'racer', '--worktree-base', base], { cwd: repo, env: { PATH: pathWith(wrapper) } });
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /branch 'racer' already exists/);
  assert.match(r.stderr, /Nothing was created or changed/);
  assert.is(readFileSync(join(path, 'work.txt'), 'utf8'), 'work\n', "the winner's file is still there");
  assert.is(await sh(path, 'branch', '--show-current'), 'racer');
  assert.match(await sh(repo, 'worktree', 'list', '--porcelain'), new RegExp(`worktree ${path}\n`));
});

test('a spawn that loses the race for its folder only refuses, and leaves that folder and no branch behind', async () => {
  const repo = await tempRepo('app');
  const base = tempDir('coven-base-');
  const path = join(base, 'app', 'w1');
  const before = await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/heads/');
  const wrapper = raceOnFirstCreate(`mkdir -p '${path}' && echo mine > '${path}/mine.txt'`);
  const r = await withGitWrapper(wrapper, () => spawnWorktree({ cwd: repo, branch: 'w1', base }));
  assert.equal(r, { kind: 'path-exists', branch: 'w1', path });
  assert.is(readFileSync(join(path, 'mine.txt'), 'utf8'), 'mine\n');
  assert.is(await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/heads/'), before, 'the branch it had claimed is gone again');
  assert.is((await run('git', ['config', '--get', 'branch.w1.merge'], { cwd: repo })).code, 1, 'and its upstream setting');
});

test("another worktree added at the spawn's folder just before its git worktree add is left alone; only the spawn's own branch goes", async () => {
  const repo = await tempRepo('app');
  const base = tempDir('coven-base-');
  const path = join(base, 'app', 'w1');
  const once = join(tempDir('coven-race-'), 'once');
  // plain git, not a spawn: it does not claim the branch name first
  const racer = `"$REAL_GIT" -C '${repo}' worktree add -q -b other '${path}' main && echo work > '${path}/work.txt'`;
  const wrapper = gitWrapper(`if [ "$1 $2" = "worktree add" ] && mkdir '${once}' 2>/dev/null; then ${racer}; fi`);
  const r = await withGitWrapper(wrapper, () => spawnWorktree({ cwd: repo, branch: 'w1', base }));
  assert.equal(r, { kind: 'path-exists', branch: 'w1', path });
  assert.is(readFileSync(join(path, 'work.txt'), 'utf8'), 'work\n');
  assert.is(await sh(path, 'branch', '--show-current'), 'other');
  assert.is(await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/heads/'), 'refs/heads/main\nrefs/heads/other');
  assert.is((await run('git', ['config', '--get', 'branch.w1.merge'], { cwd: repo })).code, 1);
});

test('which git failures count as a race with another worktree add', () => {
  assert.ok(concurrentAddRace('fatal: failed to read .git/worktrees/brave-otter/commondir: Success'));
  assert.ok(concurrentAddRace('error: could not lock config file .git/config: File exists'));
  assert.ok(concurrentAddRace("fatal: could not open '.git/worktrees/a/gitdir' for writing: No such file or directory"));
  assert.not.ok(concurrentAddRace("fatal: 'coven/a' is already checked out at '/tmp/x'"));
  assert.not.ok(concurrentAddRace('fatal: invalid reference: main'));
});

test.run();
