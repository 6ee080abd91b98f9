import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { commitFile, coven, covenBin, sh, tempDir, tempRepo } from './helpers/repo.js';

const decisionFile = (fields: Record<string, unknown>): string => {
  const file = join(tempDir(), 'decision.json');
  writeFileSync(file, JSON.stringify({ coven: 'decision/1', kind: 'sleep', reason: 'nothing to do', reasoning: '', worktree: '/x', worker: 'w1', main_tip: '', session_id: null, cost_usd: 0, corrections: 0, at: new Date().toISOString(), ...fields }));
  return file;
};

test('coven wait --since COMMIT: exits 0 once main moves, and prints the new tip', async () => {
  const repo = await tempRepo();
  const before = await sh(repo, 'rev-parse', 'main');
  const waiting = coven(['wait', '--since', before, '--timeout', '1m'], { cwd: repo });
  await new Promise((r) => setTimeout(r, 500));
  const tip = await commitFile(repo, 'a.txt', 'a\n');
  const r = await waiting;
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), tip);
});

test("coven wait --decision FILE: main moved since the decision's main_tip (while dispatch thought): exit 0 at once", async () => {
  const repo = await tempRepo();
  const before = await sh(repo, 'rev-parse', 'main');
  const tip = await commitFile(repo, 'a.txt', 'a\n');
  const r = await coven(['wait', '--decision', decisionFile({ main_tip: before })], { cwd: repo, timeoutMs: 30_000 });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), tip);
});

test('coven wait --timeout: exit 5 when main does not move in time; also from a worktree of the repository', async () => {
  const repo = await tempRepo();
  const wt = join(tempDir(), 'wt');
  await sh(repo, 'worktree', 'add', '-q', '-b', 'coven/w1', wt);
  const started = Date.now();
  const r = await coven(['wait', '--since', 'main', '--timeout', '1s'], { cwd: wt });
  assert.is(r.code, 5, r.stderr);
  assert.match(r.stderr, /main did not move from [0-9a-f]{10} in 1s/);
  assert.ok(Date.now() - started < 20_000);
});

test('coven wait stopped by Ctrl-C: exit 130', async () => {
  const repo = await tempRepo();
  const child = spawn(process.execPath, [covenBin, 'wait', '--since', 'main'], { cwd: repo, stdio: 'ignore' });
  const code = new Promise<number | null>((resolve) => child.on('close', resolve));
  // it records the main branch for the hooks once it waits (its Ctrl-C handler is up by then)
  for (let i = 0; i < 600 && !existsSync(join(repo, '.git', 'coven', 'main-branch')); i++) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGINT');
  assert.is(await code, 130);
});

test('coven wait: a bad decision file (named, with its field) or no repository exits 2; bad usage exits 64', async () => {
  const repo = await tempRepo();
  const bad = decisionFile({ main_tip: 'not a commit' });
  const r = await coven(['wait', '--decision', bad], { cwd: repo });
  assert.is(r.code, 2, r.stderr);
  assert.ok(r.stderr.includes(`${bad}: not a decision file: main_tip: is not a commit id`), r.stderr);
  const outside = await coven(['wait', '--since', 'main'], { cwd: tempDir() });
  assert.is(outside.code, 2, outside.stderr);
  for (const [args, message] of [
    [[], /give one of --decision FILE and --since COMMIT/],
    [['--since', 'main', '--decision', bad], /give one of/],
    [['--since', 'main', '--timeout', 'soon'], /--timeout takes a duration such as 30s, 10m or 1h, not 'soon'/],
    [['--since', 'no-such-branch'], /--since: 'no-such-branch' is not a commit here/],
    [['--since=-x'], /'-x' is not a commit here/],
  ] as const) {
    const u = await coven(['wait', ...args], { cwd: repo });
    assert.is(u.code, 64, `${args.join(' ')}: ${u.stderr}`);
    assert.match(u.stderr, message);
  }
});

test.run();
