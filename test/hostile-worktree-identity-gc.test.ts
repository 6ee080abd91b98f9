// Hostile input, continued: a dead worker's worktree whose link to the repository its
// agent changed, as `coven gc` and a worker taking it over find it (see
// hostile-worktree-identity.test.ts for the worker's own cases).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { newWorkerState, writeWorkerState } from '../scripts/lib/worker/state.js';
import { coven, run, sh, tempDir } from './helpers/repo.js';
import { fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { humanSide, noStack, repoWithStagedWork } from './helpers/worktree-identity.js';

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

test('a worker taking over a dead worker\'s worktree whose .git points at the main git dir: the human\'s index.lock stays, the commit is kept', async () => {
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
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-'), COVEN_RETRY_MS: '500' };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  await humanDone;
  const out = r.stdout + r.stderr;
  noStack(out);
  assert.ok(lockLasted, `coven removed the human's index.lock:\n${out}`);
  assert.not.match(out, /removed .*\/\.git\/index\.lock/);
  assert.equal(await humanSide(repo), before, out);
  assert.match(out, /pointed its \.git file at .* \(the main worktree's git dir\)/);
  // landed once the human's lock went, or kept on the branch
  assert.match(await sh(repo, 'log', '--format=%s', '--branches'), /^done by the agent$/m, out);
});

test.run();

