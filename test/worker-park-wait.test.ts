import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, run, sh } from './helpers/repo.js';
import { readFakeLog } from './helpers/fake-claude.js';
import { B_SUBJECT, explain, failingRuns, MERGED, mainHasOnlyA, phaseOf, runBoth, sameLineRepo, sameLineRuns, sleepRun, waitFor } from './helpers/same-line.js';

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

test("a parked worker stopped while the human is resolving in its worktree leaves the human's rebase and resolution as they are", async () => {
  const s = await sameLineRepo([...sameLineRuns(), failingRuns, sleepRun]);
  const both = runBoth(s, ['--once'], ['--max-idle', '1']);
  await waitFor('w2 to park', () => (phaseOf(s, 'w2') === 'parked' ? true : null), 90_000, () => explain(s));
  const wt = s.worktree('w2');
  const rebase = await run('git', ['rebase', 'main'], { cwd: wt }); // as the parked message says
  assert.is.not(rebase.code, 0);
  writeFileSync(join(wt, 'greeting.txt'), MERGED); // the human's resolution, not yet continued
  await sh(wt, 'add', 'greeting.txt');
  const { pid } = JSON.parse(readFileSync(join(s.repo, '.git', 'coven', 'workers', 'w2.json'), 'utf8')) as { pid: number };
  process.kill(pid, 'SIGTERM'); // they stop the waiting worker: they are on it themselves

  const [, r2] = await both;
  assert.is(r2.code, 3, r2.stderr + r2.stdout);
  assert.ok(existsSync(join(s.repo, '.git', 'worktrees', 'w2', 'rebase-merge')), 'the rebase is still in progress');
  assert.is(readFileSync(join(wt, 'greeting.txt'), 'utf8'), MERGED, 'the resolution is intact');
  assert.match(r2.stderr, /rebase in progress/);
  await sh(wt, '-c', 'core.editor=true', 'rebase', '--continue'); // and they finish it
  assert.is(await sh(wt, 'log', '-1', '--format=%s'), B_SUBJECT);
});

test.run();
