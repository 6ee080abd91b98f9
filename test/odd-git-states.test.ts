// Hostile input: git states an agent leaves its worktree in that coven did not make — a
// nested repository, an orphan branch, its own branch deleted, an operation (rebase,
// bisect, merge, cherry-pick, revert, am) left in progress, a lock file under main's ref,
// HEAD on a tag or on another worker's branch. What "safe" means here:
//   - the worker never crashes (no stack trace) and names what it found;
//   - every commit the agent made is on a ref `git log` shows (its branch, or
//     refs/coven/…), never only in a reflog;
//   - the worktree goes back on its branch, and the counts in messages are right.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { newWorkerState, writeWorkerState } from '../scripts/lib/worker/state.js';
import { coven, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun, type FakeStep } from './helpers/fake-claude.js';

const plan = (...steps: FakeStep[]): FakeRun[] => [
  { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  { match: { promptIncludes: 'Plan the issue' }, steps: [...steps, { text: 'Done.' }] },
];
const noStack = (text: string) => assert.not.match(text, /\n\s+at |TypeError|Error: /, `a stack trace was printed:\n${text}`);

/** The plan agent, allowed any shell command (its operations need `||` and `&&`). */
const shellPlan = `---
description: plans in a shell
args:
  - name: issue
    description: the issue
claude_args: ["--allowedTools=Bash,Read,Edit,Write"]
---
Plan the issue in {{issue}}.
`;
const repoWithIssue = () => covenRepo({ 'issues/a.md': issueFile('Fix a'), '.coven/agents/plan.md': shellPlan });

async function once(repo: string, script: FakeRun[]) {
  const show = process.env.ODD_SHOW;
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  if (show) console.log(r.stdout + r.stderr);
  noStack(r.stdout + r.stderr);
  return { r, env, out: r.stdout + r.stderr };
}

/** Every commit whose subject is `subject` is on a ref `git log --all` shows (not only in a reflog). */
async function onARef(repo: string, subject: string): Promise<void> {
  const all = await sh(repo, 'log', '--all', '--format=%s');
  assert.match(all, new RegExp(`^${subject}$`, 'm'), `"${subject}" is on no ref`);
}


async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

const commitPlan: FakeStep[] = [{ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }];

test('a nested repository with no commit, left uncommitted: no crash; the commit lands; the nested repository is kept and named', async () => {
  const repo = await repoWithIssue();
  const { r, out } = await once(repo, plan(...commitPlan, { bash: 'git init -q sub && echo inner > sub/inner.txt' }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  const said = /a nested git repository at sub\/; moved to (\S+)/.exec(out);
  assert.ok(said, out);
  assert.ok(existsSync(join(said![1]!, 'inner.txt')), 'its files are kept');
  assert.ok(existsSync(join(said![1]!, '.git')), 'and its own git dir');
});

test('git checkout --orphan with nothing committed: no crash; the worker goes back to its branch and lands', async () => {
  const repo = await repoWithIssue();
  const { r, out } = await once(repo, plan(...commitPlan, { bash: 'git checkout -q --orphan x' }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.match(out, /an orphan branch x/);
});

test('git checkout --orphan and a commit on it: the orphan commit is kept on a ref and named; the branch lands', async () => {
  const repo = await repoWithIssue();
  const { r, out } = await once(repo, plan(...commitPlan, { bash: 'git checkout -q --orphan x && git rm -rqf . && echo o > o.txt && git add o.txt && git commit -qm "orphan work"' }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  await onARef(repo, 'orphan work');
  assert.match(out, /refs\/coven\/stray\/w1\//);
});

test('the agent deletes its own branch after committing (detach, branch -D): the branch is made again and its commit lands', async () => {
  const repo = await repoWithIssue();
  const { r, out } = await once(repo, plan(...commitPlan, { bash: 'git checkout -q --detach && git branch -q -D coven/w1' }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.match(out, /the agent deleted its branch coven\/w1/);
  assert.not.match(out, /Kept: the branch/);
});

test('the agent deletes its own branch with update-ref -d while on it: the branch is made again at its last commit, which lands', async () => {
  const repo = await repoWithIssue();
  const { r, out } = await once(repo, plan(...commitPlan, { bash: 'git update-ref -d refs/heads/coven/w1' }));
  assert.is(r.code, 0, out);
  assert.not.match(out, /uncommitted changes/, 'the files match its last commit: nothing to save');
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.match(out, /the agent deleted its branch coven\/w1/);
});

test('the agent deletes its branch and resets away: every commit it made stays on a ref', async () => {
  const repo = await repoWithIssue();
  const { r, out } = await once(repo, plan(...commitPlan, { bash: 'git checkout -q --detach && git branch -q -D coven/w1 && git checkout -q --detach HEAD~1' }));
  assert.ok(r.code === 0 || r.code === 3, out);
  await onARef(repo, 'plan a');
  assert.match(out, /commits the agent made were left on no branch \(only in a reflog: it deleted or moved the ref that held them\); they are kept as refs\/coven\/dropped\/w1\//);
});

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

test('HEAD on a tag (detached): the worker goes back to its branch and lands', async () => {
  const repo = await repoWithIssue();
  await sh(repo, 'tag', 'v1');
  const { r, out } = await once(repo, plan(...commitPlan, { bash: 'git checkout -q v1' }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
});

test('an empty commit: it lands like any other', async () => {
  const repo = await repoWithIssue();
  const { r, out } = await once(repo, plan({ bash: 'git commit -q --allow-empty -m "empty one"' }));
  assert.is(r.code, 0, out);
  await onARef(repo, 'empty one');
});

test('git fetch --depth 1 makes the repository shallow: the shallow file the job made is moved aside and main\'s history is whole again', async () => {
  const repo = await repoWithIssue();
  const before = await sh(repo, 'rev-list', '--count', 'main');
  const { r, out } = await once(repo, plan(...commitPlan, { bash: `git fetch -q --depth 1 'file://${repo}' main` }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'rev-parse', '--is-shallow-repository'), 'false');
  assert.is(await sh(repo, 'rev-list', '--count', 'main'), String(Number(before) + 1), 'every commit of main shows again');
  assert.match(out, /the agent made the repository shallow \(git fetch --depth\)/);
});

test('a git checkout of another worker\'s branch (--ignore-other-worktrees) and a commit there: that branch is put back, the commit kept', async () => {
  const repo = await repoWithIssue();
  const other = join(tempDir('coven-other-'), 'w2');
  await sh(repo, 'worktree', 'add', '-q', '-b', 'coven/w2', other, 'main');
  writeFileSync(join(other, 'w2.txt'), 'w2\n');
  await sh(other, 'add', 'w2.txt');
  await sh(other, 'commit', '-qm', 'w2 work');
  const w2 = await sh(repo, 'rev-parse', 'coven/w2');
  const { r, out } = await once(repo, plan(...commitPlan, { bash: 'git checkout -q --ignore-other-worktrees coven/w2 && echo h > hijack.txt && git add hijack.txt && git commit -qm hijack' }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'rev-parse', 'coven/w2'), w2, "the other worker's branch is where it was");
  assert.is(await sh(other, 'status', '--porcelain'), '', "and its worktree matches it");
  await onARef(repo, 'hijack');
  assert.match(out, /the agent checked out coven\/w2, another worker's branch, and committed there \(kept as refs\/coven\/stray\/w1\/\S+\); coven put coven\/w2 back/);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
});

test('a sparse checkout in the worktree: the commit lands; the main worktree stays whole', async () => {
  const repo = await repoWithIssue();
  const { r, out } = await once(repo, plan(...commitPlan, { bash: "git sparse-checkout set --no-cone '/plan.txt' '/.coven/'" }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.ok(existsSync(join(repo, 'README.md')), 'the main worktree is not sparse');
  assert.is(await sh(repo, 'status', '--porcelain'), '');
});

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
