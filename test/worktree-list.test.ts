// worktree-list — `git worktree list` fails while another process's `git worktree add`
// has the new .git/worktrees/<name>/ folder half written; coven retries instead of
// crashing a worker or refusing a land.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { landWorktree } from '../scripts/lib/land/land.js';
import { listWorktrees } from '../scripts/lib/git/runner.js';
import { commitFile, run, sh, tempDir, tempRepo } from './helpers/repo.js';

/** A worktree folder as `git worktree add` leaves it for a moment: commondir still empty. */
function halfWritten(repo: string): () => void {
  const dir = join(repo, '.git', 'worktrees', 'ghost');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'gitdir'), join(tempDir(), 'ghost', '.git') + '\n');
  writeFileSync(join(dir, 'commondir'), '');
  return () => writeFileSync(join(dir, 'commondir'), '../..\n');
}

test('git itself fails on a half-written worktree folder (the race this guards against)', async () => {
  const repo = await tempRepo();
  halfWritten(repo);
  const r = await run('git', ['worktree', 'list', '--porcelain'], { cwd: repo });
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /worktrees\/ghost\/commondir/);
});

test('listWorktrees waits for the other git worktree add to finish writing', async () => {
  const repo = await tempRepo();
  const finish = halfWritten(repo);
  setTimeout(finish, 80);
  const list = await listWorktrees(repo);
  assert.is(list[0]?.path, repo);
  assert.is(list.length, 2);
});

test('a land during another worker\'s git worktree add lands instead of refusing', async () => {
  const repo = await tempRepo();
  const wt = join(tempDir('coven-wt-'), 'w1');
  await sh(repo, 'worktree', 'add', '-q', '-b', 'coven/w1', wt, 'main'); // no upstream: land reads main from the worktree list
  await commitFile(wt, 'a.txt', 'a\n');
  const finish = halfWritten(repo);
  setTimeout(finish, 80);
  const r = await landWorktree({ worktree: wt, keep: true });
  assert.is(r.kind, 'landed', JSON.stringify(r));
});

test.run();
