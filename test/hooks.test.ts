import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hooksStatus, installHooks, uninstallHooks } from '../scripts/lib/hooks/install.js';
import { commitFile, coven, run, sh, tempDir, tempRepo } from './helpers/repo.js';

const wake = (repo: string) => join(repo, '.git', 'coven', 'wake');

/** name → bytes, mode and mtime of every file in a folder (for "nothing changed"). */
function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const st = statSync(join(dir, name));
    out[name] = `${st.mode.toString(8)} ${st.mtimeMs} ${readFileSync(join(dir, name)).toString('base64')}`;
  }
  return out;
}

function userHook(dir: string, name: string, marker: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  // odd bytes on purpose: non-ASCII, no final newline
  writeFileSync(path, `#!/bin/sh\n# ünïcode hook\necho "user ${name} $*" >> '${marker}'\nexit 0`);
  chmodSync(path, 0o750);
  return path;
}

test("an existing user hook keeps running next to coven's, with its arguments and output", async () => {
  const repo = await tempRepo();
  const marker = join(tempDir(), 'ran');
  userHook(join(repo, '.git', 'hooks'), 'post-commit', marker);
  userHook(join(repo, '.git', 'hooks'), 'post-merge', marker);
  const r = await installHooks(repo);
  assert.is(r.kind, 'installed');
  if (r.kind !== 'installed') return;
  assert.equal(r.hooks.map((h) => [h.name, h.action, h.chained !== null]), [
    ['post-commit', 'written', true],
    ['post-merge', 'written', true],
  ]);
  await commitFile(repo, 'a.txt', 'a');
  assert.ok(existsSync(wake(repo)), 'coven touched wake');
  await sh(repo, 'switch', '-q', '-c', 'side');
  await commitFile(repo, 'b.txt', 'b');
  await sh(repo, 'switch', '-q', 'main');
  const merge = await run('git', ['merge', '--ff-only', 'side'], { cwd: repo });
  assert.is(merge.code, 0);
  assert.is(readFileSync(marker, 'utf8'), 'user post-commit \nuser post-commit \nuser post-merge 0\n');
});

test('installing twice changes nothing', async () => {
  const repo = await tempRepo();
  userHook(join(repo, '.git', 'hooks'), 'post-commit', join(tempDir(), 'ran'));
  await installHooks(repo);
  const before = { hooks: snapshot(join(repo, '.git', 'hooks')), state: snapshot(join(repo, '.git', 'coven')) };
  await new Promise((r) => setTimeout(r, 20)); // a rewrite would show in mtimes
  const again = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(again.code, 0);
  assert.match(again.stdout, /post-commit: unchanged/);
  assert.match(again.stdout, /post-merge: unchanged/);
  assert.equal({ hooks: snapshot(join(repo, '.git', 'hooks')), state: snapshot(join(repo, '.git', 'coven')) }, before);
});

test('uninstall restores the original hooks byte for byte, and removes the ones coven added', async () => {
  const repo = await tempRepo();
  const hooks = join(repo, '.git', 'hooks');
  userHook(hooks, 'post-commit', join(tempDir(), 'ran'));
  const before = snapshot(hooks);
  await installHooks(repo);
  assert.not.equal(snapshot(hooks), before);
  const r = await uninstallHooks(repo);
  assert.equal(r.kind === 'uninstalled' && r.hooks.map((h) => h.action), ['restored', 'removed']);
  assert.equal(snapshot(hooks), before);
});

for (const [what, breakIt] of [
  ['deleted', (dir: string) => rmSync(dir, { recursive: true, force: true })],
  ['a regular file (unwritable)', (dir: string) => (rmSync(dir, { recursive: true, force: true }), writeFileSync(dir, 'not a folder'))],
] as const) {
  test(`git commit and git merge still succeed, silently, when the state dir is ${what}`, async () => {
    const repo = await tempRepo();
    await installHooks(repo);
    breakIt(join(repo, '.git', 'coven'));
    writeFileSync(join(repo, 'a.txt'), 'a');
    await sh(repo, 'add', 'a.txt');
    const commit = await run('git', ['commit', '-q', '-m', 'a'], { cwd: repo });
    assert.is(commit.code, 0);
    assert.is(commit.stderr, '');
    await sh(repo, 'switch', '-q', '-c', 'side');
    await commitFile(repo, 'b.txt', 'b');
    await sh(repo, 'switch', '-q', 'main');
    const merge = await run('git', ['merge', '-q', '--ff-only', 'side'], { cwd: repo });
    assert.is(merge.code, 0);
    assert.is(merge.stderr, '');
  });
}

test('a commit on main touches wake; commits on other branches and in other worktrees do not', async () => {
  const repo = await tempRepo();
  await installHooks(repo);
  await sh(repo, 'switch', '-q', '-c', 'feature');
  await commitFile(repo, 'f.txt', 'f');
  assert.not.ok(existsSync(wake(repo)), 'feature commit: no wake');
  await sh(repo, 'switch', '-q', 'main');
  const wt = join(tempDir(), 'wt');
  await sh(repo, 'worktree', 'add', '-q', '-b', 'coven/w1', wt);
  await commitFile(wt, 'w.txt', 'w');
  assert.not.ok(existsSync(wake(repo)), 'worker commit: no wake');
  await commitFile(repo, 'm.txt', 'm');
  assert.ok(existsSync(wake(repo)), 'main commit: wake');
});

test('a fast-forward merge into main (how workers land) touches wake through post-merge', async () => {
  const repo = await tempRepo();
  await installHooks(repo);
  const wt = join(tempDir(), 'wt');
  await sh(repo, 'worktree', 'add', '-q', '-b', 'coven/w1', wt);
  await commitFile(wt, 'w.txt', 'w');
  assert.not.ok(existsSync(wake(repo)));
  await sh(repo, 'merge', '-q', '--ff-only', 'coven/w1');
  assert.ok(existsSync(wake(repo)));
});

test('the main branch is whatever the main worktree has checked out, never assumed to be "main"', async () => {
  const repo = await tempRepo();
  await sh(repo, 'branch', '-m', 'main', 'trunk');
  await sh(repo, 'branch', 'main'); // a decoy named main
  const r = await installHooks(repo);
  assert.is(r.kind === 'installed' && r.mainBranch, 'trunk');
  assert.is(readFileSync(join(repo, '.git', 'coven', 'main-branch'), 'utf8'), 'refs/heads/trunk\n');
  await sh(repo, 'switch', '-q', 'main');
  await commitFile(repo, 'x.txt', 'x');
  assert.not.ok(existsSync(wake(repo)), 'the branch called main is not the main branch here');
  await sh(repo, 'switch', '-q', 'trunk');
  await commitFile(repo, 'y.txt', 'y');
  assert.ok(existsSync(wake(repo)));
});

test('a relative core.hooksPath is respected, taken from the main worktree even when run from a worker worktree', async () => {
  const repo = await tempRepo();
  await sh(repo, 'config', 'core.hooksPath', '.githooks');
  const marker = join(tempDir(), 'ran');
  userHook(join(repo, '.githooks'), 'post-commit', marker);
  const wt = join(tempDir(), 'wt');
  await sh(repo, 'worktree', 'add', '-q', '-b', 'coven/w1', wt);
  const r = await coven(['hooks', 'install'], { cwd: wt });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /core\.hooksPath = \.githooks/);
  assert.ok(readFileSync(join(repo, '.githooks', 'post-commit'), 'utf8').includes('# coven-hook'));
  assert.ok(existsSync(join(repo, '.githooks', 'post-commit.coven-chained')));
  assert.not.ok(existsSync(join(repo, '.git', 'hooks', 'post-commit')), 'not in the default folder git ignores now');
  await commitFile(repo, 'a.txt', 'a');
  assert.ok(existsSync(wake(repo)));
  assert.ok(existsSync(marker), 'the user hook ran too');
});

test('an absolute core.hooksPath is respected', async () => {
  const repo = await tempRepo();
  const dir = join(tempDir(), 'shared-hooks');
  await sh(repo, 'config', 'core.hooksPath', dir);
  await installHooks(repo);
  assert.ok(existsSync(join(dir, 'post-merge')));
  await commitFile(repo, 'a.txt', 'a');
  assert.ok(existsSync(wake(repo)));
});

test('coven hooks status: not installed (3), installed (0), modified (3)', async () => {
  const repo = await tempRepo();
  const before = await coven(['hooks', 'status'], { cwd: repo });
  assert.is(before.code, 3);
  assert.match(before.stdout, /post-commit: not-installed/);
  await installHooks(repo);
  const after = await coven(['hooks', 'status', '--json'], { cwd: repo });
  assert.is(after.code, 0);
  const json = JSON.parse(after.stdout) as { main_branch: string; hooks: Array<{ state: string }> };
  assert.is(json.main_branch, 'main');
  assert.equal(json.hooks.map((h) => h.state), ['installed', 'installed']);
  const hook = join(repo, '.git', 'hooks', 'post-merge');
  writeFileSync(hook, readFileSync(hook, 'utf8') + 'echo edited\n');
  const edited = await hooksStatus(repo);
  assert.equal(edited.kind === 'status' && edited.hooks.map((h) => h.state), ['installed', 'modified']);
  const fixed = await installHooks(repo);
  assert.equal(fixed.kind === 'installed' && fixed.hooks.map((h) => h.action), ['unchanged', 'updated']);
});

test('install refuses, changing nothing, when a foreign hook and a leftover .coven-chained both exist', async () => {
  const repo = await tempRepo();
  const hooks = join(repo, '.git', 'hooks');
  userHook(hooks, 'post-merge', join(tempDir(), 'ran'));
  userHook(hooks, 'post-merge.coven-chained', join(tempDir(), 'ran'));
  const before = snapshot(hooks);
  const r = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(r.code, 4);
  assert.match(r.stderr, /Nothing was changed/);
  assert.equal(snapshot(hooks), before);
});

test('install refuses when the main worktree is detached, unless told the main branch', async () => {
  const repo = await tempRepo();
  await sh(repo, 'switch', '-q', '--detach');
  const r = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(r.code, 4);
  assert.match(r.stderr, /no branch checked out/);
  assert.not.ok(existsSync(join(repo, '.git', 'hooks', 'post-commit')));
  const told = await coven(['hooks', 'install', '--main-branch', 'main'], { cwd: repo });
  assert.is(told.code, 0, told.stderr);
});

test('coven init installs the hooks (and --no-hooks does not)', async () => {
  const repo = await tempRepo();
  const skipped = await coven(['init', '--no-hooks'], { cwd: repo });
  assert.is(skipped.code, 0, skipped.stderr);
  assert.not.ok(existsSync(join(repo, '.git', 'hooks', 'post-commit')));
  const r = await coven(['init'], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /hooks +post-commit, post-merge installed in .*\(main branch: main\)/);
  const status = await hooksStatus(repo);
  assert.equal(status.kind === 'status' && status.hooks.map((h) => h.state), ['installed', 'installed']);
});

test('coven hooks outside a repository says so (exit 2)', async () => {
  const r = await coven(['hooks', 'status'], { cwd: tempDir() });
  assert.is(r.code, 2);
  assert.match(r.stderr, /not inside a git work tree/);
});

test.run();
