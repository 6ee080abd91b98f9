// Hostile input: repositories coven cannot work in (no commits, bare, a worktree of a
// bare repository), a missing agent CLI and a full disk at start. Each is a clear
// refusal that leaves the disk exactly as it was.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, covenBin, run, sh, tempDir, tempRepo } from './helpers/repo.js';
import { covenRepo } from './helpers/coven-repo.js';
import { fakeClaudeEnv } from './helpers/fake-claude.js';

/**
 * Every path under `dir` with its size (files) — enough to see that nothing was created
 * or changed. Left out: packed-refs (deleting a branch again may leave git's empty one)
 * and empty folders of coven's state dir (a worker writes its state file before it
 * spawns, and removes it again when the spawn fails).
 */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (name === 'packed-refs') continue;
      const st = lstatSync(p);
      if (st.isDirectory() && /\/\.git\/coven(\/|$)/.test(p) && !hasFiles(p)) continue;
      out.push(`${p}${st.isDirectory() ? '/' : ` ${st.size}`}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.join('\n');
}

function hasFiles(dir: string): boolean {
  return readdirSync(dir, { withFileTypes: true }).some((e) => !e.isDirectory() || hasFiles(join(dir, e.name)));
}

const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);

test('a repository with no commits: worker and spawn refuse, say to commit first, and create nothing', async () => {
  const repo = await tempRepo('project', { commit: false });
  const base = join(tempDir(), 'worktrees');
  const env = { ...fakeClaudeEnv(null), COVEN_WORKTREE_BASE: base };
  const before = snapshot(repo);

  const worker = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(worker.code, 2, worker.stderr);
  assert.match(worker.stderr, /the main branch main has no commits yet/);
  assert.match(worker.stderr, /Nothing was created or changed/);
  assert.match(worker.stderr, /commit --allow-empty -m "initial commit"\n\s+coven worker/);
  assert.not.match(worker.stderr, /--from/);
  noStack(worker.stderr);

  const spawn = await coven(['spawn', 'coven/x'], { cwd: repo, env });
  assert.is(spawn.code, 4, spawn.stderr);
  assert.match(spawn.stderr, /'main' has no commits yet/);

  assert.is(snapshot(repo), before);
  assert.not.ok(existsSync(base));
  // the read-only commands work there too
  assert.is((await coven(['status'], { cwd: repo, env })).code, 0);
  assert.is((await coven(['issues'], { cwd: repo, env })).code, 0);
});

test('a bare repository: worker, spawn and land refuse, and create nothing', async () => {
  const bare = join(tempDir(), 'project.git');
  await sh(tempDir(), 'init', '-q', '--bare', '-b', 'main', bare);
  const base = join(tempDir(), 'worktrees');
  const env = { ...fakeClaudeEnv(null), COVEN_WORKTREE_BASE: base };
  const before = snapshot(bare);

  const worker = await coven(['worker', '--once'], { cwd: bare, env });
  assert.is(worker.code, 2, worker.stderr);
  assert.match(worker.stderr, /is a bare repository; coven needs a main worktree/);
  assert.match(worker.stderr, new RegExp(`git clone ${bare.replace(/[.]/g, '\\.')} <project>`));
  const spawn = await coven(['spawn', 'coven/x'], { cwd: bare, env });
  assert.is(spawn.code, 2, 'not a work tree: 2, as every command');
  assert.match(spawn.stderr, /bare repository/);
  const land = await coven(['land'], { cwd: bare, env });
  assert.is(land.code, 2, 'not a work tree: 2, as every command');
  assert.match(land.stderr, /is a bare repository/);
  for (const r of [worker, spawn, land]) noStack(r.stderr);

  assert.is(snapshot(bare), before);
  assert.not.ok(existsSync(base));
});

test('a worktree of a bare repository: the worker says so (not "detached HEAD") and creates nothing', async () => {
  const src = await covenRepo();
  const bare = join(tempDir(), 'project.git');
  await sh(src, 'clone', '-q', '--bare', src, bare);
  const linked = join(tempDir(), 'linked');
  await sh(bare, 'worktree', 'add', '-q', linked, 'main');
  const base = join(tempDir(), 'worktrees');
  const env = { ...fakeClaudeEnv(null), COVEN_WORKTREE_BASE: base };
  const before = snapshot(bare);

  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: linked, env });
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /is a worktree of the bare repository .*project\.git; coven needs a main worktree/);
  assert.not.match(r.stderr, /detached/);
  noStack(r.stderr);
  assert.is(snapshot(bare), before);
  assert.not.ok(existsSync(base));
});

test('claude missing: one clear message (how to install, or COVEN_CLAUDE), nothing created', async () => {
  const repo = await covenRepo();
  const base = join(tempDir(), 'worktrees');
  const before = snapshot(repo);
  const notExecutable = join(tempDir(), 'claude');
  writeFileSync(notExecutable, '#!/bin/sh\n');
  chmodSync(notExecutable, 0o644);
  const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
    [{ COVEN_CLAUDE: '/nowhere/claude' }, /the agent CLI '\/nowhere\/claude' does not exist/],
    [{ COVEN_CLAUDE: notExecutable }, /is not executable/],
    [{ COVEN_CLAUDE: '', PATH: '/usr/bin:/bin' }, /the agent CLI 'claude' was not found on PATH/],
  ];
  for (const [env, message] of cases) {
    const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env: { ...env, COVEN_WORKTREE_BASE: base } });
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /npm install -g @anthropic-ai\/claude-code/);
    assert.match(r.stderr, /COVEN_CLAUDE=\/path\/to\/claude coven worker/);
    assert.match(r.stderr, /Nothing was created or changed/);
    noStack(r.stderr);
  }
  assert.is(snapshot(repo), before);
  assert.not.ok(existsSync(base));
});

test('a full disk while the worker spawns its worktree: it cannot start, says so, and leaves nothing', async () => {
  const repo = await covenRepo({ '.gitignore': 'node_modules/\n' });
  mkdirSync(join(repo, 'node_modules', 'big'), { recursive: true });
  writeFileSync(join(repo, 'node_modules', 'big', 'huge.bin'), 'x'.repeat(256 * 1024));
  const base = join(tempDir(), 'worktrees');
  const before = snapshot(repo);
  // a 64 KiB limit on any file written: git's own files fit, huge.bin does not
  const r = await run('/bin/sh', ['-c', 'ulimit -f 128 && exec "$@"', 'sh', process.execPath, covenBin, 'worker', '--once', '--name', 'w1'], {
    cwd: repo,
    env: { ...fakeClaudeEnv(null), COVEN_WORKTREE_BASE: base },
  });
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /failed \(disk full or file too large\)/);
  assert.match(r.stderr, /held nothing but copies and were removed again/);
  assert.match(r.stderr, /Free some disk space \(df -h\), then run:\n\s+coven worker --name w1/);
  assert.not.match(r.stderr, /coven spawn/);
  noStack(r.stderr);
  assert.is(snapshot(repo), before);
  assert.not.ok(existsSync(base));
  assert.is(await sh(repo, 'for-each-ref', '--format=%(refname)'), 'refs/heads/main');
});

test.run();
