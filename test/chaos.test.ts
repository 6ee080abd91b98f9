// suite: long
// chaos — workers killed with kill -9 at random moments must never lose a commit, move
// main backwards or make it non-linear, touch the user's commits or uncommitted edits, or
// leave locks and litter behind (see test/helpers/chaos.ts for the scenario and what
// each invariant means). Both versions kill at every moment the design names
// (dispatching, running, resolving mid-rebase, landing) at least once.
//
//   env: COVEN_CHAOS=long    the long version (npm run test:chaos): 4 workers, 20 issues, 12 kills
//                            (else 8 issues, 4 kills)
//        COVEN_CHAOS_SEED=N  replay the driver's choices of a failed run

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderFigures, runChaos, workerLogTails, type ChaosOptions } from './helpers/chaos.js';

const long = process.env.COVEN_CHAOS === 'long';
const seed = Number(process.env.COVEN_CHAOS_SEED) || Math.floor(Math.random() * 1e9);
const options: ChaosOptions = long
  ? { workers: 4, issues: 20, kills: 12, seed, deadlineMs: 240_000, maxDelayMs: 900, everyMoment: true }
  : { workers: 4, issues: 8, kills: 4, seed, deadlineMs: 90_000, maxDelayMs: 500, everyMoment: true };

test(`chaos: ${options.workers} workers, ${options.issues} issues, kill -9 at random moments; nothing is lost, nothing is left in a mess`, async () => {
  const report = await runChaos({ ...options, progress: long ? (line) => console.log(line) : undefined });
  console.log(renderFigures(report.figures).replace(/^/gm, 'figures: ')); // run-tests shows these lines
  if (report.problems.length > 0) {
    process.env.COVEN_KEEP_TEST_DIRS = '1'; // kept for a look: the repository, the logs, the fake's transcripts
    console.log(`repository: ${report.dirs.repo} (kept)\n${workerLogTails(report.dirs.logs)}`);
  }
  assert.equal(report.problems, []);
  assert.ok(report.figures.kills.length > 0, 'no worker was killed');
});

test.run();
