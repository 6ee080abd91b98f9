// Adversarial pass (issue 11), hostile state: what sits in coven's state folder
// (`.git/coven/`) and odd values of coven's env vars and durations. coven never writes
// through a link it finds there, never crashes on a file where a folder goes, and a
// duration too long for a timer is refused or capped, never "at once".

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, run, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun } from './helpers/fake-claude.js';
import { recordedMainBranch, recordMainBranch } from '../scripts/lib/worker/wake.js';
import { writeAtomic } from '../scripts/lib/files/write-atomic.js';
import { copyThreads } from '../scripts/lib/worktree/copy-tree.js';
import { parseDuration } from '../scripts/lib/ui/human-duration.js';
import { reserveLogFile } from '../scripts/lib/session/session-log.js';

const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);
const choose = (...lines: string[]): FakeRun => ({ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: `<dispatch>\n${lines.join('\n')}\n</dispatch>` }] });
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** A file outside the repository that coven must never write (a stand-in for ~/.bashrc). */
function precious(): string {
  const file = join(tempDir('coven-precious-'), 'bashrc');
  writeFileSync(file, 'export PATH=/usr/bin\n');
  return file;
}

test('a link planted where coven writes its temporary main-branch file: coven writes beside it, never through it', async () => {
  const stateDir = tempDir('coven-state-');
  const target = precious();
  // the name the old code used: main-branch.<pid>.tmp
  symlinkSync(target, join(stateDir, `main-branch.${process.pid}.tmp`));
  await recordMainBranch(stateDir, 'main');
  assert.is(readFileSync(target, 'utf8'), 'export PATH=/usr/bin\n', 'coven wrote through a link in its state folder');
  assert.is(await recordedMainBranch(stateDir), 'main');
});

test('writeAtomic replaces a link at the file\'s own name, and the file it pointed to stays as it was', async () => {
  const dir = tempDir('coven-state-');
  const target = precious();
  symlinkSync(target, join(dir, 'w1.json'));
  await writeAtomic(join(dir, 'w1.json'), '{"ok": true}\n');
  assert.is(readFileSync(target, 'utf8'), 'export PATH=/usr/bin\n');
  assert.not.ok(lstatSync(join(dir, 'w1.json')).isSymbolicLink());
  assert.is(readFileSync(join(dir, 'w1.json'), 'utf8'), '{"ok": true}\n');
});

test('a worker state file and its step files replaced by links to a file elsewhere: the worker runs, and the file elsewhere is never written', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const stateDir = join(repo, '.git', 'coven');
  const target = precious();
  mkdirSync(join(stateDir, 'workers'), { recursive: true });
  mkdirSync(join(stateDir, 'steps', 'w1'), { recursive: true });
  symlinkSync(target, join(stateDir, 'workers', 'w1.json'));
  symlinkSync(target, join(stateDir, 'steps', 'w1', 'decision.json'));
  symlinkSync(target, join(stateDir, 'steps', 'w1', 'session.json'));
  symlinkSync(target, join(stateDir, 'main-branch'));
  const env = { ...fakeClaudeEnv([choose('sleep: nothing to do')]), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const r = await coven(['worker', '--name', 'w1', '--once'], { cwd: repo, env, timeoutMs: 90_000 });
  const out = r.stdout + r.stderr;
  assert.is(r.code, 0, out);
  noStack(out);
  assert.is(readFileSync(target, 'utf8'), 'export PATH=/usr/bin\n', 'coven wrote through a link in its state folder');
});

test('a worker\'s log folder (logs/w1) or logs/ itself replaced by a link to a folder elsewhere: the session log is written in the state folder, never there', () => {
  for (const linked of ['logs/w1', 'logs']) {
    const stateDir = tempDir('coven-state-');
    const outside = tempDir('coven-outside-');
    mkdirSync(join(stateDir, 'logs'), { recursive: true });
    if (linked === 'logs') rmSync(join(stateDir, 'logs'), { recursive: true });
    symlinkSync(outside, join(stateDir, linked));
    const file = reserveLogFile(stateDir, 'w1', 'plan');
    assert.equal(readdirSync(outside), [], `${linked}: a log file was made in the folder the link points to`);
    assert.is(file, join(stateDir, 'logs', 'w1', '001-plan.jsonl'));
    assert.not.ok(lstatSync(join(stateDir, linked)).isSymbolicLink());
  }
});

test('a folder where the worker\'s session record goes (steps/w1/session.json): the worker names it, keeps its work and stops with the next command, no stack trace', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  mkdirSync(join(repo, '.git', 'coven', 'steps', 'w1', 'session.json', 'inside'), { recursive: true });
  const env = { ...fakeClaudeEnv([choose('agent: plan', 'issue: issues/a.md'), { steps: [{ bash: 'echo plan > plan.txt && git add plan.txt && git commit -qm plan' }] }]), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const r = await coven(['worker', '--name', 'w1', '--once'], { cwd: repo, env, timeoutMs: 90_000 });
  const out = r.stdout + r.stderr;
  noStack(out);
  assert.match(out, /w1 stopped on an unexpected error: .*steps\/w1\/session\.json/);
  assert.match(out, /Next:\n\s+coven worker --name w1/);
});

test('.git/coven is a file, not a folder: worker and hooks install say so and give the mv; status and gc do not crash', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  writeFileSync(join(repo, '.git', 'coven'), 'not a folder\n');
  const env = { ...fakeClaudeEnv([choose('sleep: nothing to do')]), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  for (const args of [['worker', '--name', 'w1', '--once'], ['hooks', 'install'], ['status'], ['gc']]) {
    const r = await coven(args, { cwd: repo, env, timeoutMs: 60_000 });
    const out = r.stdout + r.stderr;
    noStack(out);
    assert.not.match(out, /unexpected error/, `coven ${args.join(' ')}: ${out}`);
    if (args[0] === 'status' || args[0] === 'gc') continue; // they only read: no workers, nothing to clean
    assert.match(out, /\.git\/coven is a file, not a folder: coven keeps its state .* there/, `coven ${args[0]}: ${out}`);
    assert.match(out, /mv .*\.git\/coven .*\.git\/coven\.not-coven/);
    assert.is(r.code, args[0] === 'worker' ? 2 : 4, out);
  }
  assert.is(readFileSync(join(repo, '.git', 'coven'), 'utf8'), 'not a folder\n');
  assert.is(readFakeLog(env).length, 0);
});

test('a main-branch file naming a branch with control characters: read as nothing recorded, never printed raw by coven hooks status', async () => {
  const repo = await covenRepo();
  const stateDir = join(repo, '.git', 'coven');
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'main-branch'), 'refs/heads/ma\u001b]0;pwned\u0007in\n');
  assert.is(await recordedMainBranch(stateDir), null);
  const r = await coven(['hooks', 'status'], { cwd: repo, timeoutMs: 30_000 });
  assert.not.match(r.stdout + r.stderr, RAW_CONTROL);
  assert.match(r.stdout, /main branch: \(not recorded\)/);
});

test('coven\'s git hooks with a link at the wake file (to ~/.bashrc), or a FIFO at wake or main-branch: the user\'s git commit never truncates the file nor hangs', async () => {
  for (const plant of ['wake-link', 'wake-fifo', 'main-branch-fifo']) {
    const repo = await covenRepo();
    const installed = await coven(['hooks', 'install'], { cwd: repo, timeoutMs: 30_000 });
    assert.is(installed.code, 0, installed.stdout + installed.stderr);
    const stateDir = join(repo, '.git', 'coven');
    const target = precious();
    if (plant === 'wake-link') symlinkSync(target, join(stateDir, 'wake'));
    if (plant === 'wake-fifo') execFileSync('mkfifo', [join(stateDir, 'wake')]);
    if (plant === 'main-branch-fifo') {
      rmSync(join(stateDir, 'main-branch'), { force: true });
      execFileSync('mkfifo', [join(stateDir, 'main-branch')]);
    }
    writeFileSync(join(repo, 'note.txt'), `${plant}\n`);
    await run('git', ['add', 'note.txt'], { cwd: repo });
    const started = Date.now();
    const commit = await run('git', ['commit', '-q', '-m', plant], { cwd: repo, timeoutMs: 15_000 });
    // let a hook still blocked on the FIFO go (read-write opens never wait), so nothing is left behind
    if (plant !== 'wake-link') closeSync(openSync(join(stateDir, plant === 'wake-fifo' ? 'wake' : 'main-branch'), 'r+'));
    assert.ok(Date.now() - started < 14_000, `${plant}: git commit hung in coven's hook`);
    assert.is(commit.code, 0, `${plant}: ${commit.stderr}`);
    assert.is(readFileSync(target, 'utf8'), 'export PATH=/usr/bin\n', `${plant}: coven's hook wrote through the link`);
  }
});

test('a FIFO where a git hook goes (.git/hooks/post-commit): coven hooks status, install and uninstall never hang; the FIFO is kept aside and put back', async () => {
  const repo = await covenRepo();
  const hook = join(repo, '.git', 'hooks', 'post-commit');
  execFileSync('mkfifo', [hook]);
  for (const action of ['status', 'install', 'status', 'uninstall']) {
    const started = Date.now();
    const r = await coven(['hooks', action], { cwd: repo, timeoutMs: 20_000 });
    assert.ok(Date.now() - started < 19_000, `coven hooks ${action} hung on the FIFO`);
    noStack(r.stdout + r.stderr);
    if (action === 'install') {
      assert.is(r.code, 0, r.stdout + r.stderr);
      assert.ok(lstatSync(`${hook}.coven-chained`).isFIFO(), 'the FIFO was not kept aside');
    }
  }
  assert.ok(lstatSync(hook).isFIFO(), 'uninstall did not put the FIFO back');
});

// ---- durations and env vars ----

test('a session --timeout too long for a timer (50000 minutes, 1e309): refused as usage, not a session stopped at once', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  for (const timeout of ['50000', '1e309']) {
    const env = fakeClaudeEnv([choose('sleep: nothing to do')]);
    const r = await coven(['dispatch', '--worker', 'w1', '--timeout', timeout], { cwd: repo, env, timeoutMs: 30_000 });
    assert.is(r.code, 64, `--timeout ${timeout}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /--timeout takes a number of minutes, at most 35000/);
    assert.is(readFakeLog(env).length, 0);
    const w = await coven(['worker', '--name', 'w1', '--once', '--timeout', timeout], { cwd: repo, env, timeoutMs: 30_000 });
    assert.is(w.code, 64, w.stdout + w.stderr);
  }
});

test('a duration too long for a timer (coven wait --timeout 1000h, --exit-when-idle 1000h): refused, not "timed out" at once', async () => {
  assert.is(parseDuration('1000h'), null);
  assert.is(parseDuration('24h'), 24 * 3_600_000);
  const repo = await covenRepo();
  const started = Date.now();
  const r = await coven(['wait', '--since', 'main', '--timeout', '1000h'], { cwd: repo, timeoutMs: 30_000 });
  assert.is(r.code, 64, `${r.code}: ${r.stdout}${r.stderr} after ${Date.now() - started} ms`);
  assert.match(r.stderr, /--timeout is at most 24 days, not '1000h'/);
  const w = await coven(['worker', '--name', 'w1', '--exit-when-idle', '1000h'], { cwd: repo, env: fakeClaudeEnv(null), timeoutMs: 30_000 });
  assert.is(w.code, 64, w.stdout + w.stderr);
  assert.match(w.stderr, /--exit-when-idle takes a duration such as 10m, 90s or 1h, at most 24 days/);
});

test('COVEN_SAFETY_INTERVAL_MS over the timer limit (3e9): the sleeper re-checks at the limit, not every millisecond', async () => {
  const repo = await covenRepo();
  const tracer = join(tempDir('coven-trace-'), 'git-calls');
  // count the sleeper's checks: each is one `git rev-parse`; a wrapper counts them
  const wrapperDir = tempDir('coven-git-');
  const gitPath = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(join(wrapperDir, 'git'), `#!/bin/sh\ncase "$*" in *rev-parse*verify*) echo x >> ${tracer};; esac\nexec ${gitPath} "$@"\n`, { mode: 0o755 });
  const env = { ...fakeClaudeEnv([choose('sleep: nothing to do')]), COVEN_WORKTREE_BASE: tempDir('coven-wt-'), COVEN_SAFETY_INTERVAL_MS: '3e9', PATH: `${wrapperDir}:${process.env.PATH ?? ''}` };
  const r = await coven(['worker', '--name', 'w1', '--exit-when-idle', '3s'], { cwd: repo, env, timeoutMs: 60_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.not.match(r.stderr, /TimeoutOverflowWarning/);
  let checks = 0;
  try {
    checks = readFileSync(tracer, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    checks = 0;
  }
  assert.ok(checks < 100, `${checks} re-checks of main in 3 s of sleep`);
});

test('COVEN_CLAUDE naming a folder, COVEN_WORKTREE_BASE naming a file, a FIFO as .coven/steps/land: the worker says which and leaves nothing', async () => {
  const repo = await covenRepo();
  const base = join(tempDir('coven-base-'), 'a-file');
  writeFileSync(base, 'not a folder\n');
  const fake = fakeClaudeEnv([choose('sleep: nothing to do')]);
  const cases: [string, NodeJS.ProcessEnv, RegExp][] = [
    ['COVEN_CLAUDE a folder', { ...fake, COVEN_CLAUDE: tempDir('coven-cli-'), COVEN_WORKTREE_BASE: tempDir('coven-wt-') }, /COVEN_CLAUDE=\/path\/to\/claude coven worker/],
    ['COVEN_WORKTREE_BASE a file', { ...fake, COVEN_WORKTREE_BASE: base }, /Not a directory[^]*Nothing this spawn made is left/],
  ];
  for (const [what, env, expected] of cases) {
    const r = await coven(['worker', '--name', 'w1', '--once'], { cwd: repo, env, timeoutMs: 60_000 });
    const out = r.stdout + r.stderr;
    assert.is(r.code, 2, `${what}: ${out}`);
    assert.match(out, expected, what);
    noStack(out);
  }
  mkdirSync(join(repo, '.coven', 'steps'));
  execFileSync('mkfifo', [join(repo, '.coven', 'steps', 'land')]);
  const r = await coven(['worker', '--name', 'w1', '--once'], { cwd: repo, env: { ...fake, COVEN_WORKTREE_BASE: tempDir('coven-wt-') }, timeoutMs: 60_000 });
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /\.coven\/steps\/land.* is not a file/);
  assert.is((await run('git', ['branch', '--list', 'coven/*'], { cwd: repo })).stdout.trim(), '', 'a branch was left');
});

test('COVEN_COPY_THREADS of 100000: capped (each thread is a whole JavaScript engine)', () => {
  const before = process.env.COVEN_COPY_THREADS;
  try {
    process.env.COVEN_COPY_THREADS = '100000';
    assert.ok(copyThreads() <= 16, `${copyThreads()} threads`);
    process.env.COVEN_COPY_THREADS = '8';
    assert.is(copyThreads(), 8);
    for (const odd of ['-1', 'NaN', '1e309', '2.5', '']) {
      process.env.COVEN_COPY_THREADS = odd;
      const n = copyThreads();
      assert.ok(n >= 2 && n <= 4, `${odd}: ${n}`);
    }
  } finally {
    if (before === undefined) delete process.env.COVEN_COPY_THREADS;
    else process.env.COVEN_COPY_THREADS = before;
  }
});

test.run();

