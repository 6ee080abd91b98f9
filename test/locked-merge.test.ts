// locked-merge — the fast-forward of the user's checkout that a land does under the
// checkout's index.lock: files, index, ref, reflog and post-merge hook as git merge
// would leave them; refusals change nothing and leave no lock behind.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lockedMerge, pathsInTheWay } from '../scripts/lib/land/locked-merge.js';
import { commitFile, sh, tempDir, tempRepo } from './helpers/repo.js';

/** A repo on main and a commit `to` on another branch that main can fast-forward to. */
async function ahead(): Promise<{ repo: string; from: string; to: string }> {
  const repo = await tempRepo();
  await commitFile(repo, 'shared.txt', 'one\n');
  const from = await sh(repo, 'rev-parse', 'HEAD');
  await sh(repo, 'switch', '-q', '-c', 'work');
  await commitFile(repo, 'shared.txt', 'one\ntwo\n', 'two');
  const to = await commitFile(repo, 'new/file.txt', 'new\n', 'new file');
  await sh(repo, 'switch', '-q', 'main');
  return { repo, from, to };
}

const litter = (repo: string) => readdirSync(join(repo, '.git')).filter((f) => f === 'index.lock' || f.startsWith('coven-ff-'));

test('fast-forwards the checkout: files, index, branch, reflog, and the post-merge hook runs', async () => {
  const { repo, from, to } = await ahead();
  const ran = join(tempDir(), 'hook-ran');
  writeFileSync(join(repo, '.git', 'hooks', 'post-merge'), `#!/bin/sh\necho "$1" > '${ran}'\n`, { mode: 0o755 });
  const r = await lockedMerge(repo, join(repo, '.git'), 'refs/heads/main', from, to, { GIT_REFLOG_ACTION: 'coven land coven/w1' });
  assert.is(r.ok, true, r.stderr);
  assert.is(await sh(repo, 'rev-parse', 'main'), to);
  assert.is(await sh(repo, 'status', '--porcelain'), '', 'index and files match the new tip');
  assert.is(readFileSync(join(repo, 'new/file.txt'), 'utf8'), 'new\n');
  assert.match(await sh(repo, 'reflog', '-1', '--format=%gs', 'main'), /^coven land coven\/w1: Fast-forward$/);
  assert.is(readFileSync(ran, 'utf8'), '0\n');
  assert.equal(litter(repo), []);
});

test('a local change or an untracked file in the way: refused, nothing changed, no lock left', async () => {
  const { repo, from, to } = await ahead();
  writeFileSync(join(repo, 'shared.txt'), 'one\nthe user is editing\n');
  const edited = await lockedMerge(repo, join(repo, '.git'), 'refs/heads/main', from, to);
  assert.is(edited.ok, false);
  assert.equal(pathsInTheWay(edited.stderr), ['shared.txt']);
  writeFileSync(join(repo, 'shared.txt'), 'one\n');
  mkdirSync(join(repo, 'new'));
  writeFileSync(join(repo, 'new', 'file.txt'), 'the user made this\n');
  const untracked = await lockedMerge(repo, join(repo, '.git'), 'refs/heads/main', from, to);
  assert.is(untracked.ok, false);
  assert.equal(pathsInTheWay(untracked.stderr), ['new/file.txt']);
  assert.is(await sh(repo, 'rev-parse', 'main'), from);
  assert.is(readFileSync(join(repo, 'new', 'file.txt'), 'utf8'), 'the user made this\n');
  assert.equal(litter(repo), []);
});

test('a file only touched since the index was written (same content) is not taken for a local change', async () => {
  const { repo, from, to } = await ahead();
  const old = new Date('2001-01-01T00:00:00Z');
  utimesSync(join(repo, 'shared.txt'), old, old);
  const r = await lockedMerge(repo, join(repo, '.git'), 'refs/heads/main', from, to);
  assert.is(r.ok, true, r.stderr);
  assert.is(readFileSync(join(repo, 'shared.txt'), 'utf8'), 'one\ntwo\n');
  assert.is(await sh(repo, 'status', '--porcelain'), '');
  assert.equal(litter(repo), []);
});

test("another command's index.lock: refused at once, the lock is not touched", async () => {
  const { repo, from, to } = await ahead();
  writeFileSync(join(repo, '.git', 'index.lock'), 'theirs');
  const r = await lockedMerge(repo, join(repo, '.git'), 'refs/heads/main', from, to);
  assert.is(r.ok, false);
  assert.match(r.stderr, /Unable to create '.*index\.lock': File exists/);
  assert.is(readFileSync(join(repo, '.git', 'index.lock'), 'utf8'), 'theirs');
  assert.is(await sh(repo, 'rev-parse', 'main'), from);
});

test('main moved meanwhile (without the index lock): the files go back, main keeps its new tip', async () => {
  const { repo, from, to } = await ahead();
  const other = await sh(repo, 'commit-tree', '-p', from, '-m', 'moved', `${from}^{tree}`);
  await sh(repo, 'update-ref', 'refs/heads/main', other, from);
  const r = await lockedMerge(repo, join(repo, '.git'), 'refs/heads/main', from, to);
  assert.is(r.ok, false);
  assert.is(await sh(repo, 'rev-parse', 'main'), other);
  assert.not.ok(existsSync(join(repo, 'new', 'file.txt')), 'the files were put back');
  assert.is(await sh(repo, 'status', '--porcelain'), '');
  assert.equal(litter(repo), []);
});

test.run();
