import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { spawn } from 'node:child_process';
import { commitFile, coven, covenBin, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { implementByHand } from './helpers/job-by-hand.js';
import { assertFakeRunsOk, fakeClaudeEnv, readFakeLog, type FakeRun } from './helpers/fake-claude.js';

const MERGED = 'bonjour\nhallo\n';

const implement: FakeRun = {
  match: { promptIncludes: 'Implement the issue in issues/b.md' },
  steps: [{ read: 'greeting.txt' }, { write: { path: 'greeting.txt', content: 'hallo\n' } }, { commit: 'b: greet in German' }],
  result: { cost_usd: 0.5 },
};
const resolving: FakeRun = {
  match: { promptIncludes: 'rebase conflict' },
  expect: { resume: true, historyIncludes: 'Implement the issue in issues/b.md', promptIncludes: ['greeting.txt', 'git -c core.editor=true rebase --continue'] },
  steps: [{ read: 'greeting.txt' }, { write: { path: 'greeting.txt', content: MERGED } }, { bash: 'git add greeting.txt' }, { bash: 'git -c core.editor=true rebase --continue' }, { text: 'Kept both.' }],
  result: { cost_usd: 0.25 },
};

/**
 * A worktree whose agent (run by coven run-agent) changed greeting.txt, while main
 * changed the same line: `coven land --keep` stops on the conflict (exit 3), rebase open.
 */
async function conflicted(after: FakeRun[]) {
  const repo = await covenRepo({ 'greeting.txt': 'hello\n', 'issues/b.md': issueFile('Greet in German', 'approved') });
  const env = { ...fakeClaudeEnv([implement, ...after]), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const spawned = await coven(['spawn', 'coven/w2'], { cwd: repo, env });
  const wt = spawned.stdout.trim();
  const record = await implementByHand(wt, env);
  await commitFile(repo, 'greeting.txt', 'bonjour\n', 'a: greet in French');
  const land = await coven(['land', '--keep'], { cwd: wt, env });
  assert.is(land.code, 3, land.stderr + land.stdout);
  const job = readFakeLog(env).find((c) => c.prompts[0]?.includes('Implement the issue'))!;
  return { repo, env, wt, record, job, branchTip: await sh(wt, 'rev-parse', 'refs/heads/coven/w2') };
}

const resolve = (s: { wt: string; env: NodeJS.ProcessEnv; record: string }, cwd = s.wt) => coven(['resolve', '--session', s.record], { cwd, env: s.env });
const rebasing = (wt: string) => sh(wt, 'rev-parse', '--git-path', 'rebase-merge').then((p) => existsSync(resolvePath(wt, p)));

test('coven resolve resumes the recorded session in its worktree, lands the resolution, and rewrites the record', async () => {
  const s = await conflicted([resolving]);
  const r = await resolve(s);
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /conflict resolved in 1 round/);
  assert.match(r.stdout, /landed 1 commit from coven\/w2 on main/);
  assert.is(await sh(s.repo, 'show', 'main:greeting.txt'), MERGED.trim());
  assert.is(readFileSync(join(s.repo, 'greeting.txt'), 'utf8'), MERGED);
  const calls = assertFakeRunsOk(s.env);
  const res = calls.find((c) => c.prompts[0]?.includes('rebase conflict'))!;
  assert.is(res.cwd, s.job.cwd);
  assert.is(res.argv[res.argv.indexOf('--resume') + 1], s.job.sessionId);
  assert.ok(res.argv.includes('--allowedTools=Bash(git *),Read,Edit,Write'), "the agent's own claude_args");
  const rec = JSON.parse(readFileSync(s.record, 'utf8'));
  assert.is(rec.session_id, res.sessionId);
  assert.is(rec.cost_usd, 0.75);
  assert.is(await rebasing(s.wt), false);
});

test('coven resolve gives up after 3 rounds: exit 3, the rebase is undone, the branch keeps its commit, main is unchanged', async () => {
  const s = await conflicted([{ match: { promptIncludes: 'rebase conflict' }, expect: { resume: true }, times: 3, steps: [{ text: 'I cannot merge these.' }] }]);
  const mainBefore = await sh(s.repo, 'rev-parse', 'main');
  const r = await resolve(s);
  assert.is(r.code, 3, r.stderr + r.stdout);
  assert.match(r.stderr, /is not resolved: 3 of 3 resolution round\(s\) did not fix it/);
  assert.match(r.stderr, /The rebase is undone: coven\/w2 keeps its 1 commit\(s\)/);
  assert.is(await rebasing(s.wt), false);
  assert.is(await sh(s.wt, 'rev-parse', 'refs/heads/coven/w2'), s.branchTip);
  assert.is(await sh(s.repo, 'rev-parse', 'main'), mainBefore);
  assertFakeRunsOk(s.env);
});

test("coven resolve: resolved, but main's checkout has the file changed: exit 4, main unchanged, the resolution kept on the branch", async () => {
  const s = await conflicted([resolving]);
  writeFileSync(join(s.repo, 'greeting.txt'), 'my own edit\n');
  const mainBefore = await sh(s.repo, 'rev-parse', 'main');
  const r = await resolve(s);
  assert.is(r.code, 4, r.stderr + r.stdout);
  assert.match(r.stdout, /conflict resolved in 1 round/);
  assert.match(r.stderr, /would overwrite/);
  assert.is(await sh(s.repo, 'rev-parse', 'main'), mainBefore);
  assert.is(await sh(s.wt, 'show', 'coven/w2:greeting.txt'), MERGED.trim());
});

test('coven resolve stopped by Ctrl-C during the resolution: exit 130, the rebase undone, the branch as it was', async () => {
  const s = await conflicted([{ match: { promptIncludes: 'rebase conflict' }, steps: [{ read: 'greeting.txt' }, { sleep_ms: 60_000 }] }]);
  const child = spawn(process.execPath, [covenBin, 'resolve', '--session', s.record], { cwd: s.wt, env: { ...process.env, ...s.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = new Promise<number | null>((resolve) => child.on('close', resolve));
  for (let i = 0; i < 600 && !out.includes('Read: greeting.txt'); i++) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGINT');
  assert.is(await code, 130, out);
  assert.match(out, /resolve stopped; the rebase is undone and coven\/w2 keeps its commits/);
  assert.is(await rebasing(s.wt), false);
  assert.is(await sh(s.wt, 'rev-parse', 'refs/heads/coven/w2'), s.branchTip);
});

test('coven resolve: no conflict in progress, a bad record (named with its field) or one from another worktree: exit 2, nothing changed', async () => {
  const s = await conflicted([]);
  const record = readFileSync(s.record, 'utf8');
  writeFileSync(s.record, JSON.stringify({ ...JSON.parse(record), session_id: 42 }));
  const bad = await resolve(s);
  assert.is(bad.code, 2, bad.stderr);
  assert.ok(bad.stderr.includes(`${s.record}: not a session record file: session_id:`), bad.stderr);
  writeFileSync(s.record, JSON.stringify({ ...JSON.parse(record), cwd: s.repo }));
  const elsewhere = await resolve(s);
  assert.is(elsewhere.code, 2, elsewhere.stderr);
  assert.match(elsewhere.stderr, /a session can only be resumed from where it ran/);
  assert.ok(await rebasing(s.wt), 'the rebase is as it was');

  writeFileSync(s.record, record);
  await sh(s.wt, 'rebase', '--abort');
  const none = await resolve(s);
  assert.is(none.code, 2, none.stderr);
  assert.match(none.stderr, /no conflict in progress in /);
  assert.is(readFakeLog(s.env).filter((c) => c.prompts[0]?.includes('rebase conflict')).length, 0);
  const usage = await coven(['resolve'], { cwd: s.wt });
  assert.is(usage.code, 64);
});

test.run();
