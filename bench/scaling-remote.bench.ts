// scaling-remote — the scaling bench (scaling.bench.ts) in remote mode: N workers spread
// over machines (clones of a repository served by git daemon on loopback, each worker
// with --remote origin), and right after each remote run the same N in local mode on one
// repository, so that both see the machine in the same state. The fake claude answers at
// once: what is measured is coven's coordination (claims, fetch, rebase, push), not a model.
//
//   env:    SCALING_LAYOUTS (default 1x1,2x1,2x2,4x2: machines x workers per machine),
//           SCALING_JOBS (default 40), SCALING_MODES (default plain; plain,conflicts for both)
//   prints: each run as scaling.bench.ts does, then one table of every run; never asserts

import { report, runOnce, summary, type RunFigures } from './scaling.bench.js';

const layouts = (process.env.SCALING_LAYOUTS ?? '1x1,2x1,2x2,4x2').split(',').map((l) => l.split('x').map(Number) as [number, number]);
const modes = (process.env.SCALING_MODES ?? 'plain').split(',');
const runs: RunFigures[] = [];
for (const [machines, perMachine] of layouts) {
  for (const conflicts of [false, true].filter((c) => modes.includes(c ? 'conflicts' : 'plain'))) {
    for (const over of [machines, 0]) {
      const r = await runOnce(machines * perMachine, conflicts, over);
      runs.push(r);
      report(r);
    }
  }
}
console.log(`\nsummary, remote and local back to back (p50 / p95 over each run's phases):\n${summary(runs)}`);
