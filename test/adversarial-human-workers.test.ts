// Adversarial pass (issue 11), a careless human and the workers: the same name started
// twice, `coven land` and `coven gc --force` run by hand while a worker works, a worker
// started from a subfolder or from inside another worker's worktree, and the human's
// own worktree for a branch named like a worker's. Nothing of the human's or of a
// worker is lost or pulled from under it, and no stack trace is printed.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, commitFile, run, sh, tempDir } from './helpers/repo.js';
import { covenRefsBesideClaims, covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun } from './helpers/fake-claude.js';
import { startCoven, until } from './helpers/worker-process.js';

const choose = (...lines: string[]): FakeRun => ({ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: `<dispatch>\n${lines.join('\n')}\n</dispatch>` }] });
const sleepForever: FakeRun = { ...choose('sleep: nothing to do'), times: 'unlimited' };
const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);
const phaseIs = (repo: string, name: string, phase: string) => () => {
  const file = join(repo, '.git', 'coven', 'workers', `${name}.json`);
  return existsSync(file) && readFileSync(file, 'utf8').includes(`"phase": "${phase}"`);
};
/** The subject of the worktree's last commit ('' while it is being made). */
const headSubject = async (worktree: string) => (existsSync(worktree) ? (await run('git', ['log', '-1', '--format=%s'], { cwd: worktree })).stdout.trim() : '');

test('two workers started with the same --name at once: one works, the other refuses and creates nothing', async () => {
  const repo = await covenRepo();
  const base = tempDir('coven-wt-');
  const env = { ...fakeClaudeEnv([sleepForever]), COVEN_WORKTREE_BASE: base };
  const a = startCoven(['worker', '--name', 'w1', '--max-idle', '1'], { cwd: repo, env });
  const b = startCoven(['worker', '--name', 'w1', '--max-idle', '1'], { cwd: repo, env });
  const [ra, rb] = await Promise.all([a.exited, b.exited]);
  const outs = [a.output(), b.output()];
  const codes = [ra.code, rb.code].sort();
  assert.equal(codes, [0, 2], outs.join('\n----\n'));
  // refused by the live-name check, or (both started in the same instant) by the branch claim
  const refused = outs.find((o) => /a worker named w1 is already running|branch 'coven\/w1' already exists/.test(o));
  assert.ok(refused, `one of them says the name is taken:\n${outs.join('\n----\n')}`);
  assert.match(refused!, /Nothing was created or changed/);
  for (const o of outs) noStack(o);
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
  assert.is((await sh(repo, 'worktree', 'list')).split('\n').length, 1);
});

test("two workers started at once under a killed worker's name: one adopts its worktree, the other refuses", async () => {
  const repo = await covenRepo();
  const base = tempDir('coven-wt-');
  const env = { ...fakeClaudeEnv([sleepForever]), COVEN_WORKTREE_BASE: base };
  const first = startCoven(['worker', '--name', 'w1'], { cwd: repo, env });
  await until(phaseIs(repo, 'w1', 'sleeping'), 'w1 asleep');
  process.kill(first.pid, 'SIGKILL');
  await first.exited;
  const a = startCoven(['worker', '--name', 'w1', '--exit-when-idle', '3s'], { cwd: repo, env });
  const b = startCoven(['worker', '--name', 'w1', '--exit-when-idle', '3s'], { cwd: repo, env });
  const [ra, rb] = await Promise.all([a.exited, b.exited]);
  const outs = [a.output(), b.output()];
  const all = outs.join('\n----\n');
  assert.is(outs.filter((o) => /adopting the existing worktree of w1/.test(o)).length, 1, `exactly one adopts:\n${all}`);
  assert.equal([ra.code, rb.code].sort(), [0, 2], all);
  assert.ok(outs.some((o) => /a worker named w1 is already running/.test(o)), all);
  assert.not.match(all, /deleted by hand/);
  assert.not.match(all, /waiting for dispatch \(held by w1/);
  for (const o of outs) noStack(o);
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
  assert.is((await sh(repo, 'worktree', 'list')).split('\n').length, 1);
});

test("coven land by hand in a running worker's worktree, mid-session: refused, nothing pulled from under the agent", async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const base = tempDir('coven-wt-');
  const gate = join(tempDir('coven-gate-'), 'go');
  const env = {
    ...fakeClaudeEnv([
      choose('agent: plan', 'issue: issues/a.md'),
      {
        match: { promptIncludes: 'Plan the issue' },
        steps: [{ write: { path: 'plan.txt', content: 'part 1\n' } }, { commit: 'plan a, part 1' }, { wait_for_file: gate, timeout_ms: 60_000 }, { write: { path: 'plan2.txt', content: 'part 2\n' } }, { commit: 'plan a, part 2' }, { text: 'Planned.' }],
      },
      sleepForever,
    ]),
    COVEN_WORKTREE_BASE: base,
  };
  const worker = startCoven(['worker', '--name', 'w1', '--max-idle', '1'], { cwd: repo, env });
  const worktree = join(base, 'project', 'coven', 'w1');
  await until(async () => (await headSubject(worktree)) === 'plan a, part 1', 'the first commit');

  const r = await coven(['land'], { cwd: worktree });
  writeFileSync(gate, '');
  const done = await worker.exited;
  const out = worker.output();
  assert.is(r.code, 4, r.stdout + r.stderr);
  assert.match(r.stderr, /worker w1 is working in this worktree/);
  assert.match(r.stderr, /Nothing was changed/);
  assert.match(r.stderr, /coven status/);
  noStack(r.stdout + r.stderr);
  // the worker was not disturbed: both commits land, from its own land
  assert.is(done.code, 0, out);
  assert.match(out, /landed 2 commit\(s\) on main/);
  assert.not.match(out, /deleted by hand/);
  assert.is(await sh(repo, 'log', '-2', '--format=%s', 'main'), 'plan a, part 2\nplan a, part 1');
  assert.not.ok(existsSync(worktree), 'removed by the worker at its end, as usual');
});

test("coven land by hand in a sleeping worker's worktree: refused too; the worker goes on", async () => {
  const repo = await covenRepo();
  const base = tempDir('coven-wt-');
  const env = { ...fakeClaudeEnv([sleepForever]), COVEN_WORKTREE_BASE: base };
  const worker = startCoven(['worker', '--name', 'w1', '--max-idle', '2'], { cwd: repo, env });
  await until(phaseIs(repo, 'w1', 'sleeping'), 'w1 asleep');
  const worktree = join(base, 'project', 'coven', 'w1');
  await commitFile(worktree, 'mine.txt', 'a human commit in the worker worktree\n', 'by hand');
  const r = await coven(['land', '--worktree', worktree], { cwd: repo });
  assert.is(r.code, 4, r.stdout + r.stderr);
  assert.match(r.stderr, /worker w1 is working in this worktree \(sleeping/);
  assert.ok(existsSync(worktree));
  await commitFile(repo, 'notes.txt', 'the user commits\n'); // wakes the worker: it lands the commit itself
  const done = await worker.exited;
  assert.is(done.code, 0, worker.output());
  assert.match(worker.output(), /landed 1 commit\(s\) on main/);
  assert.ok(existsSync(join(repo, 'mine.txt')));
  noStack(worker.output() + r.stderr);
});

test("coven run-agent and coven resolve by hand in a sleeping worker's worktree: refused, no second agent runs there", async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const base = tempDir('coven-wt-');
  const env = { ...fakeClaudeEnv([sleepForever]), COVEN_WORKTREE_BASE: base };
  const worker = startCoven(['worker', '--name', 'w1', '--max-idle', '2'], { cwd: repo, env });
  await until(phaseIs(repo, 'w1', 'sleeping'), 'w1 asleep');
  const worktree = join(base, 'project', 'coven', 'w1');
  const files = tempDir('coven-steps-');
  const decision = { coven: 'decision/1', kind: 'run', agent: 'plan', args: { issue: 'issues/a.md' }, reasoning: 'by hand', worktree, worker: 'w1', main_tip: await sh(repo, 'rev-parse', 'main'), session_id: null, cost_usd: 0, corrections: 0, at: new Date().toISOString() };
  writeFileSync(join(files, 'decision.json'), JSON.stringify(decision));
  const ran = await coven(['run-agent', '--decision', join(files, 'decision.json'), '--out', join(files, 'session.json')], { cwd: worktree, env });
  assert.is(ran.code, 6, ran.stdout + ran.stderr);
  assert.match(ran.stderr, /cannot run an agent in coven\/w1: worker w1 is working in this worktree \(sleeping/);
  assert.not.ok(existsSync(join(files, 'session.json')), 'nothing was run');
  const resolved = await coven(['resolve', '--session', join(files, 'session.json')], { cwd: worktree, env });
  assert.is(resolved.code, 2, resolved.stdout + resolved.stderr);
  assert.match(resolved.stderr, /cannot resolve in coven\/w1: worker w1 is working in this worktree/);
  noStack(ran.stderr + resolved.stderr);
  await commitFile(repo, 'notes.txt', 'the user commits\n');
  assert.is((await worker.exited).code, 0, worker.output());
  assert.is(readFakeLog(env).filter((c) => !c.prompts[0]?.includes('Choose the next job')).length, 0, 'only dispatch sessions ran');
});

test('coven gc --force while a worker runs its agent: the worker, its worktree and branch are left alone', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const base = tempDir('coven-wt-');
  const gate = join(tempDir('coven-gate-'), 'go');
  const env = {
    ...fakeClaudeEnv([
      choose('agent: plan', 'issue: issues/a.md'),
      { match: { promptIncludes: 'Plan the issue' }, steps: [{ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }, { wait_for_file: gate, timeout_ms: 60_000 }, { text: 'Planned.' }] },
      sleepForever,
    ]),
    COVEN_WORKTREE_BASE: base,
  };
  const worker = startCoven(['worker', '--name', 'w1', '--max-idle', '1'], { cwd: repo, env });
  const worktree = join(base, 'project', 'coven', 'w1');
  await until(async () => (await headSubject(worktree)) === 'plan a', 'the commit');
  const gc = await coven(['gc', '--force'], { cwd: repo });
  assert.is(gc.code, 0, gc.stdout + gc.stderr);
  assert.match(gc.stdout, /running \(not touched\): w1/);
  assert.ok(existsSync(worktree));
  assert.is(await covenRefsBesideClaims(repo, '%(refname)'), '');
  assert.match(await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/claims/'), /^refs\/coven\/claims\/plan--issues-a-md--[0-9a-f]{12}$/, 'the running job keeps its claim');
  writeFileSync(gate, '');
  const done = await worker.exited;
  assert.is(done.code, 0, worker.output());
  assert.match(worker.output(), /landed 1 commit\(s\) on main/);
  noStack(worker.output() + gc.stdout + gc.stderr);
});

test("a worker started from a subfolder of the main worktree, and one from inside another worker's worktree: both work on main", async () => {
  const repo = await covenRepo();
  const base = tempDir('coven-wt-');
  const env = { ...fakeClaudeEnv([sleepForever]), COVEN_WORKTREE_BASE: base };
  mkdirSync(join(repo, 'src', 'deep'), { recursive: true });
  const sub = await coven(['worker', '--once', '--name', 'sub'], { cwd: join(repo, 'src', 'deep'), env });
  assert.is(sub.code, 0, sub.stdout + sub.stderr);
  assert.match(sub.stdout, /sub stopped; everything it made is on main/);

  const w1 = startCoven(['worker', '--name', 'w1', '--max-idle', '2'], { cwd: repo, env });
  await until(phaseIs(repo, 'w1', 'sleeping'), 'w1 asleep');
  const inside = await coven(['worker', '--once', '--name', 'w2'], { cwd: join(base, 'project', 'coven', 'w1'), env });
  assert.is(inside.code, 0, inside.stdout + inside.stderr);
  assert.ok(existsSync(join(base, 'project', 'coven', 'w1')), "w1's worktree is untouched");
  assert.not.ok(existsSync(join(base, 'project', 'coven', 'w1', 'coven')), 'no worktree made inside it');
  await commitFile(repo, 'notes.txt', 'the user commits\n');
  assert.is((await w1.exited).code, 0, w1.output());
  noStack(sub.stdout + sub.stderr + inside.stdout + inside.stderr + w1.output());
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
});

test("the human's own worktree for a branch named coven/w9: a worker named w9 does not adopt, land or remove it", async () => {
  const repo = await covenRepo();
  const base = tempDir('coven-wt-');
  const mine = join(tempDir('coven-mine-'), 'mine');
  await sh(repo, 'worktree', 'add', '-q', mine, '-b', 'coven/w9');
  const mineCommit = await commitFile(mine, 'mine.txt', 'my work\n', 'mine, not ready');
  writeFileSync(join(mine, 'draft.txt'), 'my draft\n');
  const mainBefore = await sh(repo, 'rev-parse', 'main');
  const env = { ...fakeClaudeEnv([sleepForever]), COVEN_WORKTREE_BASE: base };
  const r = await coven(['worker', '--once', '--name', 'w9'], { cwd: repo, env });
  const out = r.stdout + r.stderr;
  assert.is(r.code, 2, out);
  assert.match(r.stderr, /coven\/w9 is checked out in .*mine, not in a worktree coven made/);
  assert.match(r.stderr, /Nothing was created or changed/);
  assert.match(r.stderr, /coven worker --name <another name>/);
  noStack(out);
  assert.is(await sh(repo, 'rev-parse', 'main'), mainBefore, 'main did not get the human commit');
  assert.is(await sh(mine, 'rev-parse', 'HEAD'), mineCommit);
  assert.is(readFileSync(join(mine, 'draft.txt'), 'utf8'), 'my draft\n');
  assert.is(await sh(mine, 'status', '--porcelain'), '?? draft.txt');
  assert.is(await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/'), '');
});

test.run();
