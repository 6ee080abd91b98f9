// Hostile input, continued from odd-git-states.test.ts: an operation (rebase, bisect,
// merge, cherry-pick, revert, am) an agent leaves in progress, a lock file under main's
// ref, and gc --force on dead workers left in odd states. Same meaning of "safe".

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { newWorkerState, writeWorkerState } from '../scripts/lib/worker/state.js';
import { coven, sh, tempDir } from './helpers/repo.js';
import { commitPlan, deadPid, noStack, once, onARef, plan, repoWithIssue } from './helpers/odd-states.js';

for (const [op, setup] of [
  ['rebase', 'git checkout -q -b other HEAD~1 && echo other > plan.txt && git add plan.txt && git commit -qm other && git checkout -q coven/w1 && (git rebase -q other || true)'],
  ['bisect', 'git bisect start -q HEAD HEAD~1 >/dev/null'],
  ['merge', 'git checkout -q -b other HEAD~1 && echo other > plan.txt && git add plan.txt && git commit -qm other && git checkout -q coven/w1 && (git merge -q other || true)'],
  ['cherry-pick', 'git checkout -q -b other HEAD~1 && echo other > plan.txt && git add plan.txt && git commit -qm other && git checkout -q coven/w1 && (git cherry-pick other || true)'],
  ['revert', 'echo again > plan.txt && git commit -qam "plan again" && (git revert --no-edit HEAD~1 || true)'],
  ['am', 'git checkout -q -b other HEAD~1 && echo other > plan.txt && git add plan.txt && git commit -qm other && git format-patch -1 -o ../patches-$$ >/dev/null && git checkout -q coven/w1 && (git am -q ../patches-$$/*.patch || true)'],
] as const) {
  test(`the agent leaves a ${op} in progress: the worker undoes it, keeps its commit, lands, and counts right`, async () => {
    const repo = await repoWithIssue();
    const { r, out } = await once(repo, plan(...commitPlan, { bash: setup }));
    assert.is(r.code, 0, out);
    assert.match(out, new RegExp(`the agent left an? ${op} in progress; coven ended it`), out);
    assert.not.match(out, /the 0 commit/);
    assert.not.match(out, /a branch it switched to/);
    await onARef(repo, 'plan a');
    assert.match(await sh(repo, 'log', '--format=%s', 'main'), /^plan a$/m, 'the commit landed');
    assert.is(await sh(repo, 'branch', '--list', 'coven/w1'), '', 'nothing left: the worker cleaned up');
  });
}

test('refs/heads/main.lock left behind: the land names the lock file and how to check and remove it; the commit stays on the branch', async () => {
  const repo = await repoWithIssue();
  const lock = join(repo, '.git', 'refs', 'heads', 'main.lock');
  const { r, out } = await once(repo, plan(...commitPlan, { bash: `touch '${lock}'` }));
  assert.ok(r.code !== 0, out);
  assert.match(out, new RegExp(lock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.match(out, /rm /);
  assert.not.match(out, /rebase/i, 'no rebase is suggested: the lock is the cause');
  assert.ok(existsSync(lock), 'coven does not remove a lock under main');
  await onARef(repo, 'plan a');
});

test('gc --force on a dead worker left in odd states (nested repo, orphan, rebase in progress): no crash; every commit kept on a ref', async () => {
  const repo = await repoWithIssue();
  const states: Array<[string, string]> = [
    ['nest', 'git init -q sub && echo inner > sub/inner.txt'],
    ['orph', 'git checkout -q --orphan x'],
    ['gone', 'git checkout -q --detach && git branch -q -D coven/gone'],
    ['rebs', 'git checkout -q -b other-rebs HEAD~1 && echo other > plan.txt && git add plan.txt && git commit -qm other && git checkout -q coven/rebs && (git rebase -q other-rebs >/dev/null 2>&1 || true)'],
  ];
  const base = tempDir('coven-wt-');
  for (const [name, cmd] of states) {
    const wt = join(base, name);
    await sh(repo, 'worktree', 'add', '-q', '-b', `coven/${name}`, wt, 'main');
    writeFileSync(join(wt, 'plan.txt'), `${name}\n`);
    await sh(wt, 'add', 'plan.txt');
    await sh(wt, 'commit', '-qm', `work of ${name}`);
    spawnSync('sh', ['-c', cmd.replace('coven/gone', `coven/${name}`)], { cwd: wt });
    await writeWorkerState(join(repo, '.git', 'coven'), { ...newWorkerState({ name, branch: `coven/${name}`, worktree: wt }), pid: await deadPid() });
  }
  const r = await coven(['gc', '--force'], { cwd: repo });
  noStack(r.stdout + r.stderr);
  assert.ok(r.code === 0 || r.code === 3, r.stdout + r.stderr);
  for (const [name] of states) await onARef(repo, `work of ${name}`);
  const moved = /a nested git repository at sub\/ \(git cannot save one\) is moved to (\S+)/.exec(r.stdout);
  assert.ok(moved, r.stdout);
  assert.ok(existsSync(join(moved![1]!, 'inner.txt')));
});

test.run();
