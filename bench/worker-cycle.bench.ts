// worker-cycle — coven's own overhead for one `coven worker --once` cycle (start, spawn
// the worktree, dispatch, run the agent, land, remove the worktree, exit) with the fake
// claude answering at once, split by phase. Each run is a fresh repository with one
// issue; dispatch picks `plan` for it; the plan agent writes a file and commits it.
//
// Phases come from the worker's timing trace (COVEN_TRACE, scripts/lib/trace.ts):
//   start     launch of `node coven.js worker` → phase `dispatching` (node start-up,
//             loading coven, repo lookup, spawn-worktree, the state file)
//   dispatch  `dispatching` → `running` (lock, prompt, the dispatch session, validation)
//   agent     `running` → `landing` (the agent session, the committed-work check)
//   land      `landing` → `stopping` (rebase + fast-forward of main)
//   stop      `stopping` → process exit (worktree and branch removed, state file gone)
// The fake's own share is each session's CLI process lifetime as coven saw it (spawn →
// exit of `fakes/bin/claude`: sh + node + the fake's work, commits included); coven's
// overhead = wall time − that. The same split is given in CPU time (the worker and
// every process it waited for: git, the fake), which a busy machine does not inflate.
//
//   env:    WORKER_CYCLE_RUNS (default 5)
//   prints: medians per phase, wall and coven-only; never asserts

import { spawnSync } from 'node:child_process';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { covenBin, sh, tempDir } from '../test/helpers/repo.js';
import { covenRepo, issueFile } from '../test/helpers/coven-repo.js';
import { fakeClaudeEnv, fakeClaudeBin, type FakeRun } from '../test/helpers/fake-claude.js';
import { traceNow } from '../scripts/lib/ui/trace.js';
import { cpuOf, median, phaseWindows, readTrace, sum } from './trace-events.js';

const runs = Number(process.env.WORKER_CYCLE_RUNS ?? 5);
const phases = ['start', 'dispatch', 'agent', 'land', 'stop'] as const;
type Phase = (typeof phases)[number];
const phaseOf: Record<string, Phase> = { dispatching: 'dispatch', running: 'agent', landing: 'land', stopping: 'stop' };

const script: FakeRun[] = [
  { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  { match: { promptIncludes: 'Plan the issue in issues/a.md' }, steps: [{ write: { path: 'plan.txt', content: 'the plan\n' } }, { commit: 'plan a' }, { text: 'Planned.' }] },
];

interface Figures {
  wall: number;
  fakeWall: number;
  cpu: number;
  fakeCpu: number;
}
type Cycle = Record<Phase | 'total', Figures>;

async function oneCycle(): Promise<Cycle> {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const dir = tempDir('coven-cycle-');
  const traceFile = join(dir, 'trace.jsonl');
  const env = { ...process.env, ...fakeClaudeEnv(script, join(dir, 'fake')), COVEN_WORKTREE_BASE: join(dir, 'wt'), COVEN_TRACE: traceFile };
  const t0 = traceNow();
  const r = spawnSync(process.execPath, [covenBin, 'worker', '--once', '--name', 'w1'], { cwd: repo, env, encoding: 'utf8' });
  const t1 = traceNow();
  if (r.status !== 0) throw new Error(`worker failed (${r.status}): ${r.stderr}${r.stdout}`);
  if ((await sh(repo, 'log', '-1', '--format=%s', 'main')) !== 'plan a') throw new Error('the plan did not land');

  const events = readTrace(traceFile);
  const windows = phaseWindows(events);
  const zero = (): Figures => ({ wall: 0, fakeWall: 0, cpu: 0, fakeCpu: 0 });
  const c: Cycle = { start: zero(), dispatch: zero(), agent: zero(), land: zero(), stop: zero(), total: zero() };
  const dispatching = events.find((e) => e.event === 'phase' && e.phase === 'dispatching');
  const stopped = events.find((e) => e.event === 'stopped');
  if (!dispatching || !stopped) throw new Error('the trace lacks the dispatching phase or the stopped event');
  c.start.wall = dispatching.t - t0;
  c.start.cpu = cpuOf(dispatching); // since the process started: node, loading coven, spawn-worktree's git
  for (const w of windows) {
    const p = phaseOf[w.phase];
    if (!p) continue;
    c[p].wall += w.to - w.from;
    c[p].cpu += w.cpuMs;
    c[p].fakeWall += w.cliMs;
    c[p].fakeCpu += w.cliCpuMs;
  }
  c.stop.wall += t1 - stopped.t; // exit after the last trace line
  for (const k of ['wall', 'fakeWall', 'cpu', 'fakeCpu'] as const) c.total[k] = sum(phases.map((p) => c[p][k]));
  return c;
}

function timeProcess(file: string, args: string[], input?: string): number {
  const t = performance.now();
  // (outside coven's own checkout: the fake refuses to run an agent there)
  const r = spawnSync(file, args, { cwd: tmpdir(), encoding: 'utf8', input, env: { ...process.env, ...fakeClaudeEnv(null) } });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${r.stderr}`);
  return performance.now() - t;
}

const cycles: Cycle[] = [];
await oneCycle(); // warm the file cache; not counted
for (let i = 0; i < runs; i++) cycles.push(await oneCycle());

const fmt = (ms: number) => `${ms.toFixed(0).padStart(5)} ms`;
const load = loadavg()[0]!.toFixed(1);
console.log(`one \`coven worker --once\` cycle, fake answering at once (median of ${runs}; load ${load} at the start)`);
console.log('  phase        wall   fake CLI      coven  │   CPU   fake CLI      coven');
for (const p of [...phases, 'total'] as const) {
  const m = (f: (x: Figures) => number) => fmt(median(cycles.map((c) => f(c[p]))));
  console.log(`  ${p.padEnd(8)} ${m((x) => x.wall)}  ${m((x) => x.fakeWall)}   ${m((x) => x.wall - x.fakeWall)}  │ ${m((x) => x.cpu)}  ${m((x) => x.fakeCpu)}   ${m((x) => x.cpu - x.fakeCpu)}`);
}
const msg = JSON.stringify({ type: 'user', message: { role: 'user', content: 'hi' } }) + '\n';
const fakeAlone = median(Array.from({ length: 7 }, () => timeProcess(fakeClaudeBin, ['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json'], msg)));
const nodeAlone = median(Array.from({ length: 7 }, () => timeProcess(process.execPath, ['-e', '0'])));
const help = median(Array.from({ length: 7 }, () => timeProcess(process.execPath, [covenBin, '--help'])));
const workerHelp = median(Array.from({ length: 7 }, () => timeProcess(process.execPath, [covenBin, 'worker', '--help'])));
console.log(`for scale: node -e 0 ${fmt(nodeAlone)} · the fake alone, one instant turn ${fmt(fakeAlone)} · coven --help ${fmt(help)} · coven worker --help ${fmt(workerHelp)}`);
