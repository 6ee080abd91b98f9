// coven land --decision FILE in remote mode: the decision's claim goes with the push of
// main, atomically, as the worker's does. A claim that another machine holds now is not
// overwritten, and the land does not push: exit 7 (lease-lost), main unchanged.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { machineClone, serveRepository, startGitDaemon } from './helpers/git-daemon.js';
import { openClaimStore } from '../scripts/lib/claims/index.js';
import { holderOf } from '../scripts/lib/agents/claimed-dispatch.js';
import type { RemoteTarget } from '../scripts/lib/remote/target.js';

const implement: FakeRun = { match: { promptIncludes: 'Implement the issue in issues/b.md' }, steps: [{ write: { path: 'b.txt', content: 'b\n' } }, { commit: 'b: done' }] };

async function setUp() {
  const daemon = await startGitDaemon();
  const url = await serveRepository(daemon, await covenRepo({ 'issues/b.md': issueFile('B', 'approved') }));
  const a = await machineClone(url, 'box-a');
  const b = await machineClone(url, 'box-b');
  const env = { ...fakeClaudeEnv([implement]), COVEN_WORKTREE_BASE: tempDir('coven-wt-'), COVEN_MACHINE: 'box-a' };
  const wt = (await coven(['spawn', 'coven/w2'], { cwd: a, env })).stdout.trim();
  const target: RemoteTarget = { name: 'origin', url, main: 'main', machine: 'box-a' };
  const store = openClaimStore({ repo: a, stateDir: join(a, '.git', 'coven'), remote: target });
  const job = { agent: 'implement', args: { issue: 'issues/b.md' } };
  const taken = await store.take(job, holderOf('w2', { COVEN_MACHINE: 'box-a' }), await sh(a, 'rev-parse', 'origin/main'));
  assert.is(taken.kind, 'taken');
  if (taken.kind !== 'taken') throw new Error('not taken');
  const dir = tempDir('coven-steps-');
  const decision = join(dir, 'decision.json');
  const claim = { key: taken.claim.key, ref: taken.claim.ref, sha: taken.claim.sha };
  writeFileSync(decision, JSON.stringify({ coven: 'decision/1', kind: 'run', agent: 'implement', args: job.args, worktree: wt, worker: 'w2', main_tip: '', claim, at: new Date().toISOString() }));
  const ran = await coven(['run-agent', '--decision', decision, '--out', join(dir, 'session.json')], { cwd: wt, env });
  assert.is(ran.code, 0, ran.stderr + ran.stdout);
  return { daemon, a, b, env, wt, decision, claim };
}

const onRemote = async (repo: string, ref: string) => (await sh(repo, 'ls-remote', 'origin', ref)).split('\t')[0] ?? '';

test('coven land --decision --remote: the claim is released with the push (a landed tombstone), exit 0', async () => {
  const s = await setUp();
  try {
    const land = await coven(['land', '--keep', '--remote', 'origin', '--decision', s.decision], { cwd: s.wt, env: s.env });
    assert.is(land.code, 0, land.stderr + land.stdout);
    assert.match(land.stdout, /released the job's claim \(refs\/coven\/claims\/implement--issues-b-md--[0-9a-f]+\) with the push/);
    await sh(s.b, 'fetch', '-q', 'origin', `+${s.claim.ref}:refs/x/claim`, '+refs/heads/main:refs/remotes/origin/main');
    const record = JSON.parse(await sh(s.b, 'log', '-1', '--format=%B', 'refs/x/claim'));
    assert.is(record.state, 'landed');
    assert.is(record.landed, await sh(s.b, 'rev-parse', 'origin/main'));
  } finally {
    await s.daemon.stop();
  }
});

test('coven land --decision --remote whose claim another machine holds now: nothing pushed, the claim untouched, exit 7', async () => {
  const s = await setUp();
  try {
    const mainBefore = await onRemote(s.b, 'refs/heads/main');
    // box-b holds the job now (its lease judged run out, say): any commit of its own at the ref
    await sh(s.b, 'commit', '-q', '--allow-empty', '-m', 'box-b holds it');
    await sh(s.b, 'push', '-q', '--force', 'origin', `HEAD:${s.claim.ref}`);
    const theirs = await onRemote(s.b, s.claim.ref);
    const land = await coven(['land', '--keep', '--remote', 'origin', '--decision', s.decision], { cwd: s.wt, env: s.env });
    assert.is(land.code, 7, land.stderr + land.stdout);
    assert.is(await onRemote(s.b, 'refs/heads/main'), mainBefore, 'main was not pushed');
    assert.is(await onRemote(s.b, s.claim.ref), theirs, "box-b's claim is untouched");
  } finally {
    await s.daemon.stop();
  }
});

test.run();
