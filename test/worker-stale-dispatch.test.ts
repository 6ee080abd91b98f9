import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock, dispatchLockPath } from '../scripts/lib/locks/dispatch-lock.js';
import { coven, commitFile, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv } from './helpers/fake-claude.js';

function phaseOf(repo: string, worker: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(repo, '.git', 'coven', 'workers', `${worker}.json`), 'utf8')) as { phase: string }).phase;
  } catch {
    return null;
  }
}

test('dispatch sees what landed on main while the worker waited for the dispatch lock', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const stateDir = join(repo, '.git', 'coven');
  // the scripted dispatcher answers with the issue files it sees in the worktree
  const env = {
    ...fakeClaudeEnv([{ match: { promptIncludes: 'Choose the next job' }, times: 5, steps: [{ reply_from_bash: `printf '<dispatch>\\nsleep: sees %s\\n</dispatch>' "$(ls issues | tr '\\n' ' ')"` }] }]),
    COVEN_WORKTREE_BASE: tempDir('coven-wt-'),
  };
  assert.is((await coven(['hooks', 'install'], { cwd: repo })).code, 0); // a commit on main wakes the sleeper
  // a worker just started dispatches without the lock; it sleeps, and the dispatch after
  // its wake takes the lock (policy.ts dispatchesUnderLock)
  const worker = coven(['worker', '--max-idle', '2', '--name', 'w1'], { cwd: repo, env: { ...process.env, ...env } });
  for (const until = Date.now() + 90_000; phaseOf(repo, 'w1') !== 'sleeping'; await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > until) throw new Error('the worker never went to sleep');
  }
  const held = await acquireLock({ path: dispatchLockPath(stateDir), owner: 'someone-else' });
  assert.is(held.kind, 'acquired');
  await commitFile(repo, 'issues/b.md', issueFile('Fix b'), 'add issue b');

  // woken, the worker has synced and now waits for the lock; meanwhile another issue lands on main
  for (const until = Date.now() + 90_000; phaseOf(repo, 'w1') !== 'dispatching'; await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > until) throw new Error('the worker never reached dispatching');
  }
  await commitFile(repo, 'issues/c.md', issueFile('Fix c'), 'add issue c');
  if (held.kind === 'acquired') await held.release();

  const r = await worker;
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /w1 sleeps: sees a\.md\n[\s\S]*w1 sleeps: sees a\.md b\.md c\.md/);
});

test.run();
