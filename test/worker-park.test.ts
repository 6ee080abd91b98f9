import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, run, sh } from './helpers/repo.js';
import { readFakeLog, type FakeRun } from './helpers/fake-claude.js';
import { A_SUBJECT, B_SUBJECT, MERGED, runBoth, sameLineRepo, sameLineRuns, type SameLine } from './helpers/same-line.js';

/** A resolution that gives up: it resumes the session and changes nothing. */
const failingRuns: FakeRun = { match: { promptIncludes: 'rebase conflict' }, expect: { resume: true }, times: 3, steps: [{ text: 'I could not merge these.' }] };
const sleepRun: FakeRun = { match: { promptIncludes: 'Choose the next job' }, times: 'unlimited', steps: [{ text: '<dispatch>\nsleep: nothing left to do\n</dispatch>' }] };

/** main after w1 landed: exactly one commit (a) on top of the start. */
async function mainHasOnlyA(s: SameLine): Promise<string> {
  assert.is(await sh(s.repo, 'log', '--format=%s', `${s.start}..main`), A_SUBJECT);
  return sh(s.repo, 'rev-parse', 'main');
}

async function waitFor<T>(what: string, read: () => T | null | Promise<T | null>, timeoutMs = 90_000, explain: () => string = () => ''): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (v !== null) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${explain()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What the workers and the fake did so far, for a timeout message. */
function explain(s: SameLine): string {
  const states = ['w1', 'w2'].map((w) => `${w}: ${phaseOf(s, w) ?? '(no state file)'}`).join(', ');
  const calls = readFakeLog(s.env).map((c) => `  ${c.cwd.split('/').pop()} exit ${c.exitCode} ${c.argv.includes('--resume') ? 'resume ' : ''}${(c.prompts[0] ?? '').split('\n')[0]!.slice(0, 80)}`);
  return `${states}\nfake sessions that ended:\n${calls.join('\n')}`;
}

function phaseOf(s: SameLine, worker: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(s.repo, '.git', 'coven', 'workers', `${worker}.json`), 'utf8')) as { phase: string }).phase;
  } catch {
    return null;
  }
}

test('three failed resolutions park the worker: the rebase is aborted, the branch keeps every commit, main is unchanged', async () => {
  const s = await sameLineRepo([...sameLineRuns(), failingRuns]);
  const [r1, r2] = await runBoth(s, ['--once'], ['--once']);
  assert.is(r1.code, 0, r1.stderr);
  assert.is(r2.code, 3, r2.stderr + r2.stdout); // stopped with work kept
  await mainHasOnlyA(s);

  const wt = s.worktree('w2');
  assert.is(await sh(wt, 'log', '--format=%s', '-1', 'coven/w2'), B_SUBJECT);
  assert.is(await sh(s.repo, 'rev-list', '--count', 'main..coven/w2'), '1');
  assert.is(existsSync(join(s.repo, '.git', 'worktrees', 'w2', 'rebase-merge')), false);
  assert.is(await sh(wt, 'status', '--porcelain'), '');
  assert.match(r2.stderr, /w2 is parked: its commits conflict with main in greeting\.txt, and 3 resolution rounds did not fix it/);
  assert.match(r2.stderr, /git -c core\.editor=true rebase --continue/);
  assert.match(r2.stdout, /── w2 · parked/);

  const resolves = readFakeLog(s.env).filter((c) => c.prompts[0]?.includes('rebase conflict'));
  assert.is(resolves.length, 3);
  assert.equal(resolves.map((c) => c.prompts[0]!.match(/round (\d) of 3/)?.[1]), ['1', '2', '3']);
  const job = readFakeLog(s.env).find((c) => c.prompts[0]?.includes('Implement the issue in issues/b.md'))!;
  for (const c of resolves) assert.is(c.sessionId, job.sessionId);
});

test('--on-park=continue sets the branch aside as coven/parked/… and goes on from main', async () => {
  const s = await sameLineRepo([...sameLineRuns(), failingRuns, sleepRun]);
  const [r1, r2] = await runBoth(s, ['--once'], ['--on-park', 'continue', '--max-idle', '1']);
  assert.is(r1.code, 0, r1.stderr);
  assert.is(r2.code, 0, r2.stderr + r2.stdout);
  await mainHasOnlyA(s);

  const aside = (await sh(s.repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/coven/parked/')).split('\n');
  assert.is(aside.length, 1);
  assert.match(aside[0]!, /^coven\/parked\/w2-/);
  assert.is(await sh(s.repo, 'log', '--format=%s', `main..${aside[0]}`), B_SUBJECT);
  assert.match(r2.stderr, /parked its work/);
  // it went on: one more dispatch, then slept and (max-idle) stopped with everything clean
  assert.match(r2.stdout, /w2 sleeps: nothing left to do/);
  const dispatches = readFakeLog(s.env).filter((c) => c.cwd.endsWith('/coven/w2') && c.prompts[0]?.includes('Choose the next job'));
  assert.is(dispatches.length, 2);
  assert.is(await sh(s.repo, 'branch', '--list', 'coven/w2'), '');
});

test('a parked worker (default) waits for the human, and goes on once its branch has nothing left to land', async () => {
  const s = await sameLineRepo([...sameLineRuns(), failingRuns, sleepRun]);
  const both = runBoth(s, ['--once'], ['--max-idle', '1']);
  await waitFor('w2 to park', () => (phaseOf(s, 'w2') === 'parked' ? true : null), 90_000, () => explain(s));
  const before = await mainHasOnlyA(s);

  // main moving for another reason does not end the wait (the branch still has work to land)
  await sh(s.repo, 'commit', '-q', '--allow-empty', '-m', 'unrelated');

  // the human resolves by hand, as the message said, and lands
  const wt = s.worktree('w2');
  const rebase = await run('git', ['rebase', 'main'], { cwd: wt });
  assert.is.not(rebase.code, 0);
  writeFileSync(join(wt, 'greeting.txt'), MERGED);
  await sh(wt, 'add', 'greeting.txt');
  await sh(wt, '-c', 'core.editor=true', 'rebase', '--continue');
  const land = await coven(['land', '--keep', '--worktree', wt], { cwd: wt });
  assert.is(land.code, 0, land.stderr);

  const [r1, r2] = await both;
  assert.is(r1.code, 0, r1.stderr);
  assert.is(r2.code, 0, r2.stderr + r2.stdout);
  assert.match(r2.stdout, /coven\/w2 has nothing left to land; w2 goes on/);
  assert.match(r2.stdout, /w2 sleeps: nothing left to do/);
  assert.is(readFakeLog(s.env).filter((c) => c.cwd.endsWith('/coven/w2') && c.prompts[0]?.includes('Choose the next job')).length, 2);
  assert.is(await sh(s.repo, 'log', '--format=%s', `${before}..main`), `${B_SUBJECT}\nunrelated`);
  assert.is(await sh(s.repo, 'branch', '--list', 'coven/*'), '');
});

test('a parked worker also goes on when the human drops the work (no move of main needed)', async () => {
  const s = await sameLineRepo([...sameLineRuns(), failingRuns, sleepRun]);
  const both = runBoth(s, ['--once'], ['--max-idle', '1']);
  await waitFor('w2 to park', () => (phaseOf(s, 'w2') === 'parked' ? true : null), 90_000, () => explain(s));
  const main = await mainHasOnlyA(s);
  await sh(s.worktree('w2'), 'reset', '-q', '--hard', 'main'); // the human's decision: drop b

  const [, r2] = await both;
  assert.is(r2.code, 0, r2.stderr + r2.stdout);
  assert.match(r2.stdout, /coven\/w2 has nothing left to land; w2 goes on/);
  assert.is(await sh(s.repo, 'rev-parse', 'main'), main);
});

test.run();
