// Dispatch with claims instead of the global lock (issue 13): a decision counts only once
// its job's claim is taken (lib/agents/claimed-dispatch.ts). Real git, real `coven worker`
// and `coven dispatch` processes, the fake claude with scripted dispatches.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun } from './helpers/fake-claude.js';
import { childPids, dispatchRun, implementRun, isDispatch, outputOf, phaseOf, shDispatchAgent, startWorker, stopAll, waitFor, workerState, type WorkerProc } from './helpers/worker-procs.js';
import { claimedDispatch, holderOf } from '../scripts/lib/agents/claimed-dispatch.js';
import { openClaimStore } from '../scripts/lib/claims/index.js';
import type { ClaimRead } from '../scripts/lib/claims/claim.js';

/**
 * A dispatch script: the first issue of the worktree that the prompt does not name
 * ("issue: issues/x.md"), logged as "<worktree name> <issue>" to `choices`. `barrier`:
 * first waits (up to 3 s) until another dispatch session is under way, so that two
 * dispatches that run at all at the same time choose at the same moment.
 * `hangFirstIn`: the first session in that worktree hangs 5 s first.
 */
function dispatchScript(dir: string, opts: { barrier?: boolean; hangFirstIn?: string } = {}): { command: string; choices: string } {
  const choices = join(dir, 'choices.txt');
  const file = join(dir, 'dispatch.sh');
  writeFileSync(
    file,
    `#!/bin/sh
here=$(basename "$PWD")
${opts.hangFirstIn ? `if [ "$here" = '${opts.hangFirstIn}' ] && [ ! -e '${dir}/hung' ]; then touch '${dir}/hung'; sleep 5; fi` : ''}
${
  opts.barrier
    ? `mkdir -p '${dir}/in'; touch '${dir}/in/'$$
i=0; while [ "$(ls '${dir}/in' | wc -l)" -lt 2 ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done`
    : ''
}
pick=''
for f in issues/*.md; do
  [ -e "$f" ] || continue
  case "$FAKE_CLAUDE_PROMPT" in *"issue: $f"*) continue ;; esac
  pick=$f; break
done
${opts.barrier ? `(sleep 0.5; rm -f '${dir}/in/'$$) &` : ''}
if [ -n "$pick" ]; then
  echo "$here $pick" >>'${choices}'
  printf 'I take %s.\\n<dispatch>\\nagent: implement\\nissue: %s\\n</dispatch>\\n' "$pick" "$pick"
else
  printf 'Nothing is free.\\n<dispatch>\\nsleep: no free issue\\n</dispatch>\\n'
fi
`,
  );
  return { command: `sh ${file}`, choices };
}

const lines = (file: string): string[] => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

async function setUp(ids: string[], runs: (dispatch: string) => FakeRun[], script: { barrier?: boolean; hangFirstIn?: string } = {}) {
  const files: Record<string, string> = { '.coven/agents/dispatch.md': shDispatchAgent };
  for (const id of ids) files[`issues/${id}.md`] = issueFile(`Issue ${id}`);
  const repo = await covenRepo(files);
  const dir = tempDir('coven-dclaims-');
  const d = dispatchScript(dir, script);
  const env = { ...fakeClaudeEnv(runs(d.command), dir), COVEN_WORKTREE_BASE: join(dir, 'worktrees'), COVEN_RETRY_MS: '200', COVEN_SAFETY_INTERVAL_MS: '5000' };
  const hooks = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(hooks.code, 0, hooks.stderr);
  return { repo, dir, env, choices: d.choices };
}

async function claims(repo: string): Promise<Extract<ClaimRead, { kind: 'claim' }>[]> {
  const listed = await openClaimStore({ repo, stateDir: join(repo, '.git', 'coven'), remote: null }).list();
  assert.ok(Array.isArray(listed));
  return listed.filter((c): c is Extract<ClaimRead, { kind: 'claim' }> => c.kind === 'claim');
}

const landedCount = async (repo: string) => (await sh(repo, 'log', '--format=%s', 'main')).split('\n').filter((s) => s.startsWith('implement ')).length;

/** Issue a, and worker w1 in its session for a (which sleeps a minute); a later implement session of a runs normally. */
async function w1RunsA() {
  const { repo, env } = await setUp(['a'], (d) => [dispatchRun(d), implementRun('a', { match: { promptIncludes: 'Implement the issue in issues/a.md.', cwdIncludes: '/w1' }, steps: [{ bash: 'sleep 60' }] }), implementRun('a')]);
  const w1 = startWorker(repo, 'w1', env);
  const workers = [w1];
  const why = () => outputOf(workers);
  try {
    await waitFor(() => phaseOf(repo, 'w1') === 'running' && /Bash: sleep 60/.test(w1.stdout()), 'w1 runs a', 30_000, why);
  } catch (err) {
    await stopAll(workers, 'SIGTERM');
    throw err;
  }
  return { repo, env, w1, workers, why };
}

/** kill -9 of a worker and of its agent session (the session runs in a process group of its own). */
async function killWithSession(w: WorkerProc): Promise<void> {
  const below = childPids(w.pid);
  w.child.kill('SIGKILL');
  for (const p of below) {
    try {
      process.kill(-p, 'SIGKILL'); // its agent session's process group
    } catch {
      process.kill(p, 'SIGKILL');
    }
  }
  await w.exited;
}

test('two workers whose dispatches choose the same issue at once: one runs it, the other is shown the winner and chooses another', async () => {
  const ids = ['a', 'b', 'c', 'd'];
  const { repo, env, choices } = await setUp(ids, (d) => [dispatchRun(d), ...ids.map((id) => implementRun(id))], { barrier: true });
  const workers: WorkerProc[] = ['w1', 'w2'].map((n) => startWorker(repo, n, env));
  const why = () => outputOf(workers);
  try {
    await waitFor(async () => (await landedCount(repo)) === 4 && ['w1', 'w2'].every((n) => phaseOf(repo, n) === 'sleeping'), 'four issues landed, both asleep', 90_000, why);
  } finally {
    await stopAll(workers);
  }
  const calls = readFakeLog(env);
  for (const id of ids) assert.is(calls.filter((c) => c.prompts[0]?.includes(`Implement the issue in issues/${id}.md.`)).length, 1, `issue ${id} was implemented once\n${why()}`);
  const picks = lines(choices);
  const twice = picks.map((p) => p.split(' ')[1]!).filter((p, i, all) => all.indexOf(p) !== i);
  assert.ok(twice.length >= 1, `two dispatches chose one issue at once\n${picks.join('\n')}\n${why()}`);
  const told = calls.filter((c) => isDispatch(c) && c.prompts[0]!.includes('## Taken while you chose'));
  assert.ok(told.length >= 1, 'the loser dispatched again, told');
  const prompt = told[0]!.prompts[0]!;
  const lost = twice[0]!;
  assert.match(prompt, new RegExp(`implement \\(issue: ${lost.replace('.', '\\.')}\\): you chose it, but w[12] on \\S+ took it first`));
  assert.match(prompt, /## Jobs claimed right now/);
  // the loser's next choice (after its lost one) is another issue
  const loser = picks.filter((p) => p.endsWith(` ${lost}`))[1]!.split(' ')[0]!;
  const mine = picks.filter((p) => p.startsWith(`${loser} `)).map((p) => p.split(' ')[1]);
  assert.ok(mine.indexOf(lost) >= 0 && mine[mine.indexOf(lost) + 1] !== lost, `the loser chose another issue next: ${mine.join(', ')}`);
  assert.match(why(), /took it first; nothing was taken; dispatching again \(2\/4\)/);
  // every claim was released as landed
  const all = await claims(repo);
  assert.is(all.length, 4);
  assert.ok(all.every((c) => c.record.state === 'landed'), all.map((c) => `${c.key} ${c.record.state}`).join('\n'));
});

test('coven dispatch by hand takes the claim (named in the decision file); coven land releases it as landed', async () => {
  const { repo, dir, env } = await setUp(['a'], (d) => [dispatchRun(d), implementRun('a')]);
  const spawned = await coven(['spawn', 'coven/hand'], { cwd: repo, env: { ...process.env, ...env } });
  assert.is(spawned.code, 0, spawned.stderr);
  const wt = spawned.stdout.trim().split('\n').pop()!;
  const decision = join(dir, 'decision.json');
  const d = await coven(['dispatch', '--worker', 'hand', '--out', decision], { cwd: wt, env: { ...process.env, ...env } });
  assert.is(d.code, 0, d.stderr);
  const file = JSON.parse(readFileSync(decision, 'utf8'));
  assert.is(file.kind, 'run');
  assert.ok(file.claim, 'the decision names its claim');
  const [held] = await claims(repo);
  assert.is(held!.ref, file.claim.ref);
  assert.is(held!.sha, file.claim.sha);
  assert.is(held!.record.state, 'held');
  assert.is(held!.record.holder.worker, 'hand');

  // another dispatch by hand now sees it taken: its prompt lists the claim
  const other = await coven(['dispatch', '--worker', 'other', '--no-lock'], { cwd: wt, env: { ...process.env, ...env } });
  assert.is(other.code, 0, other.stderr);
  assert.is(JSON.parse(other.stdout).kind, 'sleep', 'issue a is claimed: nothing else to do');
  assert.match(readFakeLog(env).filter(isDispatch).pop()!.prompts[0]!, /implement \(issue: issues\/a\.md\): held by hand on /);

  const ran = await coven(['run-agent', '--decision', decision, '--out', join(dir, 'session.json')], { cwd: wt, env: { ...process.env, ...env } });
  assert.is(ran.code, 0, ran.stderr);
  const landed = await coven(['land', '--keep', '--decision', decision], { cwd: wt, env: { ...process.env, ...env } });
  assert.is(landed.code, 0, landed.stderr);
  assert.match(landed.stdout, /released the claim on implement \(issue: issues\/a\.md\)/);
  const [after] = await claims(repo);
  assert.is(after!.record.state, 'landed');
  assert.is(after!.record.landed, await sh(repo, 'rev-parse', 'main'));
});

test('a dispatch that looked before the job landed is told stale-view: it looks again and never takes the job', async () => {
  const { repo, dir, env } = await setUp(['x', 'y'], (d) => [dispatchRun(d)]);
  const stateDir = join(repo, '.git', 'coven');
  const store = openClaimStore({ repo, stateDir, remote: null });
  const before = await sh(repo, 'rev-parse', 'main');
  const old = join(dir, 'old');
  await sh(repo, 'worktree', 'add', '-q', '--detach', old, before);
  // another worker takes x, lands it and releases its claim
  const job = { agent: 'implement', args: { issue: 'issues/x.md' } };
  const took = await store.take(job, holderOf('other'), before);
  assert.is(took.kind, 'taken');
  await sh(repo, 'rm', '-q', 'issues/x.md');
  await sh(repo, 'commit', '-q', '-m', 'implement x');
  const landedAt = await sh(repo, 'rev-parse', 'main');
  if (took.kind === 'taken') assert.is((await store.release(took.claim, { kind: 'landed', commit: landedAt })).kind, 'released');
  const tombstone = await sh(repo, 'rev-parse', took.kind === 'taken' ? took.claim.ref : '');

  // this dispatch looked at main before that land (its worktree still has issues/x.md)
  const looks: number[] = [];
  const outcome = await claimedDispatch({
    stateDir,
    worker: 'late',
    env: { ...process.env, ...env },
    worktree: old,
    lock: false,
    store,
    holder: holderOf('late'),
    look: async (round) => {
      looks.push(round);
      if (round > 1) await sh(old, 'checkout', '-q', '--detach', landedAt); // brought up to main
      return { mainTip: round === 1 ? before : landedAt, workers: [] };
    },
  });
  assert.is(outcome.kind, 'decided');
  if (outcome.kind !== 'decided') return;
  assert.equal(looks, [1, 2], 'it looked again');
  assert.equal(outcome.missed.map((m) => [m.why, m.job.args.issue]), [['stale-view', 'issues/x.md']]);
  assert.equal(outcome.decision.kind === 'run' && outcome.decision.args, { issue: 'issues/y.md' });
  assert.is(await sh(repo, 'rev-parse', took.kind === 'taken' ? took.claim.ref : ''), tombstone, 'the landed job was not taken again');
  assert.match(readFakeLog(env).filter(isDispatch)[1]!.prompts[0]!, /implement \(issue: issues\/x\.md\): other on \S+ landed it after you looked/);
});

test('a worker back from a job dispatches without waiting for a worker stuck in a long dispatch session', async () => {
  const ids = ['a', 'b'];
  const { repo, env } = await setUp(ids, (d) => [dispatchRun(d), implementRun('a', { steps: [{ bash: 'sleep 1.5' }, ...(implementRun('a').steps ?? [])] }), implementRun('b')], { hangFirstIn: 'w1' });
  const w2 = startWorker(repo, 'w2', env);
  const workers = [w2];
  const why = () => outputOf(workers);
  try {
    await waitFor(() => phaseOf(repo, 'w2') === 'running', 'w2 runs a', 30_000, why);
    workers.push(startWorker(repo, 'w1', env)); // just started: its dispatch session hangs 5 s
    await waitFor(async () => (await landedCount(repo)) === 2, 'a and b landed', 60_000, why);
  } finally {
    await stopAll(workers);
  }
  const calls = readFakeLog(env);
  const hung = calls.find((c) => isDispatch(c) && c.cwd.endsWith('/w1'))!;
  const b = calls.find((c) => c.prompts[0]?.includes('Implement the issue in issues/b.md.'))!;
  assert.ok(hung && b, why());
  assert.ok(b.cwd.endsWith('/w2'), 'w2 ran b');
  assert.ok(Date.parse(b.startedAt) < Date.parse(hung.endedAt), `b started (${b.startedAt}) while w1's dispatch still hung (until ${hung.endedAt})\n${why()}`);
});

test('kill -9 of a worker holding a claim: the next dispatch takes the claim over at once', async () => {
  const { repo, env, w1, workers, why } = await w1RunsA();
  try {
    const held = (await claims(repo))[0]!;
    assert.is(held.record.holder.worker, 'w1');
    const state = workerState(repo, 'w1');
    assert.ok(state && state !== 'corrupt' && state.claim?.ref === held.ref, 'the state records the claim');
    await killWithSession(w1);
    const w3 = startWorker(repo, 'w3', env);
    workers.push(w3);
    await waitFor(async () => (await landedCount(repo)) === 1 && (await claims(repo))[0]?.record.state === 'landed', 'a landed by w3, its claim released', 30_000, why);
    const [after] = await claims(repo);
    assert.is(after!.record.state, 'landed');
    assert.is(after!.record.holder.worker, 'w3');
    assert.is(after!.record.took_over?.worker, 'w1', 'taken over from the dead w1');
  } finally {
    await stopAll(workers, 'SIGTERM');
  }
});

test('kill -9 before the job committed anything: the restarted worker lets its claim go, and the job runs again', async () => {
  const { repo, env, w1, workers, why } = await w1RunsA();
  try {
    await killWithSession(w1);
    // the same worker again: it adopts its worktree, which holds nothing of the job
    const again = startWorker(repo, 'w1', env);
    workers.push(again);
    await waitFor(async () => (await landedCount(repo)) === 1, 'a landed after all', 30_000, why);
    assert.match(again.stdout(), /w1's earlier run of implement \(issue: issues\/a\.md\) stopped before it committed anything; its claim is released/);
    const [after] = await claims(repo);
    assert.is(after!.record.state, 'landed', `${JSON.stringify(after!.record)}\n${why()}`);
  } finally {
    await stopAll(workers, 'SIGTERM');
  }
});

test('kill -9 mid-job, the job redone and landed by another: the restarted worker keeps its old commits aside and never lands them', async () => {
  const partial = { match: { promptIncludes: 'Implement the issue in issues/a.md.', cwdIncludes: '/w1' }, steps: [{ write: { path: 'partial/a.txt', content: 'half of a\n' } }, { commit: 'partial a' }, { bash: 'sleep 60' }] };
  const { repo, env } = await setUp(['a'], (d) => [dispatchRun(d), implementRun('a', partial), implementRun('a')]);
  const w1 = startWorker(repo, 'w1', env);
  const workers = [w1];
  const why = () => outputOf(workers);
  try {
    await waitFor(() => phaseOf(repo, 'w1') === 'running' && /Bash: sleep 60/.test(w1.stdout()), 'w1 committed part of a', 30_000, why);
    await killWithSession(w1);
    const w3 = startWorker(repo, 'w3', env, ['--once']);
    workers.push(w3);
    assert.is((await w3.exited).code, 0, why());
    assert.is(await landedCount(repo), 1);
    const again = startWorker(repo, 'w1', env, ['--once']);
    workers.push(again);
    assert.is((await again.exited).code, 0, why());
    const subjects = (await sh(repo, 'log', '--format=%s', 'main')).split('\n');
    assert.not.ok(subjects.includes('partial a'), `the dead run's commit landed after w3 did the job: ${subjects.join(' | ')}`);
    assert.is(await landedCount(repo), 1);
    const kept = await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/lost/');
    assert.match(kept, /^refs\/coven\/lost\/w1\//);
    assert.is(await sh(repo, 'log', '-1', '--format=%s', kept.split('\n')[0]!), 'partial a');
    assert.match(again.stderr() + again.stdout(), /w1 adopted the worktree of its earlier run and does not land implement \(issue: issues\/a\.md\): w3 on .* landed it meanwhile/);
    assert.is((await claims(repo))[0]?.record.holder.worker, 'w3', 'the landed tombstone stays w3\'s');
  } finally {
    await stopAll(workers, 'SIGTERM');
  }
});

test.run();
