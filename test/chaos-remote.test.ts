// suite: long
// chaos-remote — workers on three "machines" (clones with their own git and state dirs)
// sharing only a git remote (git daemon on loopback), while workers and whole machines
// are killed with kill -9, the remote goes down for seconds at a time, and a human pushes
// to the remote's main (also to files the jobs change). The guarantees, each a named check
// (test/helpers/chaos-remote-checks.ts): (a) no commit lost, (b) the remote's main only
// moved forward and is linear, (c) no job done twice, (d) no claim stuck past its lease,
// (e) the workers' messages say what happened and what was kept.
//
//   env: COVEN_CHAOS=long    the long version (npm run test:chaos): 3 machines × 2 workers,
//                            20 issues, 6 kills + 2 machine kills, 4 outages, 6 human pushes
//                            (else 3 × 2, 8 issues, 2 kills + 1 machine kill, 2 outages, 3 pushes)
//        COVEN_CHAOS_SEED=N  replay the driver's choices of a failed run

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { workerLogTails } from './helpers/chaos.js';
import { renderRemoteFigures, runRemoteChaos, type RemoteChaosOptions } from './helpers/chaos-remote.js';

const long = process.env.COVEN_CHAOS === 'long';
const seed = Number(process.env.COVEN_CHAOS_SEED) || Math.floor(Math.random() * 1e9);
const common = { machines: 3, workersPerMachine: 2, seed, maxDelayMs: 600, leaseMs: 4000, pollMs: 2000 };
const options: RemoteChaosOptions = long
  ? { ...common, issues: 20, kills: 6, machineKills: 2, outages: 4, humanPushes: 6, humanConflicts: 2, deadlineMs: 300_000 }
  : { ...common, issues: 8, kills: 2, machineKills: 1, outages: 2, humanPushes: 3, humanConflicts: 1, deadlineMs: 100_000 };

test(`remote chaos: ${options.machines} machines × ${options.workersPerMachine} workers, ${options.issues} jobs, kill -9s, remote outages, a human pushing; nothing lost, main forward and linear, no job twice, no claim stuck`, async () => {
  const report = await runRemoteChaos({ ...options, progress: long ? (line) => console.log(line) : undefined });
  console.log(renderRemoteFigures(report.figures).replace(/^/gm, 'figures: '));
  if (report.problems.length > 0) {
    process.env.COVEN_KEEP_TEST_DIRS = '1';
    console.log(`remote: ${report.dirs.bare} (kept)\nclones: ${report.dirs.clones.join(' ')}\n${workerLogTails(report.dirs.logs)}`);
  }
  assert.equal(report.problems, []);
});

test.run();
