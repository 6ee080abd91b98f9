import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sh } from './helpers/repo.js';
import { readFakeLog } from './helpers/fake-claude.js';
import { B_SUBJECT, failingRuns, mainHasOnlyA, runBoth, sameLineRepo, sameLineRuns, sleepRun } from './helpers/same-line.js';

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

test.run();
