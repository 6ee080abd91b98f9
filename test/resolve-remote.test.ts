// coven resolve in remote mode: the conflict `coven land --remote` stopped on (another
// machine pushed a change to the same line) is resolved by resuming the session, and the
// resolution lands on the remote's main, not only on this clone's main.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { commitFile, coven, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { implementByHand } from './helpers/job-by-hand.js';
import { assertFakeRunsOk, fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { machineClone, serveRepository, startGitDaemon } from './helpers/git-daemon.js';

const MERGED = 'bonjour\nhallo\n';
const implement: FakeRun = {
  match: { promptIncludes: 'Implement the issue in issues/b.md' },
  steps: [{ read: 'greeting.txt' }, { write: { path: 'greeting.txt', content: 'hallo\n' } }, { commit: 'b: greet in German' }],
};
const resolving: FakeRun = {
  match: { promptIncludes: 'rebase conflict' },
  expect: { resume: true },
  steps: [{ read: 'greeting.txt' }, { write: { path: 'greeting.txt', content: MERGED } }, { bash: 'git add greeting.txt' }, { bash: 'git -c core.editor=true rebase --continue' }, { text: 'Kept both.' }],
};

test('coven resolve --remote: the resolution is pushed to the remote main; exit 0', async () => {
  const daemon = await startGitDaemon();
  try {
    const url = await serveRepository(daemon, await covenRepo({ 'greeting.txt': 'hello\n', 'issues/b.md': issueFile('Greet in German', 'approved') }));
    const here = await machineClone(url, 'box-a');
    const other = await machineClone(url, 'box-b');
    const env = { ...fakeClaudeEnv([implement, resolving]), COVEN_WORKTREE_BASE: tempDir('coven-wt-'), COVEN_MACHINE: 'box-a' };
    const wt = (await coven(['spawn', 'coven/w2'], { cwd: here, env })).stdout.trim();
    const record = await implementByHand(wt, env);
    await commitFile(other, 'greeting.txt', 'bonjour\n', 'a: greet in French');
    await sh(other, 'push', '-q', 'origin', 'main');
    const land = await coven(['land', '--keep', '--remote', 'origin'], { cwd: wt, env });
    assert.is(land.code, 3, land.stderr + land.stdout);
    const r = await coven(['resolve', '--session', record, '--remote', 'origin'], { cwd: wt, env });
    assert.is(r.code, 0, r.stderr + r.stdout);
    await sh(other, 'fetch', '-q', 'origin');
    assert.is(await sh(other, 'show', 'origin/main:greeting.txt'), MERGED.trim(), 'the resolution is on the remote main');
    assert.equal((await sh(other, 'log', '--format=%s', 'origin/main')).split('\n').slice(0, 2), ['b: greet in German', 'a: greet in French']);
    assertFakeRunsOk(env);
  } finally {
    await daemon.stop();
  }
});

test('coven spawn in a clone with coven.remote starts from the remote main: a commit the human has not pushed stays out of the branch', async () => {
  const daemon = await startGitDaemon();
  try {
    const url = await serveRepository(daemon, await covenRepo());
    const here = await machineClone(url, 'box-a');
    await sh(here, 'config', 'coven.remote', 'origin');
    const mine = await commitFile(here, 'private.txt', 'not pushed\n', 'human: not pushed yet');
    const spawned = await coven(['spawn', 'coven/hand'], { cwd: here, env: { COVEN_WORKTREE_BASE: tempDir('coven-wt-') } });
    assert.is(spawned.code, 0, spawned.stderr);
    const wt = spawned.stdout.trim();
    assert.is(await sh(wt, 'rev-parse', 'HEAD'), await sh(here, 'rev-parse', 'origin/main'));
    const has = await sh(wt, 'branch', '--contains', mine, '--format=%(refname:short)');
    assert.not.match(has, /coven\/hand/, "the human's unpushed commit is not in the branch");
  } finally {
    await daemon.stop();
  }
});

test.run();
