import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { localUpstreamOf } from '../scripts/lib/git/main-branch.js';
import { spawnWorktree } from '../scripts/lib/worktree/spawn.js';
import { commitFile, coven, covenBin, run, sh, tempDir, tempRepo, type Run } from './helpers/repo.js';

function write(dir: string, path: string, content: string): string {
  const full = join(dir, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
  return full;
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').pop() ?? '';
}

/** A new worktree base folder that does not exist yet. */
function freshBase(): string {
  return join(tempDir('coven-base-'), 'worktrees');
}

function spawn(cwd: string, base: string, ...args: string[]): Promise<Run> {
  return coven(['spawn', '--worktree-base', base, ...args], { cwd });
}

/** Everything a refusal must leave alone: branches, worktrees, local config. */
async function snapshot(repo: string): Promise<string> {
  const branches = await sh(repo, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads/');
  const worktrees = await sh(repo, 'worktree', 'list', '--porcelain');
  const config = await sh(repo, 'config', '--local', '--list');
  return [branches, worktrees, config].join('\n--\n');
}

async function assertRefused(repo: string, base: string, r: Run, code: number, message: RegExp, before: string): Promise<void> {
  assert.is(r.code, code, r.stderr);
  assert.match(r.stderr, message);
  assert.match(r.stderr, /Nothing was created or changed|removed again/);
  assert.is(r.stdout, '');
  assert.is(await snapshot(repo), before);
  assert.not.ok(existsSync(base), `${base} should not have been created`);
}

test('spawns a branch and worktree from the main branch, tracking it, and prints the path last', async () => {
  const repo = await tempRepo('app');
  const base = freshBase();
  const r = await spawn(repo, base, 'coven/brave-otter');
  assert.is(r.code, 0, r.stderr);
  const path = join(base, 'app', 'coven', 'brave-otter');
  assert.is(lastLine(r.stdout), path);
  assert.match(r.stderr, /spawned coven\/brave-otter from main/);
  assert.is(await sh(path, 'rev-parse', 'HEAD'), await sh(repo, 'rev-parse', 'main'));
  assert.is(await sh(path, 'branch', '--show-current'), 'coven/brave-otter');
  assert.is(await localUpstreamOf(repo, 'coven/brave-otter'), 'main');
  assert.is(readFileSync(join(path, 'README.md'), 'utf8'), '# test\n');
});

test('another git command holding .git/config.lock for a moment (a worker starting alongside) does not stop the spawn', async () => {
  const repo = await tempRepo();
  const lock = join(repo, '.git', 'config.lock');
  writeFileSync(lock, '');
  setTimeout(() => rmSync(lock), 150);
  const r = await spawnWorktree({ cwd: repo, branch: 'coven/w1', base: freshBase() });
  assert.is(r.kind, 'spawned', JSON.stringify(r));
  assert.is(await localUpstreamOf(repo, 'coven/w1'), 'main');
});

test('five spawns at once (workers started together) all succeed, each branch tracking main', async () => {
  const repo = await tempRepo('app');
  const base = freshBase();
  const many = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => spawnWorktree({ cwd: repo, branch: `coven/${n}`, base })));
  assert.equal(
    many.map((r) => r.kind),
    ['spawned', 'spawned', 'spawned', 'spawned', 'spawned'],
    JSON.stringify(many.filter((r) => r.kind !== 'spawned')),
  );
  for (const n of ['a', 'b', 'c', 'd', 'e']) assert.is(await localUpstreamOf(repo, `coven/${n}`), 'main');
});

test('the main branch is whatever the main worktree has checked out', async () => {
  const repo = await tempRepo('app');
  await sh(repo, 'branch', '-m', 'main', 'trunk');
  await commitFile(repo, 'trunk.txt', 'on trunk');
  const base = freshBase();
  const r = await spawn(repo, base, 'w1');
  assert.is(r.code, 0, r.stderr);
  const path = lastLine(r.stdout);
  assert.is(await localUpstreamOf(repo, 'w1'), 'trunk');
  assert.ok(existsSync(join(path, 'trunk.txt')));
});

test('--from starts from another branch and makes it the upstream', async () => {
  const repo = await tempRepo('app');
  await sh(repo, 'switch', '-q', '-c', 'release');
  const tip = await commitFile(repo, 'release.txt', 'r');
  await sh(repo, 'switch', '-q', 'main');
  const base = freshBase();
  const r = await spawn(repo, base, 'w1', '--from', 'release');
  assert.is(r.code, 0, r.stderr);
  assert.is(await sh(lastLine(r.stdout), 'rev-parse', 'HEAD'), tip);
  assert.is(await localUpstreamOf(repo, 'w1'), 'release');
});

test('COVEN_WORKTREE_BASE is the base when there is no --worktree-base', async () => {
  const repo = await tempRepo('app');
  const base = freshBase();
  const r = await coven(['spawn', 'w1'], { cwd: repo, env: { COVEN_WORKTREE_BASE: base } });
  assert.is(r.code, 0, r.stderr);
  assert.is(lastLine(r.stdout), join(base, 'app', 'w1'));
});

test('ignored files arrive: .env, nested folders, a symlink, an executable bit, modification times', async () => {
  const repo = await tempRepo('app');
  await commitFile(repo, '.gitignore', 'node_modules/\n.env\n*.log\n');
  write(repo, '.env', 'SECRET=1\n');
  const cli = write(repo, 'node_modules/@scope/tool/bin/cli.js', '#!/usr/bin/env node\n');
  chmodSync(cli, 0o755);
  write(repo, 'node_modules/@scope/tool/lib/deep/er/index.js', 'module.exports = 1;\n');
  mkdirSync(join(repo, 'node_modules/.bin'));
  symlinkSync('../@scope/tool/bin/cli.js', join(repo, 'node_modules/.bin/tool'));
  write(repo, 'src/gen/out.log', 'log');
  const old = new Date('2021-06-01T12:00:00Z');
  utimesSync(cli, old, old);
  utimesSync(join(repo, 'node_modules/@scope/tool/lib'), old, old);

  const base = freshBase();
  const r = await spawn(repo, base, 'w1');
  assert.is(r.code, 0, r.stderr);
  const wt = lastLine(r.stdout);
  assert.is(readFileSync(join(wt, '.env'), 'utf8'), 'SECRET=1\n');
  assert.is(readFileSync(join(wt, 'node_modules/@scope/tool/lib/deep/er/index.js'), 'utf8'), 'module.exports = 1;\n');
  assert.is(readFileSync(join(wt, 'src/gen/out.log'), 'utf8'), 'log');
  const link = join(wt, 'node_modules/.bin/tool');
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.is(readlinkSync(link), '../@scope/tool/bin/cli.js');
  const copiedCli = join(wt, 'node_modules/@scope/tool/bin/cli.js');
  assert.is(statSync(copiedCli).mode & 0o777, 0o755);
  assert.is(statSync(join(wt, 'node_modules/@scope/tool/lib/deep/er/index.js')).mode & 0o111, 0);
  assert.is(statSync(copiedCli).mtimeMs, old.getTime());
  assert.is(statSync(join(wt, 'node_modules/@scope/tool/lib')).mtimeMs, old.getTime());
  assert.match(r.stderr, /copied 3 ignored entries \(5 files/);
  // the copy is a copy: editing it leaves the main worktree's file alone
  writeFileSync(join(wt, '.env'), 'SECRET=2\n');
  assert.is(readFileSync(join(repo, '.env'), 'utf8'), 'SECRET=1\n');
});

test('the typed result counts what was copied', async () => {
  const repo = await tempRepo('app');
  await commitFile(repo, '.gitignore', '.env\nnode_modules/\n');
  write(repo, '.env', '12345');
  write(repo, 'node_modules/a/index.js', '1234567890');
  symlinkSync('a/index.js', join(repo, 'node_modules/link.js'));
  const base = freshBase();
  const r = await spawnWorktree({ cwd: repo, branch: 'w1', base });
  assert.is(r.kind, 'spawned');
  if (r.kind !== 'spawned') return;
  assert.is(r.path, join(base, 'app', 'w1'));
  assert.is(r.main, 'main');
  assert.is(r.copied.entries, 2);
  assert.is(r.copied.files, 3);
  assert.is(r.copied.bytes, 15);
  assert.ok(r.copied.method === 'copy' || r.copied.method === 'clone', r.copied.method);
});

test('tracked files are not re-copied; untracked files that are not ignored are not copied', async () => {
  const repo = await tempRepo('app');
  await commitFile(repo, '.gitignore', 'build/\n');
  write(repo, 'build/keep.txt', 'committed');
  await sh(repo, 'add', '-f', 'build/keep.txt');
  await sh(repo, 'commit', '-q', '-m', 'keep');
  write(repo, 'build/keep.txt', 'edited in main, not committed');
  write(repo, 'build/out.o', 'object');
  write(repo, 'README.md', 'edited in main\n');
  write(repo, 'notes.txt', 'untracked, not ignored');
  write(repo, 'drafts/idea.md', 'untracked folder');

  const base = freshBase();
  const r = await spawn(repo, base, 'w1');
  assert.is(r.code, 0, r.stderr);
  const wt = lastLine(r.stdout);
  assert.is(readFileSync(join(wt, 'build/out.o'), 'utf8'), 'object');
  assert.is(readFileSync(join(wt, 'build/keep.txt'), 'utf8'), 'committed');
  assert.is(readFileSync(join(wt, 'README.md'), 'utf8'), '# test\n');
  assert.not.ok(existsSync(join(wt, 'notes.txt')));
  assert.not.ok(existsSync(join(wt, 'drafts')));
  assert.is(await sh(wt, 'status', '--porcelain'), '');
});

test('an ignored file the branch still has is left as checked out, and the summary says so (not "copied")', async () => {
  const repo = await tempRepo('app');
  await commitFile(repo, '.env', 'COMMITTED=1\n');
  // untracked in the main worktree only (the deletion is not committed), then ignored and edited
  await sh(repo, 'rm', '-q', '--cached', '.env');
  write(repo, '.gitignore', '.env\n');
  write(repo, '.env', 'MINE=1\n');
  const base = freshBase();
  const r = await spawn(repo, base, 'w1');
  assert.is(r.code, 0, r.stderr);
  const wt = lastLine(r.stdout);
  assert.is(readFileSync(join(wt, '.env'), 'utf8'), 'COMMITTED=1\n', 'the copy never overwrites a checked-out file');
  assert.is(readFileSync(join(repo, '.env'), 'utf8'), 'MINE=1\n');
  assert.match(r.stderr, /spawned w1 from main; 1 ignored entry left as checked out \(the branch has it, not copied over\): \.env\n/);
  assert.not.match(r.stderr, /copied \d/);
  const typed = await spawnWorktree({ cwd: repo, branch: 'w2', base });
  assert.is(typed.kind, 'spawned');
  if (typed.kind === 'spawned') assert.equal([typed.copied.entries, typed.copied.checkedOut], [0, ['.env']]);
});

test('.worktreeinclude limits the copy: nested patterns, negations, folder patterns', async () => {
  const repo = await tempRepo('app');
  await commitFile(repo, '.gitignore', 'node_modules/\n.env*\nbuild/\nconfig/\n**/.cache/\ntmp/\n');
  await commitFile(
    repo,
    '.worktreeinclude',
    ['# what a worker needs', '.env*', '!.env.example', 'node_modules/*', '!node_modules/huge/', 'build/', 'config/*.local', '**/.cache/', 'notes.txt', ''].join('\n'),
  );
  for (const f of ['.env', '.env.local', '.env.example', 'node_modules/small/i.js', 'node_modules/huge/big.bin', 'build/out.o', 'config/db.local', 'config/db.prod', 'pkg/a/.cache/c.json', 'tmp/scratch', 'notes.txt']) {
    write(repo, f, f);
  }
  const base = freshBase();
  const r = await spawn(repo, base, 'w1');
  assert.is(r.code, 0, r.stderr);
  const wt = lastLine(r.stdout);
  for (const f of ['.env', '.env.local', 'node_modules/small/i.js', 'build/out.o', 'config/db.local', 'pkg/a/.cache/c.json']) {
    assert.is(readFileSync(join(wt, f), 'utf8'), f, `${f} should be copied`);
  }
  // excluded by a negation, not matched, or not ignored at all (notes.txt is untracked)
  for (const f of ['.env.example', 'node_modules/huge', 'config/db.prod', 'tmp', 'notes.txt']) {
    assert.not.ok(existsSync(join(wt, f)), `${f} should not be copied`);
  }
});

test('an empty .worktreeinclude copies nothing', async () => {
  const repo = await tempRepo('app');
  await commitFile(repo, '.gitignore', '.env\n');
  await commitFile(repo, '.worktreeinclude', '');
  write(repo, '.env', 'x');
  const r = await spawn(repo, freshBase(), 'w1');
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(existsSync(join(lastLine(r.stdout), '.env')));
  assert.match(r.stderr, /no ignored files to copy/);
});

test('run from inside another worktree: same project folder, files from the main worktree', async () => {
  const repo = await tempRepo('app');
  await commitFile(repo, '.gitignore', '.env\nlocal/\n');
  write(repo, '.env', 'from main');
  const base = freshBase();
  const first = lastLine((await spawn(repo, base, 'w1')).stdout);
  write(first, 'local/only-in-w1', 'x');
  writeFileSync(join(first, '.env'), 'edited in w1');
  await commitFile(first, 'w1.txt', 'w1 work');

  const r = await spawn(first, base, 'w2');
  assert.is(r.code, 0, r.stderr);
  const second = lastLine(r.stdout);
  assert.is(second, join(base, 'app', 'w2'));
  assert.is(readFileSync(join(second, '.env'), 'utf8'), 'from main');
  assert.not.ok(existsSync(join(second, 'local')));
  assert.not.ok(existsSync(join(second, 'w1.txt')), 'starts from main, not from w1');
  assert.is(await localUpstreamOf(repo, 'w2'), 'main');
});

test('worktrees kept in an ignored folder of the main worktree are not copied into the new one', async () => {
  const repo = await tempRepo('app');
  await commitFile(repo, '.gitignore', '.worktrees/\n.env\n');
  write(repo, '.env', 'x');
  write(repo, '.worktrees/notes.txt', 'kept next to the worktrees');
  const base = join(repo, '.worktrees');
  const w1 = lastLine((await spawn(repo, base, 'w1')).stdout);
  write(w1, 'big-work-in-progress.txt', 'w1');
  const r = await spawn(repo, base, 'w2');
  assert.is(r.code, 0, r.stderr);
  const w2 = lastLine(r.stdout);
  assert.ok(existsSync(join(w2, '.env')));
  assert.ok(existsSync(join(w2, '.worktrees/notes.txt')));
  assert.not.ok(existsSync(join(w2, '.worktrees/app/w1')), 'w1 must not be copied into w2');
  assert.not.ok(existsSync(join(w2, '.worktrees/app/w2')), 'w2 must not be copied into itself');
});

test('refuses outside a git repository (exit 2, as every command)', async () => {
  const dir = tempDir();
  const base = freshBase();
  const r = await spawn(dir, base, 'w1');
  assert.is(r.code, 2);
  assert.match(r.stderr, /is not inside a git repository/);
  assert.not.ok(existsSync(base));
});

test('refuses a bare repository (not a work tree: exit 2, as every command)', async () => {
  const dir = join(tempDir(), 'bare.git');
  await run('git', ['init', '-q', '--bare', dir]);
  const before = await sh(dir, 'for-each-ref');
  const base = freshBase();
  const r = await spawn(dir, base, 'w1');
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /bare repository/);
  assert.is(await sh(dir, 'for-each-ref'), before);
  assert.not.ok(existsSync(base));
});

test('refuses a repository with no commits', async () => {
  const repo = await tempRepo('app', { commit: false });
  const before = await snapshot(repo);
  const base = freshBase();
  await assertRefused(repo, base, await spawn(repo, base, 'w1'), 4, /main branch 'main' has no commits yet/, before);
  assert.is(await sh(repo, 'branch', '--list'), '');
});

test('refuses when the main worktree is on a detached HEAD, unless --from names a branch', async () => {
  const repo = await tempRepo('app');
  await sh(repo, 'switch', '-q', '--detach');
  const before = await snapshot(repo);
  const base = freshBase();
  await assertRefused(repo, base, await spawn(repo, base, 'w1'), 4, /no branch checked out \(detached HEAD\)/, before);
  const r = await spawn(repo, base, 'w1', '--from', 'main');
  assert.is(r.code, 0, r.stderr);
});

test('refuses an existing branch, and a name that collides with one (a vs a/b)', async () => {
  const repo = await tempRepo('app');
  await sh(repo, 'branch', 'taken');
  await sh(repo, 'branch', 'coven/brave-otter');
  const before = await snapshot(repo);
  const base = freshBase();
  await assertRefused(repo, base, await spawn(repo, base, 'taken'), 2, /branch 'taken' already exists/, before);
  await assertRefused(repo, base, await spawn(repo, base, 'taken/sub'), 2, /branch 'taken' exists/, before);
  await assertRefused(repo, base, await spawn(repo, base, 'coven'), 2, /branch 'coven\/brave-otter' exists/, before);
  const typed = await spawnWorktree({ cwd: repo, branch: 'taken/sub', base });
  assert.equal(typed, { kind: 'branch-exists', branch: 'taken/sub', existing: 'taken' });
});

test('refuses when the worktree folder already exists, and leaves it untouched', async () => {
  const repo = await tempRepo('app');
  const base = freshBase();
  const path = join(base, 'app', 'w1');
  write(path, 'mine.txt', 'do not touch');
  const before = await snapshot(repo);
  const r = await spawn(repo, base, 'w1');
  assert.is(r.code, 2);
  assert.match(r.stderr, /already exists/);
  assert.match(r.stderr, /that folder is untouched/);
  assert.is(await snapshot(repo), before);
  assert.is(readFileSync(join(path, 'mine.txt'), 'utf8'), 'do not touch');
});

test('refuses invalid branch names', async () => {
  const repo = await tempRepo('app');
  const before = await snapshot(repo);
  const base = freshBase();
  for (const name of ['bad..name', 'has space', '-x', '@{-1}', 'ends.lock', 'a/.hidden']) {
    await assertRefused(repo, base, await spawn(repo, base, '--', name), 3, /is not a valid branch name/, before);
  }
});

test('refuses an unknown --from branch', async () => {
  const repo = await tempRepo('app');
  const before = await snapshot(repo);
  const base = freshBase();
  await assertRefused(repo, base, await spawn(repo, base, 'w1', '--from', 'nope'), 3, /--from nope: there is no local branch/, before);
});

test('when copying fails (file too large / disk full) the new worktree and branch are removed again', async () => {
  const repo = await tempRepo('app');
  await commitFile(repo, '.gitignore', 'node_modules/\n');
  for (let i = 0; i < 40; i++) write(repo, `node_modules/p${i}/index.js`, 'small');
  write(repo, 'node_modules/p7/huge.bin', 'x'.repeat(256 * 1024));
  const before = await snapshot(repo);
  const base = freshBase();
  // a 64 KiB limit on the size of any file written: git's own files fit, huge.bin does not
  const r = await run('/bin/sh', ['-c', 'ulimit -f 128 && exec "$@"', 'sh', process.execPath, covenBin, 'spawn', 'w1', '--worktree-base', base], { cwd: repo });
  assert.is(r.code, 6, r.stderr);
  assert.match(r.stderr, /copying the main worktree's ignored files into .* failed \(disk full or file too large\)/);
  assert.match(r.stderr, /held nothing but copies and were removed again/);
  assert.is(await snapshot(repo), before);
  assert.not.ok(existsSync(base), 'the folders created for the worktree are removed too');
  assert.ok(existsSync(join(repo, 'node_modules/p7/huge.bin')), 'the main worktree keeps its files');
});

test('a post-checkout hook that fails: the finished worktree and its branch are removed again, as for any failed add', async () => {
  const repo = await tempRepo('app');
  writeFileSync(join(repo, '.git', 'hooks', 'post-checkout'), '#!/bin/sh\necho "hook says no" >&2\nexit 1\n', { mode: 0o755 });
  const before = await snapshot(repo);
  const base = freshBase();
  const r = await spawn(repo, base, 'w1');
  assert.is(r.code, 5, r.stderr);
  assert.match(r.stderr, /hook says no/);
  assert.match(r.stderr, /Nothing this spawn made is left: a branch 'w1' or folder it created was removed again/);
  assert.is(await snapshot(repo), before);
  assert.not.ok(existsSync(base));
});

test('usage: --help, a missing branch, an unknown option', async () => {
  const help = await coven(['spawn', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /usage: coven spawn <branch>/);
  assert.match(help.stdout, /exit:/);
  const missing = await coven(['spawn']);
  assert.is(missing.code, 64);
  assert.is(missing.stderr, 'coven spawn: missing <branch>\ncoven spawn --help shows the usage.\n');
  const unknown = await coven(['spawn', 'w1', '--frm', 'x']);
  assert.is(unknown.code, 64);
  assert.match(unknown.stderr, /unknown option --frm/);
  const noValue = await coven(['spawn', 'w1', '--worktree-base']);
  assert.is(noValue.code, 64);
});

test.run();
