// Hostile input: an agent that rewires its worktree's link to the repository — the
// `.git` file pointed at the main worktree's git dir or at another worker's, replaced by
// a repository of its own, removed, or the back-pointer `<common>/worktrees/<id>/gitdir`
// edited. What "safe" means here:
//   - coven's own git commands in the worktree run with its recorded git dir and work
//     tree given explicitly, so they never act on another worktree's index;
//   - after the session the worktree is checked against what coven made (its git dir,
//     its back-pointer, its branch) and repaired, in one message;
//   - the human's main worktree (index, staged change, files) and other workers'
//     worktrees are untouched, and the agent's commits are kept on a ref.


import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh, tempDir } from './helpers/repo.js';
import type { FakeRun } from './helpers/fake-claude.js';
import { humanSide, plan, repoWithStagedWork, worker } from './helpers/worktree-identity.js';

test('the .git file pointed at the main worktree\'s git dir: coven\'s clean-up never touches the human\'s index, the commit lands', async () => {
  const repo = await repoWithStagedWork();
  const before = await humanSide(repo);
  const common = realpathSync(join(repo, '.git'));
  const { r } = await worker(
    repo,
    plan(
      { write: { path: 'plan.txt', content: 'plan\n' } },
      { commit: 'plan a' },
      { bash: `printf 'gitdir: %s\\n' '${common}' > .git` },
      { write: { path: 'scratch.txt', content: 'left behind\n' } },
    ),
  );
  assert.equal(await humanSide(repo), before, 'the main worktree is as the human left it');
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'refs/heads/main'), 'plan a', r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /\.git file/);
});

test('the dispatch agent points .git at the main worktree\'s git dir: put back before the job, whose commit stays off the human\'s index', async () => {
  const repo = await repoWithStagedWork();
  const before = await humanSide(repo);
  const common = realpathSync(join(repo, '.git'));
  const script: FakeRun[] = [
    { match: { promptIncludes: 'Choose the next job' }, steps: [{ read: '.git' }, { write: { path: '.git', content: `gitdir: ${common}\n` } }, { text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
    { match: { promptIncludes: 'Plan the issue' }, steps: [{ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }, { text: 'Done.' }] },
  ];
  const { r } = await worker(repo, script);
  const out = r.stdout + r.stderr;
  assert.equal(await humanSide(repo), before, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'refs/heads/main'), 'plan a', out);
  assert.is(await sh(repo, 'show', '--name-only', '--format=', 'refs/heads/main'), 'plan.txt', 'the commit holds the agent\'s file only');
  assert.match(out, /pointed its \.git file at .* \(the main worktree's git dir\)/, out);
});

test('the agent moves its own worktree (git worktree move): coven moves it back, the commit lands', async () => {
  const repo = await repoWithStagedWork();
  const before = await humanSide(repo);
  const { r, worktree } = await worker(repo, plan({ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }, { bash: 'git worktree move "$PWD" "$PWD-moved"' }));
  const out = r.stdout + r.stderr;
  assert.is(r.code, 0, out);
  assert.equal(await humanSide(repo), before, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'refs/heads/main'), 'plan a', out);
  assert.match(out, /moved its worktree .* \(git worktree move\); coven moved it back/);
  assert.not.ok(existsSync(`${worktree}-moved`));
  assert.is(await sh(repo, 'branch', '--list', 'coven/w1'), '', 'landed, then removed as usual');
});

/** A second worker's worktree (made as coven makes it), with a staged change of its own. */
async function otherWorker(repo: string, base: string) {
  const path = join(base, 'project', 'coven', 'w2');
  await sh(repo, 'worktree', 'add', '-q', '-b', 'coven/w2', path, 'main');
  writeFileSync(join(path, 'w2.txt'), 'w2 staged\n');
  await sh(path, 'add', 'w2.txt');
  const side = async () => ({ head: await sh(path, 'symbolic-ref', 'HEAD'), tip: await sh(repo, 'rev-parse', 'coven/w2'), index: await sh(path, 'ls-files', '--stage'), status: await sh(path, 'status', '--porcelain') });
  return { path, side };
}

test('the .git file pointed at another worker\'s git dir: that worker\'s index, branch and files are untouched', async () => {
  const repo = await repoWithStagedWork();
  const base = tempDir('coven-wt-');
  const w2 = await otherWorker(repo, base);
  const before = { human: await humanSide(repo), w2: await w2.side() };
  const admin = join(realpathSync(join(repo, '.git')), 'worktrees', 'w2');
  const { r, worktree } = await worker(
    repo,
    plan({ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }, { bash: `echo 'gitdir: ${admin}' > .git` }, { write: { path: 'scratch.txt', content: 'left behind\n' } }),
    'w1',
    base,
  );
  const out = r.stdout + r.stderr;
  assert.equal({ human: await humanSide(repo), w2: await w2.side() }, before, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'refs/heads/main'), 'plan a', out);
  assert.match(out, /pointed its \.git file at .*worktrees\/w2 \(the git dir of another worktree, w2\)/);
  assert.not.ok(existsSync(worktree), 'w1 landed everything and was removed');
});

test('the .git file replaced by a repository of the agent\'s own (git init): moved aside, the worker\'s commit lands', async () => {
  const repo = await repoWithStagedWork();
  const before = await humanSide(repo);
  const { r, worktree } = await worker(
    repo,
    plan({ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }, { bash: 'rm .git && git init -q && git add -A && git -c user.name=a -c user.email=a@b commit -qm mine' }),
  );
  const out = r.stdout + r.stderr;
  assert.equal(await humanSide(repo), before, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'refs/heads/main'), 'plan a', out);
  assert.match(out, /replaced its \.git file with a directory/);
  const aside = `${worktree}.agent-git`;
  assert.match(out, new RegExp(`kept at ${aside.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.is(await sh(aside, 'log', '-1', '--format=%s'), 'mine', 'the agent\'s own repository is kept, not deleted');
});

test('the .git file removed: put back, the commit and the uncommitted file kept', async () => {
  const repo = await repoWithStagedWork();
  const before = await humanSide(repo);
  const { r } = await worker(
    repo,
    plan({ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }, { bash: 'rm .git' }, { write: { path: 'scratch.txt', content: 'left behind\n' } }),
  );
  const out = r.stdout + r.stderr;
  assert.equal(await humanSide(repo), before, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'refs/heads/main'), 'plan a', out);
  assert.match(out, /removed its \.git file/);
  const wip = await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/wip/w1/');
  assert.is(await sh(repo, 'show', `${wip}:scratch.txt`), 'left behind');
});

test('the back-pointer <common>/worktrees/<id>/gitdir edited: put back before git could prune the worktree', async () => {
  const repo = await repoWithStagedWork();
  const before = await humanSide(repo);
  const common = realpathSync(join(repo, '.git'));
  const { r } = await worker(
    repo,
    plan({ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }, { bash: `echo /nowhere/.git > '${common}/worktrees/w1/gitdir'` }),
  );
  const out = r.stdout + r.stderr;
  assert.equal(await humanSide(repo), before, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'refs/heads/main'), 'plan a', out);
  assert.match(out, /changed the git dir's back-pointer \(gitdir\) to \/nowhere\/\.git/);
  assert.match(out, /its worktree and branch are removed/, out);
});

test('the worktree\'s git dir deleted: its files are saved, the folder is moved aside, a new worktree lands the commit', async () => {
  const repo = await repoWithStagedWork();
  const before = await humanSide(repo);
  const common = realpathSync(join(repo, '.git'));
  const { r, worktree } = await worker(
    repo,
    plan({ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }, { write: { path: 'scratch.txt', content: 'left behind\n' } }, { bash: `rm -rf '${common}/worktrees/w1'` }),
  );
  const out = r.stdout + r.stderr;
  assert.equal(await humanSide(repo), before, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'refs/heads/main'), 'plan a', out);
  assert.match(out, /was deleted during the job/);
  const wip = await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/wip/w1/');
  assert.is(await sh(repo, 'show', `${wip}:scratch.txt`), 'left behind', out);
  assert.not.ok(existsSync(worktree), 'the new worktree landed everything and was removed');
});

test.run();
