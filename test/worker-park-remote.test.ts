// worker-park-remote — in remote mode a worker's land conflicts with the remote's main
// (origin/main), not the clone's main: the conflict line and the park advice name
// origin/main, fetch first, and land with --remote. Local mode's wording is pinned by
// worker-park.test.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { machineClone, serveRepository, startGitDaemon, type GitDaemon } from './helpers/git-daemon.js';
import { A_LINE, A_SUBJECT, B_LINE, B_SUBJECT, ORIGINAL, failingRuns, implementAgent, sleepRun } from './helpers/same-line.js';
import { commitFile, coven, sh, tempDir } from './helpers/repo.js';

async function machines(): Promise<{ daemon: GitDaemon; a: string; b: string; base: string }> {
  const seed = await covenRepo({ '.coven/agents/implement.md': implementAgent(), 'greeting.txt': ORIGINAL, 'issues/b.md': issueFile('Greet in German', 'approved') });
  const daemon = await startGitDaemon();
  const url = await serveRepository(daemon, seed);
  const [a, b] = await Promise.all([machineClone(url, 'a'), machineClone(url, 'b')]);
  return { daemon, a, b, base: tempDir('coven-wt-') };
}

const choose: FakeRun = { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: implement\nissue: issues/b.md\n</dispatch>' }] };
const job = (b: string): FakeRun => ({
  match: { promptIncludes: 'Implement the issue in issues/b.md' },
  steps: [{ read: 'greeting.txt' }, { write: { path: 'greeting.txt', content: B_LINE } }, { commit: B_SUBJECT }, { bash: `git -C '${b}' push -q origin main` }],
});

test('remote mode: the conflict and the park advice name origin/main (fetch, rebase onto origin/main, land with --remote)', async () => {
  const m = await machines();
  try {
    await commitFile(m.b, 'greeting.txt', A_LINE, A_SUBJECT);
    const env = fakeClaudeEnv([choose, job(m.b), failingRuns]);
    const r = await coven(['worker', '--name', 'w2', '--once', '--remote', 'origin'], { cwd: m.a, env: { ...env, COVEN_WORKTREE_BASE: m.base, COVEN_MACHINE: 'a' }, timeoutMs: 150_000 });
    assert.is(r.code, 3, r.stderr + r.stdout);
    const wt = join(m.base, 'project', 'coven', 'w2');
    assert.match(r.stdout + r.stderr, /coven: rebasing onto origin\/main stopped on a conflict in greeting\.txt/);
    assert.match(r.stderr, /w2 is parked: its commits conflict with origin\/main in greeting\.txt, and 3 resolution rounds did not fix it/);
    assert.match(r.stderr, /origin\/main is unchanged/);
    assert.ok(r.stderr.includes(`cd ${wt} && git fetch origin && git rebase origin/main   (resolve`), r.stderr);
    assert.ok(r.stderr.includes(`coven land --keep --worktree ${wt} --remote origin`), r.stderr);
  } finally {
    await m.daemon.stop();
  }
});

test('remote mode, --on-park continue: the set-aside advice rebases onto origin/main and pushes to origin', async () => {
  const m = await machines();
  try {
    await commitFile(m.b, 'greeting.txt', A_LINE, A_SUBJECT);
    const env = fakeClaudeEnv([choose, job(m.b), failingRuns, sleepRun]);
    const r = await coven(['worker', '--name', 'w2', '--on-park', 'continue', '--max-idle', '1', '--remote', 'origin'], { cwd: m.a, env: { ...env, COVEN_WORKTREE_BASE: m.base, COVEN_MACHINE: 'a' }, timeoutMs: 150_000 });
    assert.is(r.code, 0, r.stderr + r.stdout);
    const aside = await sh(m.a, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/coven/parked/');
    assert.match(aside, /^coven\/parked\/w2-/);
    assert.match(r.stderr, /w2 parked its work: its commits conflict with origin\/main in greeting\.txt/);
    assert.match(r.stderr, /the worker goes on from origin\/main\./);
    assert.ok(r.stderr.includes(`fetch origin && git -C ${m.a} rebase origin/main ${aside}   (resolve by hand), then push it: git -C ${m.a} push origin ${aside}:main`), r.stderr);
  } finally {
    await m.daemon.stop();
  }
});

test.run();
