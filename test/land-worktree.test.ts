// land-worktree — real git in temporary repositories: lands, refusals, conflicts, the
// user's files in the main worktree, and several workers landing at the same moment.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { landWorktree, syncWorktreeWithMain, unlandedCommits } from '../scripts/lib/land/land.js';
import { describeLand } from '../scripts/lib/land/messages.js';
import { fastForwardBlockers, parseNameStatusZ, type OnDisk } from '../scripts/lib/land/ff-blockers.js';
import { spawn as spawn_ } from 'node:child_process';
import { currentProcess } from '../scripts/lib/locks/process-identity.js';
import { gitWrapper, withGitWrapper } from './helpers/git-wrapper.js';
import { parseStatusV2Z } from '../scripts/lib/git/runner.js';
import { commitFile, coven, run, sh, tempDir, tempRepo, distRoot } from './helpers/repo.js';

/** A worker worktree as spawn-worktree makes it: branch coven/<name> tracking main. */
async function spawn(repo: string, name: string, base = 'main'): Promise<string> {
  const wt = join(tempDir('coven-wt-'), name);
  await sh(repo, 'worktree', 'add', '-q', '--track', '-b', `coven/${name}`, wt, base);
  return wt;
}

/** Commits a file even where .gitignore would hide it (an agent may track such a file). */
async function commitForced(dir: string, path: string, content: string): Promise<void> {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), content);
  await sh(dir, 'add', '-f', '--', path);
  await sh(dir, 'commit', '-q', '-m', `track ${path}`);
}

const read = (dir: string, path: string) => readFileSync(join(dir, path), 'utf8');
const log = async (dir: string, rev = 'main') => (await sh(dir, 'log', '--format=%s', rev)).split('\n');
const branchExists = async (repo: string, b: string) => (await run('git', ['rev-parse', '--verify', '--quiet', `refs/heads/${b}`], { cwd: repo })).code === 0;

test('lands one commit: main and the user checkout move, worktree and branch removed', async () => {
  const repo = await tempRepo();
  const wt = await spawn(repo, 'w1');
  const c = await commitFile(wt, 'src/a.txt', 'agent\n', 'add a');
  const r = await coven(['land', '--worktree', wt]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /landed 1 commit from coven\/w1 on main/);
  assert.is(await sh(repo, 'rev-parse', 'main'), c);
  assert.is(read(repo, 'src/a.txt'), 'agent\n');
  assert.is(await sh(repo, 'status', '--porcelain'), '');
  assert.not.ok(existsSync(wt), 'worktree removed');
  assert.not.ok(await branchExists(repo, 'coven/w1'), 'branch removed');
});

test('lands five commits after main moved: order and content kept, history linear', async () => {
  const repo = await tempRepo();
  const wt = await spawn(repo, 'w5');
  for (let i = 1; i <= 5; i++) await commitFile(wt, `f${i}.txt`, `v${i}\n`, `commit ${i}`);
  await commitFile(repo, 'other.txt', 'user\n', 'user commit');
  const r = await landWorktree({ worktree: wt, keep: true });
  assert.is(r.kind, 'landed');
  if (r.kind !== 'landed') return;
  assert.is(r.commits, 5);
  assert.is(r.onto, 'main');
  assert.is(r.main, await sh(repo, 'rev-parse', 'main'));
  assert.equal(await log(repo), ['commit 5', 'commit 4', 'commit 3', 'commit 2', 'commit 1', 'user commit', 'initial commit']);
  assert.is(await sh(repo, 'rev-list', '--merges', 'main'), '');
  for (let i = 1; i <= 5; i++) assert.is(read(repo, `f${i}.txt`), `v${i}\n`);
  assert.is(read(repo, 'other.txt'), 'user\n');
  assert.is(await sh(wt, 'rev-parse', 'HEAD'), r.main, 'the worker branch is main now');
  assert.ok(existsSync(wt), 'kept');
});

test('a user who moved main back is not overruled: the commits they dropped do not land again', async () => {
  const repo = await tempRepo();
  await commitFile(repo, 'oops.txt', 'a mistake\n', 'a commit the user will drop');
  const wt = await spawn(repo, 'w1'); // the worker branch is based on the commit to be dropped
  await commitFile(wt, 'agent.txt', 'agent\n', 'agent work');
  await sh(repo, 'reset', '-q', '--hard', 'HEAD~1');
  const r = await landWorktree({ worktree: wt, keep: true });
  assert.is(r.kind, 'landed', JSON.stringify(r));
  assert.equal(await log(repo), ['agent work', 'initial commit']);
  assert.is(existsSync(join(repo, 'oops.txt')), false);
  const kept = await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/rewound/');
  assert.match(kept, /^refs\/coven\/rewound\/w1\//);
  assert.equal(await log(repo, kept), ['agent work', 'a commit the user will drop', 'initial commit'], 'the branch as it was is kept');
  assert.is(r.kind === 'landed' && r.leftOut, kept, 'the land says what it left out, and where the branch as it was is kept');
  assert.match(describeLand(r, { self: 'coven land', againArgs: [] }).text, new RegExp(`main was moved back .* kept as ${kept}`));
});

test('a branch the user moved commits onto before moving main back (no upstream) lands them: only its upstream is read as rewound', async () => {
  const repo = await tempRepo();
  await commitFile(repo, 'x.txt', 'belongs on a branch\n', 'committed on main by mistake');
  await sh(repo, 'branch', 'feat'); // "move it to a branch": branch here, then take main back
  await sh(repo, 'reset', '-q', '--hard', 'HEAD~1');
  const wt = join(tempDir('coven-wt-'), 'feat');
  await sh(repo, 'worktree', 'add', '-q', wt, 'feat');
  await commitFile(wt, 'f.txt', 'more\n', 'more work on the branch');
  const r = await coven(['land', '--worktree', wt]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.equal(await log(repo), ['more work on the branch', 'committed on main by mistake', 'initial commit']);
  assert.is(read(repo, 'x.txt'), 'belongs on a branch\n');
});

test('nothing to land is its own result and exits 0', async () => {
  const repo = await tempRepo();
  const wt = await spawn(repo, 'idle');
  const r = await landWorktree({ worktree: wt, keep: true });
  assert.is(r.kind, 'nothing-to-land');
  const cli = await coven(['land', '--keep'], { cwd: wt });
  assert.is(cli.code, 0);
  assert.match(cli.stdout, /nothing to land/);
  assert.ok(existsSync(wt));
});

test('a dirty worktree is refused with its files listed and nothing changed', async () => {
  const repo = await tempRepo();
  const wt = await spawn(repo, 'dirty');
  await commitFile(wt, 'a.txt', 'one\n');
  const before = await sh(repo, 'rev-parse', 'main');
  writeFileSync(join(wt, 'a.txt'), 'unstaged\n');
  writeFileSync(join(wt, 'staged.txt'), 'staged\n');
  await sh(wt, 'add', 'staged.txt');
  writeFileSync(join(wt, 'new.txt'), 'untracked\n');
  const r = await landWorktree({ worktree: wt, keep: false });
  assert.is(r.kind, 'dirty');
  if (r.kind === 'dirty') assert.equal([...r.files].sort(), ['a.txt', 'new.txt', 'staged.txt']);
  const cli = await coven(['land', '--worktree', wt]);
  assert.is(cli.code, 2);
  assert.match(cli.stderr, /uncommitted changes/);
  assert.match(cli.stderr, /new\.txt/);
  assert.is(await sh(repo, 'rev-parse', 'main'), before);
  assert.is(read(wt, 'a.txt'), 'unstaged\n');
  assert.ok(existsSync(wt));
});

test('a conflict leaves main untouched, names the files and leaves the rebase in progress', async () => {
  const repo = await tempRepo();
  await commitFile(repo, 'shared.txt', 'base\n');
  const wt = await spawn(repo, 'clash');
  const mine = await commitFile(wt, 'shared.txt', 'worker\n', 'worker edit');
  const theirs = await commitFile(repo, 'shared.txt', 'user\n', 'user edit');
  const cli = await coven(['land', '--worktree', wt]);
  assert.is(cli.code, 3, cli.stderr);
  assert.match(cli.stderr, /shared\.txt/);
  assert.match(cli.stderr, /git rebase --continue/);
  assert.match(cli.stderr, /git rebase --abort/);
  assert.is(await sh(repo, 'rev-parse', 'main'), theirs, 'main untouched');
  assert.is(read(repo, 'shared.txt'), 'user\n');
  assert.ok(existsSync(join(await sh(wt, 'rev-parse', '--absolute-git-dir'), 'rebase-merge')), 'rebase in progress');
  assert.is(await sh(wt, 'diff', '--name-only', '--diff-filter=U'), 'shared.txt');
  assert.is(await sh(wt, 'rev-parse', 'REBASE_HEAD'), mine);

  // the typed result of landing again: the rebase is still in progress
  const again = await landWorktree({ worktree: wt, keep: true });
  assert.is(again.kind, 'in-progress');
  if (again.kind === 'in-progress') {
    assert.is(again.operation, 'rebase');
    assert.is(again.branch, 'coven/clash');
  }
  const cliAgain = await coven(['land', '--worktree', wt]);
  assert.is(cliAgain.code, 1);
  assert.match(cliAgain.stderr, /rebase is in progress/);

  // resolving and landing again works, and nothing was lost
  writeFileSync(join(wt, 'shared.txt'), 'both\n');
  await sh(wt, 'add', 'shared.txt');
  await run('git', ['-c', 'core.editor=true', 'rebase', '--continue'], { cwd: wt });
  const done = await landWorktree({ worktree: wt, keep: true });
  assert.is(done.kind, 'landed');
  assert.equal(await log(repo), ['worker edit', 'user edit', 'edit shared.txt', 'initial commit']);
  assert.is(read(repo, 'shared.txt'), 'both\n');
});

test("a land never overwrites the user's unsaved edit in the main worktree", async () => {
  const repo = await tempRepo();
  await commitFile(repo, 'app.ts', 'v1\n');
  const wt = await spawn(repo, 'edit');
  await commitFile(wt, 'app.ts', 'agent\n');
  const before = await sh(repo, 'rev-parse', 'main');
  writeFileSync(join(repo, 'app.ts'), 'unsaved\n');
  const r = await landWorktree({ worktree: wt, keep: false });
  assert.is(r.kind, 'main-blocked');
  if (r.kind === 'main-blocked') {
    assert.equal(r.files, ['app.ts']);
    assert.is(r.mainWorktree, repo);
  }
  assert.is(read(repo, 'app.ts'), 'unsaved\n');
  assert.is(await sh(repo, 'rev-parse', 'main'), before);
  assert.ok(existsSync(wt), 'worktree kept');
  const cli = await coven(['land', '--worktree', wt]);
  assert.is(cli.code, 4);
  assert.match(cli.stderr, /app\.ts/);
  assert.match(cli.stderr, /main and your files were not changed/);
  assert.is(read(repo, 'app.ts'), 'unsaved\n');
});

test('a file in main\'s checkout only touched (time changed, content not) does not block the land; a really changed one still does', async () => {
  const repo = await tempRepo();
  await commitFile(repo, 'app.ts', 'v1\n');
  await commitFile(repo, 'lib.ts', 'v1\n');
  const wt = await spawn(repo, 'touched');
  await commitFile(wt, 'app.ts', 'agent\n');
  const old = new Date('2001-01-01T00:00:00Z');
  utimesSync(join(repo, 'app.ts'), old, old); // the index's stat data no longer matches: only git's content check says "unchanged"
  const r = await landWorktree({ worktree: wt, keep: true });
  assert.is(r.kind, 'landed', JSON.stringify(r));
  assert.is(read(repo, 'app.ts'), 'agent\n');
  assert.is(await sh(repo, 'status', '--porcelain'), '');

  await commitFile(wt, 'lib.ts', 'agent\n');
  writeFileSync(join(repo, 'lib.ts'), 'v1 and the user edit\n');
  utimesSync(join(repo, 'lib.ts'), old, old);
  const blocked = await landWorktree({ worktree: wt, keep: true });
  assert.is(blocked.kind, 'main-blocked', JSON.stringify(blocked));
  if (blocked.kind === 'main-blocked') assert.equal(blocked.files, ['lib.ts']);
  assert.is(read(repo, 'lib.ts'), 'v1 and the user edit\n');
});

test('an untracked or an ignored file where the land adds one blocks it and is left intact', async () => {
  const repo = await tempRepo();
  await commitFile(repo, '.gitignore', 'secret.env\nbuild/\n');
  const wt = await spawn(repo, 'adds');
  await commitFile(wt, 'notes.md', 'agent notes\n');
  await commitForced(wt, 'secret.env', 'agent=1\n');
  await commitForced(wt, 'build/out.js', 'agent build\n');
  const before = await sh(repo, 'rev-parse', 'main');
  writeFileSync(join(repo, 'notes.md'), 'my notes\n');
  writeFileSync(join(repo, 'secret.env'), 'TOKEN=mine\n');
  mkdirSync(join(repo, 'build'));
  writeFileSync(join(repo, 'build', 'out.js'), 'my build\n');
  const r = await landWorktree({ worktree: wt, keep: true });
  assert.is(r.kind, 'main-blocked');
  if (r.kind === 'main-blocked') assert.equal(r.files, ['build/out.js', 'notes.md', 'secret.env']);
  assert.is(read(repo, 'notes.md'), 'my notes\n');
  assert.is(read(repo, 'secret.env'), 'TOKEN=mine\n');
  assert.is(read(repo, 'build/out.js'), 'my build\n');
  assert.is(await sh(repo, 'rev-parse', 'main'), before);
});

test('an ignored file alone blocks the land (git would overwrite it silently)', async () => {
  const repo = await tempRepo();
  await commitFile(repo, '.gitignore', '*.local\n');
  const wt = await spawn(repo, 'ign');
  await commitForced(wt, 'db.local', 'agent\n');
  writeFileSync(join(repo, 'db.local'), 'precious\n');
  const r = await landWorktree({ worktree: wt, keep: true });
  assert.is(r.kind, 'main-blocked');
  assert.is(read(repo, 'db.local'), 'precious\n');
});

test('a file where the land needs a folder, or a folder where it needs a file, blocks it', async () => {
  const repo = await tempRepo();
  const wt = await spawn(repo, 'shapes');
  await commitFile(wt, 'docs/guide.md', 'agent guide\n');
  await commitFile(wt, 'tool', 'agent tool\n');
  writeFileSync(join(repo, 'docs'), 'my docs file\n');
  mkdirSync(join(repo, 'tool'));
  writeFileSync(join(repo, 'tool', 'mine.txt'), 'mine\n');
  const r = await landWorktree({ worktree: wt, keep: true });
  assert.is(r.kind, 'main-blocked');
  if (r.kind === 'main-blocked') assert.equal(r.files, ['docs', 'tool', 'tool/mine.txt']);
  assert.is(read(repo, 'docs'), 'my docs file\n');
  assert.is(read(repo, 'tool/mine.txt'), 'mine\n');
});

test("a user edit to an unrelated file does not block the land and survives it", async () => {
  const repo = await tempRepo();
  await commitFile(repo, 'mine.txt', 'v1\n');
  const wt = await spawn(repo, 'unrelated');
  await commitFile(wt, 'theirs.txt', 'agent\n');
  writeFileSync(join(repo, 'mine.txt'), 'unsaved\n');
  writeFileSync(join(repo, 'scratch.txt'), 'untracked\n');
  const r = await landWorktree({ worktree: wt, keep: true });
  assert.is(r.kind, 'landed');
  assert.is(read(repo, 'mine.txt'), 'unsaved\n');
  assert.is(read(repo, 'scratch.txt'), 'untracked\n');
  assert.is(read(repo, 'theirs.txt'), 'agent\n');
  const status = await sh(repo, 'status', '--porcelain');
  assert.match(status, /M mine\.txt/);
  assert.match(status, /\?\? scratch\.txt/);
  assert.not.match(status, /theirs/);
});

test('main not checked out anywhere is moved by compare-and-swap; the user branch is untouched', async () => {
  const repo = await tempRepo();
  const wt = await spawn(repo, 'cas');
  await sh(repo, 'switch', '-q', '-c', 'experiment');
  const exp = await commitFile(repo, 'exp.txt', 'mine\n');
  const c = await commitFile(wt, 'agent.txt', 'agent\n');
  const r = await landWorktree({ worktree: wt, keep: true });
  assert.is(r.kind, 'landed');
  assert.is(await sh(repo, 'rev-parse', 'main'), c);
  assert.is(await sh(repo, 'rev-parse', 'experiment'), exp);
  assert.is(await sh(repo, 'symbolic-ref', 'HEAD'), 'refs/heads/experiment');
  assert.not.ok(existsSync(join(repo, 'agent.txt')), "the user's checkout was not touched");
  assert.is(await sh(repo, 'status', '--porcelain'), '');
});

test("a commit of the user cannot slip between the land's file update and its ref update: main's index stays locked throughout", async () => {
  const repo = await tempRepo();
  const wt = await spawn(repo, 'w1');
  await commitFile(wt, 'agent.txt', 'agent\n', 'agent work');
  // when main's ref is about to move, look (as the user's git commit would) for index.lock,
  // and at the index: it already is the new one, so no one can read the new HEAD with the old index
  const seen = join(tempDir(), 'seen');
  const lock = join(repo, '.git', 'index.lock');
  const hook = join(repo, '.git', 'hooks', 'reference-transaction');
  writeFileSync(hook, `#!/bin/sh\n[ "$1" = prepared ] || exit 0\ngrep -q ' refs/heads/main$' || exit 0\nif [ -e '${lock}' ]; then echo locked; git -C '${repo}' ls-files agent.txt; else echo unlocked; fi >> '${seen}'\n`, { mode: 0o755 });
  const r = await landWorktree({ worktree: wt, keep: true });
  assert.is(r.kind, 'landed');
  assert.is(readFileSync(seen, 'utf8'), 'locked\nagent.txt\n');
  assert.not.ok(existsSync(join(repo, '.git', 'index.lock')), 'released afterwards');
  assert.is(await sh(repo, 'status', '--porcelain'), '', 'index and files match the new main');
  assert.is(read(repo, 'agent.txt'), 'agent\n');
  assert.equal(readdirSync(join(repo, '.git')).filter((f) => f.startsWith('coven-ff-')), [], 'no copy of the index is left');
});

test('a land lock left by a land that was killed is broken at once: the next land goes through', async () => {
  const repo = await tempRepo();
  const wt = await spawn(repo, 'w1');
  await commitFile(wt, 'a.txt', 'a\n');
  const dead = spawn_(process.execPath, ['-e', '']);
  await new Promise((r) => dead.on('exit', r));
  const me = currentProcess();
  mkdirSync(join(repo, '.git', 'coven', 'locks'), { recursive: true });
  const holder = { worker: 'coven land coven/gone', pid: dead.pid!, host: me.host, start: me.start, since: new Date().toISOString(), token: 'deadbeef' };
  writeFileSync(join(repo, '.git', 'coven', 'locks', 'land'), JSON.stringify(holder));
  const r = await landWorktree({ worktree: wt, keep: true, maxRetries: 0 });
  assert.is(r.kind, 'landed', JSON.stringify(r));
  assert.not.ok(existsSync(join(repo, '.git', 'coven', 'locks', 'land')), 'released');
});

test("git's index.lock in main's checkout, or a rebase of main there, stops the land without a change", async () => {
  const repo = await tempRepo();
  const wt = await spawn(repo, 'busy');
  await commitFile(wt, 'w.txt', 'w\n');
  const before = await sh(repo, 'rev-parse', 'main');
  writeFileSync(join(repo, '.git', 'index.lock'), '');
  const locked = await landWorktree({ worktree: wt, keep: true, maxRetries: 1 });
  assert.is(locked.kind, 'main-busy');
  if (locked.kind === 'main-busy') assert.is(locked.busy.reason, 'index-locked');
  assert.is(await sh(repo, 'rev-parse', 'main'), before);
  const cli = await coven(['land', '--worktree', wt]);
  assert.is(cli.code, 4);
  assert.match(cli.stderr, /index\.lock/);

  rmSync(join(repo, '.git', 'index.lock'));
  await sh(repo, 'switch', '-q', '-c', 'side');
  await commitFile(repo, 'README.md', 'side\n');
  await sh(repo, 'switch', '-q', 'main');
  await commitFile(repo, 'README.md', 'main\n');
  const userMain = await sh(repo, 'rev-parse', 'main');
  const rebase = await run('git', ['rebase', 'side'], { cwd: repo });
  assert.is.not(rebase.code, 0, 'the user rebase stops at a conflict');
  const r = await landWorktree({ worktree: wt, keep: true });
  assert.is(r.kind, 'main-busy');
  if (r.kind === 'main-busy') assert.is(r.busy.reason, 'operation');
  assert.is(await sh(repo, 'rev-parse', 'main'), userMain, "main is left to the user's rebase");
});

/**
 * A git that, right after the land's own command `when` (e.g. `rebase`) or right before
 * it (`before`), runs `move` with the real git: main moves at exactly that moment, as
 * when another land wins. `times`: how often (default once).
 */
function moveMainAt(o: { before?: string; after?: string; move: string; times?: number }): string {
  const count = join(tempDir('coven-race-'), 'count');
  const due = `n=$(cat '${count}' 2>/dev/null || echo 0); [ "$n" -lt ${o.times ?? 1} ] && echo $((n + 1)) > '${count}'`;
  if (o.before) return gitWrapper(`if ${o.before} && ${due}; then ${o.move}; fi`);
  return gitWrapper(`if ${o.after} && ${due}; then "$REAL_GIT" "$@"; rc=$?; ${o.move}; exit $rc; fi`);
}

test('main moving between the rebase and the fast-forward: the land sees it, rebases again and lands on top', async () => {
  const repo = await tempRepo();
  const wt = await spawn(repo, 'w1');
  await commitFile(wt, 'agent.txt', 'agent\n', 'agent work');
  const userCommit = `echo user > '${repo}/user.txt' && "$REAL_GIT" -C '${repo}' add user.txt && "$REAL_GIT" -C '${repo}' commit -q -m 'user commit meanwhile'`;
  const lines: string[] = [];
  const r = await withGitWrapper(moveMainAt({ after: '[ "$1" = rebase ]', move: userCommit }), () => landWorktree({ worktree: wt, keep: true, log: (l) => lines.push(l) }));
  assert.is(r.kind, 'landed', JSON.stringify(r));
  if (r.kind === 'landed') assert.is(r.retries, 1);
  assert.ok(lines.some((l) => /^main moved to [0-9a-f]{9} meanwhile; rebasing again \(retry 1\)$/.test(l)), lines.join('\n'));
  assert.equal(await log(repo), ['agent work', 'user commit meanwhile', 'initial commit']);
  assert.is(read(repo, 'user.txt'), 'user\n');
  assert.is(read(repo, 'agent.txt'), 'agent\n');
  assert.is(await sh(repo, 'status', '--porcelain'), '');
  assert.match(describeLand(r, { self: 'coven land', againArgs: [] }).text, /after 1 retry\./);
});

test('main checked out nowhere and moved between the read and the update: the compare-and-swap refuses, the land retries, both commits stay', async () => {
  const repo = await tempRepo();
  const wt = await spawn(repo, 'w1');
  await sh(repo, 'switch', '-q', '-c', 'experiment');
  await commitFile(wt, 'agent.txt', 'agent\n', 'agent work');
  // just before the land's `git update-ref -m … --stdin` (main's compare-and-swap), another land moves main
  const other = `"$REAL_GIT" -C '${repo}' update-ref refs/heads/main $("$REAL_GIT" -C '${repo}' commit-tree -p main -m 'another land' 'main^{tree}')`;
  const lines: string[] = [];
  const r = await withGitWrapper(moveMainAt({ before: '[ "$1 $4" = "update-ref --stdin" ]', move: other }), () => landWorktree({ worktree: wt, keep: true, log: (l) => lines.push(l) }));
  assert.is(r.kind, 'landed', JSON.stringify(r));
  if (r.kind === 'landed') assert.is(r.retries, 1);
  assert.ok(lines.some((l) => /^main moved to [0-9a-f]{9} meanwhile; rebasing again \(retry 1\)$/.test(l)), lines.join('\n'));
  assert.equal(await log(repo), ['agent work', 'another land', 'initial commit'], "the other land's commit was not overwritten");
  assert.is(await sh(repo, 'symbolic-ref', 'HEAD'), 'refs/heads/experiment');
});

test("the user switching main's checkout to another branch just before the fast-forward: their checkout is not written into, main still lands", async () => {
  const repo = await tempRepo();
  const wt = await spawn(repo, 'w1');
  await commitFile(wt, 'agent.txt', 'agent\n', 'agent work');
  // right before the land reads main's checkout (under the land lock), the user runs `git switch -c experiment` there
  const userSwitch = `"$REAL_GIT" -C '${repo}' switch -q -c experiment`;
  const r = await withGitWrapper(moveMainAt({ before: 'case "$*" in *porcelain=v2*) true;; *) false;; esac', move: userSwitch }), () => landWorktree({ worktree: wt, keep: true }));
  assert.is(r.kind, 'landed', JSON.stringify(r));
  assert.equal(await log(repo), ['agent work', 'initial commit']);
  assert.is(await sh(repo, 'symbolic-ref', 'HEAD'), 'refs/heads/experiment');
  assert.is(await sh(repo, 'status', '--porcelain'), '', "the experiment checkout holds none of the land's files");
  assert.not.ok(existsSync(join(repo, 'agent.txt')));
});

test('main moving at every try: after the retries the land stops as kept-moving, main and the branch keep every commit', async () => {
  const repo = await tempRepo();
  const wt = await spawn(repo, 'w1');
  await commitFile(wt, 'agent.txt', 'agent\n', 'agent work');
  const userCommit = `"$REAL_GIT" -C '${repo}' commit -q --allow-empty -m 'another land'`;
  const wrapper = moveMainAt({ after: '[ "$1" = rebase ]', move: userCommit, times: 3 });
  const r = await withGitWrapper(wrapper, () => landWorktree({ worktree: wt, keep: true, maxRetries: 2 }));
  assert.is(r.kind, 'main-busy', JSON.stringify(r));
  if (r.kind !== 'main-busy') return;
  assert.equal(r.busy, { reason: 'kept-moving', retries: 2 });
  assert.equal(await log(repo), ['another land', 'another land', 'another land', 'initial commit']);
  assert.equal(await log(wt, 'coven/w1'), ['agent work', 'another land', 'another land', 'initial commit'], 'rebased onto a recent main, the commit kept');
  const out = describeLand(r, { self: 'coven land', againArgs: [] });
  assert.is(out.code, 4);
  assert.match(out.text, /main kept moving \(other lands won 2 times in a row\)/);
  assert.match(out.text, /the worker's commit stays on coven\/w1/);
});

test('four workers landing at the same moment all end on main, linear, nothing lost', async () => {
  const repo = await tempRepo();
  const names = ['w1', 'w2', 'w3', 'w4'];
  const wts: string[] = [];
  for (const n of names) wts.push(await spawn(repo, n)); // git worktree add --track writes .git/config: one at a time
  for (const [i, wt] of wts.entries()) {
    await commitFile(wt, `${names[i]}/a.txt`, `a${i}\n`, `${names[i]} first`);
    await commitFile(wt, `${names[i]}/b.txt`, `b${i}\n`, `${names[i]} second`);
  }
  const results = await Promise.all(wts.map((wt) => coven(['land', '--keep', '--worktree', wt])));
  for (const r of results) assert.is(r.code, 0, r.stderr + r.stdout);
  const subjects = await log(repo);
  assert.is(subjects.length, 9);
  for (const n of names) {
    const first = subjects.indexOf(`${n} first`);
    const second = subjects.indexOf(`${n} second`);
    assert.ok(first > second && second >= 0, `${n}'s commits are on main in order`);
  }
  assert.is(await sh(repo, 'rev-list', '--merges', 'main'), '');
  assert.is(await sh(repo, 'status', '--porcelain'), '', 'the main worktree is clean');
  for (const [i, n] of names.entries()) assert.is(read(repo, `${n}/b.txt`), `b${i}\n`);
});

test('--keep keeps the worktree and branch; the default removes both', async () => {
  const repo = await tempRepo();
  const kept = await spawn(repo, 'kept');
  await commitFile(kept, 'k.txt', 'k\n');
  const r1 = await coven(['land', '--keep', '--worktree', kept]);
  assert.is(r1.code, 0, r1.stderr);
  assert.ok(existsSync(kept));
  assert.ok(await branchExists(repo, 'coven/kept'));
  assert.match(r1.stdout, /Kept the worktree/);
  const r2 = await coven(['land', '--worktree', kept]);
  assert.is(r2.code, 0, r2.stderr);
  assert.match(r2.stdout, /nothing to land/);
  assert.not.ok(existsSync(kept));
  assert.not.ok(await branchExists(repo, 'coven/kept'));
  assert.is(read(repo, 'k.txt'), 'k\n');
});

test('run from inside the worktree: lands, removes it and exits cleanly', async () => {
  const repo = await tempRepo();
  const wt = await spawn(repo, 'inside');
  await commitFile(wt, 'in.txt', 'in\n');
  mkdirSync(join(wt, 'sub'));
  const r = await coven(['land'], { cwd: join(wt, 'sub') });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /Removed the worktree/);
  assert.match(r.stdout, /cd /);
  assert.not.ok(existsSync(wt));
  assert.is(read(repo, 'in.txt'), 'in\n');
});

test('the standalone bundle lands from inside the worktree, outside the package', async () => {
  const repo = await tempRepo();
  const wt = await spawn(repo, 'solo');
  await commitFile(wt, 's.txt', 's\n');
  const bundle = join(distRoot, 'standalone', 'land-worktree.mjs');
  const copy = join(tempDir(), 'land-worktree.mjs');
  writeFileSync(copy, readFileSync(bundle));
  const help = await run(process.execPath, [copy, '--help'], { cwd: tempDir() });
  assert.is(help.code, 0);
  assert.match(help.stdout, /usage: coven land/);
  const r = await run(process.execPath, [copy], { cwd: wt });
  assert.is(r.code, 0, r.stderr);
  assert.is(read(repo, 's.txt'), 's\n');
  assert.not.ok(existsSync(wt));
});

test('refuses the main worktree, a detached HEAD and landing a branch on itself', async () => {
  const repo = await tempRepo();
  const inMain = await landWorktree({ worktree: repo, keep: true });
  assert.is(inMain.kind, 'main-worktree');
  const wt = await spawn(repo, 'odd');
  await commitFile(wt, 'x.txt', 'x\n');
  const self = await landWorktree({ worktree: wt, keep: true, onto: 'coven/odd' });
  assert.is(self.kind, 'same-branch');
  const missing = await landWorktree({ worktree: wt, keep: true, onto: 'nope' });
  assert.is(missing.kind, 'no-target');
  await sh(wt, 'switch', '-q', '--detach');
  const detached = await landWorktree({ worktree: wt, keep: true });
  assert.is(detached.kind, 'detached');
  const cli = await coven(['land', '--worktree', repo]);
  assert.is(cli.code, 1);
  assert.match(cli.stderr, /main worktree/);
  const notRepo = await landWorktree({ worktree: tempDir(), keep: true });
  assert.is(notRepo.kind, 'not-a-worktree');
  const badArgs = await coven(['land', '--frob']);
  assert.is(badArgs.code, 64);
});

test('a branch without upstream lands on --onto, else on the main worktree branch', async () => {
  const repo = await tempRepo();
  await sh(repo, 'branch', 'release');
  const wt = join(tempDir('coven-wt-'), 'plain');
  await sh(repo, 'worktree', 'add', '-q', '-b', 'plain', wt, 'main');
  const c = await commitFile(wt, 'p.txt', 'p\n');
  const r = await landWorktree({ worktree: wt, keep: true, onto: 'release' });
  assert.is(r.kind, 'landed');
  assert.is(await sh(repo, 'rev-parse', 'release'), c);
  assert.not.ok(existsSync(join(repo, 'p.txt')), 'main untouched');
  const c2 = await commitFile(wt, 'q.txt', 'q\n');
  const r2 = await landWorktree({ worktree: wt, keep: false });
  assert.is(r2.kind, 'landed');
  if (r2.kind === 'landed') {
    assert.is(r2.onto, 'main');
    assert.is(r2.removal.kind, 'removed');
  }
  assert.is(await sh(repo, 'rev-parse', 'main'), c2);
  assert.not.ok(await branchExists(repo, 'plain'));
});

test('sync brings a clean worktree with nothing unlanded up to main; unlanded work is left alone', async () => {
  const repo = await tempRepo();
  const wt = await spawn(repo, 'sync');
  const tip = await commitFile(repo, 'new.txt', 'new\n');
  const s = await syncWorktreeWithMain(wt);
  assert.is(s.kind, 'synced');
  assert.is(await sh(wt, 'rev-parse', 'HEAD'), tip);
  assert.is((await syncWorktreeWithMain(wt)).kind, 'up-to-date');
  const mine = await commitFile(wt, 'mine.txt', 'mine\n');
  await commitFile(repo, 'newer.txt', 'newer\n');
  const s2 = await syncWorktreeWithMain(wt);
  assert.is(s2.kind, 'unlanded');
  assert.is(await sh(wt, 'rev-parse', 'HEAD'), mine);
  const u = await unlandedCommits(wt);
  assert.is(u.kind, 'unlanded');
  if (u.kind === 'unlanded') assert.equal(u.commits, [mine]);
});

test("parseStatusV2Z: the branch headers and every path named (spaces kept, both sides of a rename, untracked, unmerged)", () => {
  const out = [
    '# branch.oid 0123456789abcdef0123456789abcdef01234567',
    '# branch.head main',
    '# branch.upstream origin/main',
    '1 .M N... 100644 100644 100644 aaaa bbbb a file.txt',
    '2 R. N... 100644 100644 100644 aaaa aaaa R100 new name.txt',
    'old name.txt',
    'u UU N... 100644 100644 100644 100644 aaaa bbbb cccc both.txt',
    '? dir/untracked file',
    '',
  ].join('\0');
  assert.equal(parseStatusV2Z(out), { branch: 'main', oid: '0123456789abcdef0123456789abcdef01234567', files: ['a file.txt', 'new name.txt', 'old name.txt', 'both.txt', 'dir/untracked file'] });
  assert.equal(parseStatusV2Z(['# branch.oid (initial)', '# branch.head (detached)', ''].join('\0')), { branch: null, oid: null, files: [] });
});

test('fastForwardBlockers: overlaps, folders, ignored files and renames', () => {
  const disk = (m: Record<string, OnDisk>) => (p: string): OnDisk => m[p] ?? 'missing';
  const changes = parseNameStatusZ('M\0src/a.ts\0A\0docs/new.md\0D\0old.txt\0A\0lib/x.ts\0A\0cache/f\0');
  assert.equal(changes.length, 5);
  assert.equal(fastForwardBlockers(changes, [], disk({})), []);
  assert.equal(fastForwardBlockers(changes, ['src/a.ts', 'unrelated.txt'], disk({})), ['src/a.ts']);
  assert.equal(fastForwardBlockers(changes, ['old.txt'], disk({})), ['old.txt'], 'a deleted file the user edited');
  assert.equal(fastForwardBlockers(changes, ['docs'], disk({})), ['docs'], 'a file where the land needs a folder');
  assert.equal(fastForwardBlockers(changes, [], disk({ 'docs/new.md': 'other', docs: 'dir' })), ['docs/new.md'], 'an ignored file the land would overwrite');
  assert.equal(fastForwardBlockers(changes, [], disk({ cache: 'other' })), ['cache'], 'an ignored file where the land needs a folder');
  assert.equal(fastForwardBlockers(changes, [], disk({ lib: 'dir' })), [], 'an existing folder is fine');
  const rename = parseNameStatusZ('D\0a.txt\0A\0b.txt\0');
  assert.equal(fastForwardBlockers(rename, ['a.txt'], disk({})), ['a.txt'], 'the old side of a rename');
});

test.run();
