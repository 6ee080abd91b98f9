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
import { existsSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { newWorkerState, writeWorkerState } from '../scripts/lib/worker/state.js';
import { coven, run, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun, type FakeStep } from './helpers/fake-claude.js';

/** An agent with a shell (Bash without limits): it can write anything in its worktree. */
const shellAgent = `---
description: writes a plan for one issue
args:
  - name: issue
    description: path of the issue file
claude_args: ["--allowedTools=Bash,Read,Edit,Write"]
---
Plan the issue in {{issue}}.
`;

const plan = (...steps: FakeStep[]): FakeRun[] => [
  { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  { match: { promptIncludes: 'Plan the issue' }, steps: [...steps, { text: 'Done.' }] },
  // asked to commit what it left: it does nothing
  { match: { promptIncludes: 'You left uncommitted changes' }, steps: [{ text: 'No.' }] },
];
const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);

/** A repo whose human has a staged change (a new file and an edit) and an unstaged edit in the main worktree. */
async function repoWithStagedWork(): Promise<string> {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a'), '.coven/agents/plan.md': shellAgent, 'notes.txt': 'notes\n' });
  writeFileSync(join(repo, 'staged.txt'), 'the human\'s staged file\n');
  writeFileSync(join(repo, 'notes.txt'), 'notes, staged edit\n');
  await sh(repo, 'add', 'staged.txt', 'notes.txt');
  writeFileSync(join(repo, 'README.md'), '# test, unstaged edit\n');
  return repo;
}

/** What the human has in the main worktree: index entries, staged names, status, files. */
async function humanSide(repo: string) {
  return {
    head: await sh(repo, 'symbolic-ref', 'HEAD'),
    index: await sh(repo, 'ls-files', '--stage', '--', 'staged.txt', 'notes.txt', 'README.md'),
    staged: await sh(repo, 'diff', '--cached', '--name-only'),
    status: await sh(repo, 'status', '--porcelain'),
    files: ['staged.txt', 'notes.txt', 'README.md'].map((f) => readFileSync(join(repo, f), 'utf8')),
  };
}

async function worker(repo: string, script: FakeRun[], name = 'w1', base = tempDir('coven-wt-')) {
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: base };
  const r = await coven(['worker', '--once', '--name', name], { cwd: repo, env });
  noStack(r.stdout + r.stderr);
  return { r, env, worktree: join(base, 'project', 'coven', name) };
}

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

/** A dead worker (its process gone) whose worktree holds a commit and an uncommitted file. */
async function deadWorker(repo: string, name: string) {
  const wt = join(tempDir('coven-wt-'), name);
  await sh(repo, 'worktree', 'add', '-q', '-b', `coven/${name}`, wt, 'main');
  writeFileSync(join(wt, 'done.txt'), 'committed\n');
  await sh(wt, 'add', 'done.txt');
  await sh(wt, 'commit', '-q', '-m', 'done by the agent');
  writeFileSync(join(wt, 'wip.txt'), 'not committed\n');
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  const gitDir = await sh(wt, 'rev-parse', '--absolute-git-dir');
  await writeWorkerState(join(repo, '.git', 'coven'), { ...newWorkerState({ name, branch: `coven/${name}`, worktree: wt }), pid: child.pid!, git_dir: gitDir });
  return { wt, gitDir };
}

const gcCases: Array<[string, (wt: string, common: string) => string]> = [
  ['pointed at the main worktree\'s git dir', (_wt, common) => `printf 'gitdir: %s\n' '${common}' > .git`],
  ['removed', () => 'rm .git'],
  ['replaced by a repository of the agent\'s own', () => 'rm .git && git init -q'],
];
for (const [how, attack] of gcCases) {
  test(`coven gc and gc --force on a dead worker whose .git file was ${how}: the human's index is untouched, the work is kept`, async () => {
    const repo = await repoWithStagedWork();
    const before = await humanSide(repo);
    const common = realpathSync(join(repo, '.git'));
    const { wt } = await deadWorker(repo, 'w1');
    await run('/bin/sh', ['-c', attack(wt, common)], { cwd: wt });
    const kept = await coven(['gc'], { cwd: repo });
    noStack(kept.stdout + kept.stderr);
    assert.is(kept.code, 3, kept.stdout + kept.stderr);
    assert.match(kept.stdout, /w1: kept — 1 commit not on main; uncommitted changes to wip\.txt/);
    assert.match(kept.stdout, /w1: the agent in .* (pointed its \.git file at|removed its \.git file|replaced its \.git file)/);
    const r = await coven(['gc', '--force'], { cwd: repo });
    noStack(r.stdout + r.stderr);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.equal(await humanSide(repo), before, r.stdout);
    const saved = await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/gc/w1/');
    assert.is(await sh(repo, 'show', `${saved}:wip.txt`), 'not committed');
    assert.is(await sh(repo, 'log', '-1', '--format=%s', `${saved}^`), 'done by the agent');
    assert.not.ok(existsSync(wt));
    assert.is(await sh(repo, 'branch', '--list', 'coven/w1'), '');
  });
}

test('a worker taking over a dead worker\'s worktree whose .git points at the main git dir: the human\'s index.lock stays, the commit lands', async () => {
  const repo = await repoWithStagedWork();
  const before = await humanSide(repo);
  const common = realpathSync(join(repo, '.git'));
  const { wt } = await deadWorker(repo, 'w1');
  writeFileSync(join(wt, '.git'), `gitdir: ${common}\n`);
  // the human's git command in progress in the main worktree: its lock lasts 5 s
  const lock = join(common, 'index.lock');
  writeFileSync(lock, '');
  let lockLasted = false;
  const humanDone = new Promise<void>((done) => setTimeout(() => {
    lockLasted = existsSync(lock);
    rmSync(lock, { force: true });
    done();
  }, 5000));
  const script: FakeRun[] = [{ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nsleep: nothing to do\n</dispatch>' }] }];
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  await humanDone;
  const out = r.stdout + r.stderr;
  noStack(out);
  assert.ok(lockLasted, `coven removed the human's index.lock:\n${out}`);
  assert.not.match(out, /removed .*\/\.git\/index\.lock/);
  assert.equal(await humanSide(repo), before, out);
  assert.match(out, /pointed its \.git file at .* \(the main worktree's git dir\)/);
  assert.match(await sh(repo, 'log', '--format=%s', 'refs/heads/main'), /^done by the agent$/m, out);
});

test.run();
