// coven dispatch --remote NAME: the claims of a dispatch by hand are on that remote, as
// with git config coven.remote; the flag comes first, and a name the clone lacks is exit 64.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { machineClone, serveRepository, startGitDaemon } from './helpers/git-daemon.js';

const choose: FakeRun = { times: 'unlimited', steps: [{ text: 'I take a.\n<dispatch>\nagent: implement\nissue: issues/a.md\n</dispatch>' }] };

test('coven dispatch --remote origin takes the claim on the remote (no coven.remote set); a remote the clone lacks is exit 64, nothing taken', async () => {
  const daemon = await startGitDaemon();
  try {
    const here = await machineClone(await serveRepository(daemon, await covenRepo({ 'issues/a.md': issueFile('Issue a') })), 'box-a');
    const dir = tempDir('coven-dremote-');
    const env = { ...process.env, ...fakeClaudeEnv([choose], dir), COVEN_MACHINE: 'box-a', COVEN_WORKTREE_BASE: join(dir, 'worktrees') };
    const spawned = await coven(['spawn', 'coven/hand', '--remote', 'origin'], { cwd: here, env });
    assert.is(spawned.code, 0, spawned.stderr);
    const wt = spawned.stdout.trim().split('\n').pop()!;

    const bad = await coven(['dispatch', '--worker', 'hand', '--remote', 'nope'], { cwd: wt, env });
    assert.is(bad.code, 64, bad.stderr + bad.stdout);
    assert.match(bad.stderr, /--remote names the remote "nope", which this clone does not have[\s\S]*Nothing was dispatched and no claim was taken/);

    const decision = join(dir, 'decision.json');
    const d = await coven(['dispatch', '--worker', 'hand', '--remote', 'origin', '--out', decision], { cwd: wt, env });
    assert.is(d.code, 0, d.stderr);
    const file = JSON.parse(readFileSync(decision, 'utf8'));
    assert.is(file.kind, 'run');
    const onRemote = await sh(here, 'ls-remote', 'origin', 'refs/coven/claims/*');
    assert.match(onRemote, new RegExp(`^${file.claim.sha}\\t${file.claim.ref}$`), 'the claim is on the remote');
    assert.is(await sh(here, 'for-each-ref', 'refs/coven/claims/'), '', 'not in the clone itself');
  } finally {
    await daemon.stop();
  }
});

test('coven dispatch --help names --remote and the env of remote mode', async () => {
  const r = await coven(['dispatch', '--help']);
  assert.is(r.code, 0);
  for (const want of ['--remote NAME', 'COVEN_MACHINE', 'COVEN_REMOTE_TIMEOUT_MS', 'COVEN_CLAIM_LEASE_MS']) assert.ok(r.stdout.includes(want), want);
});

test.run();
