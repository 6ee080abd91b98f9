import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { covenRef, discardSavedChanges, saveUncommittedWork } from '../scripts/lib/worktree/save-work.js';
import { commitFile, sh, tempRepo } from './helpers/repo.js';

test('uncommitted, staged and untracked changes are saved under refs/coven without touching the branch', async () => {
  const repo = await tempRepo();
  await commitFile(repo, 'a.txt', 'one\n');
  const head = await sh(repo, 'rev-parse', 'HEAD');
  writeFileSync(join(repo, 'a.txt'), 'two\n');
  writeFileSync(join(repo, 'new.txt'), 'untracked\n');
  writeFileSync(join(repo, 'staged.txt'), 'staged\n');
  await sh(repo, 'add', 'staged.txt');
  const ref = covenRef('wip', 'brave-otter', new Date('2026-01-02T03:04:05.678Z'));
  assert.is(ref, 'refs/coven/wip/brave-otter/20260102T030405Z');
  const r = await saveUncommittedWork(repo, ref, 'wip');
  assert.is(r.kind, 'saved');
  if (r.kind !== 'saved') return;
  assert.equal(r.files.sort(), ['a.txt', 'new.txt', 'staged.txt']);
  assert.is(await sh(repo, 'rev-parse', 'HEAD'), head);
  assert.is(await sh(repo, 'show', `${ref}:a.txt`), 'two');
  assert.is(await sh(repo, 'show', `${ref}:new.txt`), 'untracked');
  assert.is(await sh(repo, 'rev-parse', `${ref}^`), head);
  // the worktree and the index are as they were
  assert.is(readFileSync(join(repo, 'a.txt'), 'utf8'), 'two\n');
  assert.match(await sh(repo, 'status', '--porcelain'), /\?\? new.txt/);
  assert.match(await sh(repo, 'status', '--porcelain'), /A  staged.txt/);

  await discardSavedChanges(repo, r);
  assert.is(await sh(repo, 'status', '--porcelain'), '');
  assert.is(existsSync(join(repo, 'new.txt')), false);
});

test('two saves in the same second both stay: the second gets its own ref', async () => {
  const repo = await tempRepo();
  const at = new Date('2026-01-02T03:04:05Z');
  writeFileSync(join(repo, 'one.txt'), 'one');
  const first = await saveUncommittedWork(repo, covenRef('wip', 'w', at), 'first');
  writeFileSync(join(repo, 'two.txt'), 'two');
  const second = await saveUncommittedWork(repo, covenRef('wip', 'w', at), 'second');
  assert.ok(first.kind === 'saved' && second.kind === 'saved');
  if (first.kind !== 'saved' || second.kind !== 'saved') return;
  assert.is(second.ref, `${first.ref}-2`);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', first.ref), 'first');
  assert.is(await sh(repo, 'log', '-1', '--format=%s', second.ref), 'second');
});

test('a clean worktree saves nothing', async () => {
  const repo = await tempRepo();
  const r = await saveUncommittedWork(repo, 'refs/coven/wip/x/1', 'wip');
  assert.is(r.kind, 'clean');
  assert.is((await sh(repo, 'for-each-ref', 'refs/coven')).length, 0);
});

test('ignored files are neither saved nor removed', async () => {
  const repo = await tempRepo();
  await commitFile(repo, '.gitignore', 'cache/\n');
  writeFileSync(join(repo, 'x.txt'), 'x');
  await sh(repo, 'status');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(repo, 'cache'));
  writeFileSync(join(repo, 'cache', 'big'), 'keep me');
  const r = await saveUncommittedWork(repo, 'refs/coven/wip/x/2', 'wip');
  assert.is(r.kind, 'saved');
  if (r.kind === 'saved') assert.equal(r.files, ['x.txt']);
  await discardSavedChanges(repo, r);
  assert.is(readFileSync(join(repo, 'cache', 'big'), 'utf8'), 'keep me');
});

test('a file ignored only by an uncommitted .gitignore edit is not removed: the clean sees the rules the save saw', async () => {
  const repo = await tempRepo();
  await commitFile(repo, '.gitignore', 'cache/\n');
  writeFileSync(join(repo, '.gitignore'), 'cache/\nnotes/\n'); // uncommitted: notes/ is ignored for now
  mkdirSync(join(repo, 'notes'));
  writeFileSync(join(repo, 'notes', 'todo.md'), 'my notes\n');
  const r = await saveUncommittedWork(repo, 'refs/coven/wip/x/3', 'wip');
  assert.is(r.kind, 'saved');
  await discardSavedChanges(repo, r);
  // the saved .gitignore edit is undone, so notes/ is no longer ignored: it must still be there
  assert.is(readFileSync(join(repo, 'notes', 'todo.md'), 'utf8'), 'my notes\n');
});

test('a staged file that matches .gitignore (git add -f) is saved before the clean removes it', async () => {
  const repo = await tempRepo();
  await commitFile(repo, '.gitignore', '*.env\n');
  writeFileSync(join(repo, 'prod.env'), 'SECRET=1\n');
  await sh(repo, 'add', '-f', 'prod.env');
  writeFileSync(join(repo, 'README.md'), 'edited\n');
  const r = await saveUncommittedWork(repo, 'refs/coven/wip/x/4', 'wip');
  assert.is(r.kind, 'saved');
  if (r.kind !== 'saved') return;
  assert.equal(r.files.sort(), ['README.md', 'prod.env']);
  assert.is(await sh(repo, 'show', `${r.ref}:prod.env`), 'SECRET=1');
  await discardSavedChanges(repo, r);
  assert.is(await sh(repo, 'status', '--porcelain'), '');
});

test.run();
