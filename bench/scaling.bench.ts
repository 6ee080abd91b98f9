// scaling — how coven's coordination holds up as workers are added: 1, 2, 4, 8 and 16
// `coven worker` processes on one repository work off a fixed set of issues with the
// fake claude answering at once, so what is measured is coven (and the fake's start-up),
// not a model. Two workloads: every job touches its own files; and one job in five
// conflicts: while it runs, the user commits a rewrite of the line it rewrites
// (hot/<k>.txt) on main in the main worktree, so its land, based on the older main, stops
// on a conflict that the fake resolves when coven resumes its session. That happens the
// same way at every N, also with a single worker, which syncs with main before each
// dispatch and so could not conflict with itself.
//
// The agents are the fake's scripted runs (reply_from_bash):
//   dispatch   lists the issues still on main and answers with the first one no other
//              worker holds (the prompt lists the other workers' arguments), else sleep
//   implement  writes out/<id>.txt (or, for a conflicting job: the user rewrites
//              hot/<k>.txt on main, then the job rewrites its own copy), moves the issue
//              to done/, commits
//   resolve    keeps both sides of every conflicted file, then rebase --continue
// Workers run with --max-idle 1 (they exit once dispatch finds nothing free) and
// --on-park continue. Timings come from the workers' trace (COVEN_TRACE).
//
//   env:    SCALING_JOBS (default 40), SCALING_WORKERS (default 1,2,4,8,16),
//           SCALING_MODES (default plain,conflicts), SCALING_PICK (first: the dispatch
//           answers with the first free issue, as below; random: a random free one, as a
//           model choosing among equal issues would: fewer parallel dispatches collide),
//           SCALING_SVG (default <project>/docs/scaling.svg; "" to skip)
//   prints: per run jobs/min, conflicts and resolution sessions, per-phase p50/p95, lock
//           waits, claims lost and stale views (each one a re-dispatch session), jobs run
//           more than once (must be 0), where worker time went; then a summary table of every run (p50 and
//           p95 per phase); writes the chart, its note naming this machine; never asserts

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { covenBin, projectRoot, sh, tempDir, tempRepo } from '../test/helpers/repo.js';
import { writeFiles } from '../test/helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun } from '../test/helpers/fake-claude.js';
import { traceNow } from '../scripts/lib/ui/trace.js';
import { median, phaseWindows, quantile, readTrace, sum, type PhaseWindow } from './trace-events.js';
import { scalingChart, type ScalingPoint } from './scaling-chart.js';
import { spreadOverMachines } from './scaling-remote.js';

const jobs = Number(process.env.SCALING_JOBS ?? 40);
const workerCounts = (process.env.SCALING_WORKERS ?? '1,2,4,8,16').split(',').map(Number);
const modes = (process.env.SCALING_MODES ?? 'plain,conflicts').split(',');
const svgFile = process.env.SCALING_SVG ?? join(projectRoot, 'docs', 'scaling.svg');
const runLimitMs = 5 * 60_000;

const agents: Record<string, string> = {
  'dispatch.md': '---\ndescription: chooses the next job\nclaude_args: ["--allowedTools=Bash"]\n---\nChoose the next job.\n',
  'implement.md': '---\ndescription: implements one issue\nargs:\n  - name: issue\n    description: path of the issue file\nclaude_args: ["--allowedTools=Bash"]\n---\nImplement the issue in {{issue}}.\n',
};

const pick = process.env.SCALING_PICK === 'random' ? 'random' : 'first';

/** SCALING_PICK=random: a random issue on main that no other worker holds */
const pickRandomSh = `taken=$(printf '%s\\n' "$FAKE_CLAUDE_PROMPT" | grep -o 'issues/[a-z0-9-]*\\.md' | sort -u)
f=$(git ls-tree --name-only "\${PICK_REF:-main}" issues/ | grep '\\.md$' | grep -vxF "$taken" | awk -v seed="$$" 'BEGIN { srand(seed) } { line[NR] = $0 } END { if (NR > 0) print line[int(rand() * NR) + 1] }')
if [ -n "$f" ]; then
  printf 'Nobody holds %s.\\n<dispatch>\\nagent: implement\\nissue: %s\\n</dispatch>\\n' "$f" "$f"
  exit 0
fi
printf '<dispatch>\\nsleep: every open issue is taken or done\\n</dispatch>\\n'
`;

const pickSh = `# the first issue on main that no other worker holds
taken=$(printf '%s\\n' "$FAKE_CLAUDE_PROMPT" | grep -o 'issues/[a-z0-9-]*\\.md' | sort -u)
for f in $(git ls-tree --name-only "\${PICK_REF:-main}" issues/); do
  case "$f" in *.md) ;; *) continue ;; esac
  if ! printf '%s\\n' "$taken" | grep -qx "$f"; then
    printf 'Nobody holds %s.\\n<dispatch>\\nagent: implement\\nissue: %s\\n</dispatch>\\n' "$f" "$f"
    exit 0
  fi
done
printf '<dispatch>\\nsleep: every open issue is taken or done\\n</dispatch>\\n'
`;

/**
 * The implement job; `mainWorktree` is where the user commits for a conflicting job (in
 * remote mode, a clone of the user's own: the edit is pushed to the remote's main).
 */
const workSh = (mainWorktree: string, remote = false) => `set -e
issue=$(printf '%s\\n' "$FAKE_CLAUDE_PROMPT" | grep -o 'issues/[a-z0-9-]*\\.md' | head -n 1)
id=$(basename "$issue" .md)
case "$id" in
  *-hot*)
    hot="hot/\${id##*-}.txt"
    # meanwhile the user rewrites the same line on main (retrying while a land holds the index)
    ( cd '${mainWorktree}' && ${remote ? userPushes : userCommits} )
    printf '%s\\n' "$id" > "$hot" ;;
  *) mkdir -p out && printf '%s\\n' "$id" > "out/$id.txt" ;;
esac
mkdir -p done
git mv "$issue" "done/$id.md"
git add -A
git commit -q -m "implement $id"
echo "Implemented $id."
`;

const userCommits = `printf 'user edit\\n' > "$hot" && i=0 &&
      until git commit -q -m "user: edit $hot" -- "$hot" 2> /dev/null; do i=$((i + 1)); [ "$i" -lt 100 ] || exit 1; sleep 0.05; done`;
const userPushes = `i=0 && until git fetch -q origin main && git reset -q --hard origin/main && printf 'user edit\\n' > "$hot" &&
      git commit -q -m "user: edit $hot" -- "$hot" && git push -q origin HEAD:refs/heads/main 2> /dev/null; do i=$((i + 1)); [ "$i" -lt 100 ] || exit 1; sleep 0.05; done`;

const resolveSh = `set -e
for f in $(git diff --name-only --diff-filter=U); do
  { git show ":2:$f"; git show ":3:$f"; } > "$f.both"
  mv "$f.both" "$f"
  git add "$f"
done
git -c core.editor=true rebase --continue > /dev/null
echo "Kept both sides."
`;

/** Issue ids: when `conflicts`, the 5th of every five conflicts (with the user's edit of hot/<k>.txt). */
function issueIds(conflicts: boolean): string[] {
  return Array.from({ length: jobs }, (_, i) => {
    const id = `j${String(i + 1).padStart(3, '0')}`;
    return conflicts && i % 5 === 4 ? `${id}-hot${Math.floor(i / 5)}` : id;
  });
}

export interface RunFigures {
  workers: number;
  /** remote mode: how many machines the workers were spread over; 0: local mode */
  machines: number;
  conflicts: boolean;
  landed: number;
  left: number;
  wallMs: number;
  jobsPerMin: number;
  /** from the first land to the last: the rate once every worker is up */
  steadyPerMin: number;
  load: [number, number];
  /** lands that stopped on a conflict (resolving phases) */
  resolutions: number;
  /** resumed sessions asked to resolve one (a conflict may take more than one) */
  resolveSessions: number;
  parked: number;
  windows: PhaseWindow[];
  lockWaits: { dispatch: number[]; land: number[] };
  cliMs: number;
  stray: string[];
  /** claims a dispatch chose but another worker took first; claims of a job that landed after the dispatch looked: each one a re-dispatch session */
  claims: { lost: number; staleView: number };
  /** issues implemented by more than one session (must be 0) */
  ranTwice: number;
}

/** One run of `workers` workers: on one repository, or (`machines` > 0) spread over that many clones of a remote (scaling-remote.ts). */
export async function runOnce(workers: number, conflicts: boolean, machines = 0): Promise<RunFigures> {
  const repo = await tempRepo('project');
  writeFiles(join(repo, '.coven', 'agents'), agents);
  const ids = issueIds(conflicts);
  const files: Record<string, string> = {};
  for (const id of ids) files[`issues/${id}.md`] = `---\npriority: P1\nstate: approved\n---\n# ${id}\n`;
  for (const id of ids.filter((x) => x.includes('-hot'))) files[`hot/${id.split('-').pop()}.txt`] = 'base\n';
  writeFiles(repo, files);
  await sh(repo, 'add', '-A');
  await sh(repo, 'commit', '-q', '-m', 'issues');

  const remote = machines > 0 ? await spreadOverMachines(repo, machines) : null;
  const dir = tempDir('coven-scaling-');
  writeFiles(dir, { 'pick.sh': pick === 'random' ? pickRandomSh : pickSh, 'work.sh': remote ? workSh(remote.human, true) : workSh(repo), 'resolve.sh': resolveSh });
  const script: FakeRun[] = [
    { match: { promptIncludes: 'Choose the next job' }, times: 'unlimited', steps: [{ reply_from_bash: `sh ${join(dir, 'pick.sh')}` }] },
    { match: { promptIncludes: 'stopped on a rebase conflict' }, times: 'unlimited', steps: [{ reply_from_bash: `sh ${join(dir, 'resolve.sh')}` }] },
    { match: { promptIncludes: 'Implement the issue in' }, times: 'unlimited', steps: [{ reply_from_bash: `sh ${join(dir, 'work.sh')}` }] },
  ];
  const traceFile = join(dir, 'trace.jsonl');
  const fake = fakeClaudeEnv(script, join(dir, 'fake'));
  const env = { ...process.env, ...fake, COVEN_WORKTREE_BASE: join(dir, 'wt'), COVEN_TRACE: traceFile, ...(remote ? { PICK_REF: 'refs/remotes/origin/main' } : {}) };

  const loadBefore = loadavg()[0]!;
  const t0 = traceNow();
  const exits = Array.from({ length: workers }, (_, i) => {
    const at = remote?.place(i) ?? { cwd: repo, args: [], env: {} };
    const child = spawn(process.execPath, [covenBin, 'worker', '--name', `w${i + 1}`, '--max-idle', '1', '--on-park', 'continue', ...at.args], { cwd: at.cwd, env: { ...env, ...at.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const limit = setTimeout(() => child.kill('SIGTERM'), runLimitMs);
    return new Promise<{ code: number | null; stderr: string; end: number }>((resolve) =>
      child.on('exit', (code) => {
        clearTimeout(limit);
        resolve({ code, stderr, end: traceNow() });
      }),
    );
  });
  const ended = await Promise.all(exits);
  const failed = ended.filter((e) => e.code !== 0);
  for (const f of failed) process.stderr.write(`  a worker exited ${f.code}: ${f.stderr.trim().split('\n').slice(-3).join(' | ')}\n`);

  const events = readTrace(traceFile);
  const endOf = new Map<string, number>();
  ended.forEach((e, i) => endOf.set(`w${i + 1}`, e.end));
  const windows = phaseWindows(events, (w) => endOf.get(w));
  const landedEvents = events.filter((e) => e.event === 'landed');
  const lastLand = Math.max(...landedEvents.map((e) => e.t));
  const firstLand = Math.min(...landedEvents.map((e) => e.t));
  const left = (await sh(remote?.bare ?? repo, 'ls-tree', '--name-only', 'main', 'issues/')).split('\n').filter(Boolean).length;
  const wallMs = lastLand - t0;
  // claims' tombstones stay by design (coven gc removes them after a day)
  const stray = (await sh(remote?.bare ?? repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/')).split('\n').filter((r) => r && !r.startsWith('refs/coven/claims/'));
  await remote?.stop();
  return {
    workers,
    machines,
    conflicts,
    landed: landedEvents.length,
    left,
    wallMs,
    jobsPerMin: landedEvents.length / (wallMs / 60_000),
    steadyPerMin: (landedEvents.length - 1) / ((lastLand - firstLand) / 60_000),
    load: [loadBefore, loadavg()[0]!],
    resolutions: windows.filter((w) => w.phase === 'resolving').length,
    resolveSessions: readFakeLog(fake).filter((c) => c.prompts.some((p) => p.includes('stopped on a rebase conflict'))).length,
    parked: windows.filter((w) => w.phase === 'parked').length,
    windows,
    lockWaits: {
      dispatch: events.filter((e) => e.event === 'lock' && e.lock === 'dispatch').map((e) => e.waited_ms ?? 0),
      land: events.filter((e) => e.event === 'lock' && e.lock === 'land').map((e) => e.waited_ms ?? 0),
    },
    cliMs: sum(windows.map((w) => w.cliMs)),
    stray,
    claims: { lost: events.filter((e) => e.event === 'claim' && e.result === 'lost').length, staleView: events.filter((e) => e.event === 'claim' && e.result === 'stale-view').length },
    ranTwice: ranTwice(readFakeLog(fake).flatMap((c) => /Implement the issue in (issues\/[a-z0-9-]+\.md)/.exec(c.prompts[0] ?? '')?.[1] ?? [])),
  };
}

/** How many issues more than one implement session was started for. */
function ranTwice(issues: string[]): number {
  const seen = new Map<string, number>();
  for (const i of issues) seen.set(i, (seen.get(i) ?? 0) + 1);
  return [...seen.values()].filter((n) => n > 1).length;
}

/** Where the workers' time went, per landed job (ms), start-up left out: the parts of the chart's bars. */
export function timePerJob(r: RunFigures): ScalingPoint['perJob'] {
  const of = (phases: string[]) => r.windows.filter((w) => phases.includes(w.phase));
  const busy = of(['dispatching', 'running', 'landing', 'resolving']);
  const dispatchWait = sum(r.lockWaits.dispatch);
  const land = sum(of(['landing', 'resolving']).map((w) => w.to - w.from - w.cliMs));
  const cli = sum(busy.map((w) => w.cliMs));
  const other = sum(busy.map((w) => w.to - w.from)) - cli - dispatchWait - land;
  const n = Math.max(1, r.landed);
  return { agentCli: cli / n, dispatchLockWait: dispatchWait / n, land: land / n, otherCoven: other / n };
}

/**
 * CPU time per landed job (ms) in the phases of a job (dispatching to landing): every
 * worker and the processes it waited for; of that, the agent CLI's and the time spent
 * waiting for the dispatch lock. Start-up (node, spawn-worktree) is left out.
 */
function cpuPerJob(r: RunFigures): { all: number; cli: number; lockWait: number } {
  const busy = r.windows.filter((w) => ['dispatching', 'running', 'landing', 'resolving'].includes(w.phase) && Number.isFinite(w.cpuMs));
  const n = Math.max(1, r.landed);
  return { all: sum(busy.map((w) => w.cpuMs)) / n, cli: sum(busy.map((w) => w.cliCpuMs)) / n, lockWait: sum(busy.map((w) => w.lockWaitCpuMs)) / n };
}

const fmt = (ms: number) => (Number.isFinite(ms) ? (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`) : '-');
const p50p95 = (xs: number[]) => `${fmt(median(xs))} / ${fmt(quantile(xs, 0.95))}`;
const PHASES = [
  ['start', 'starting'],
  ['dispatch', 'dispatching'],
  ['agent', 'running'],
  ['land', 'landing'],
  ['resolve', 'resolving'],
] as const;
const durations = (r: RunFigures, phase: string) => r.windows.filter((w) => w.phase === phase).map((w) => w.to - w.from);
const heldDispatch = (r: RunFigures) => r.windows.filter((w) => w.phase === 'dispatching').map((w) => w.to - w.from - w.lockWaitMs.dispatch);
const workload = (r: RunFigures) => (r.conflicts ? '20% conflicts' : 'no conflicts ');

export function report(r: RunFigures): void {
  const t = timePerJob(r);
  const perJob = t.agentCli + t.dispatchLockWait + t.land + t.otherCoven;
  const coordination = t.dispatchLockWait + t.land + t.otherCoven;
  console.log(
    `N=${String(r.workers).padStart(2)}${r.machines ? ` over ${r.machines} machine${r.machines > 1 ? 's' : ''} (remote)` : ''} ${workload(r)}: ${r.landed}/${jobs} landed (${r.left} left) in ${fmt(r.wallMs)} → ${r.jobsPerMin.toFixed(1)} jobs/min (first → last land ${r.steadyPerMin.toFixed(1)});` +
      ` conflicts ${r.resolutions} (resolution sessions ${r.resolveSessions}), parked ${r.parked}${r.stray.length ? `, refs/coven: ${r.stray.length}` : ''}; load ${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)}`,
  );
  console.log(`   phase p50/p95: ${PHASES.map(([label, phase]) => `${label} ${p50p95(durations(r, phase))}`).join(' · ')}`);
  console.log(`   counting the dispatch sessions' own CLI time as coordination too (a lost claim costs one more session): ${(dispatchShare(r) * 100).toFixed(0)}%`);
  console.log(`   claims: lost ${r.claims.lost}, stale views ${r.claims.staleView} (re-dispatch sessions ${r.claims.lost + r.claims.staleView}); jobs run twice: ${r.ranTwice}; dispatch pick: ${pick}`);
  console.log(`   lock wait p50/p95: dispatch ${p50p95(r.lockWaits.dispatch)} · land ${p50p95(r.lockWaits.land)}; dispatch lock held p50 ${fmt(median(heldDispatch(r)))}`);
  console.log(
    `   worker time per job ${fmt(perJob)}: agent CLI ${fmt(t.agentCli)} · dispatch-lock wait ${fmt(t.dispatchLockWait)} · land ${fmt(t.land)} · other coven ${fmt(t.otherCoven)}` +
      ` → coordination ${((coordination / perJob) * 100).toFixed(0)}%`,
  );
  const cpu = cpuPerJob(r);
  console.log(`   CPU per job ${fmt(cpu.all)}: agent CLI ${fmt(cpu.cli)} · coven ${fmt(cpu.all - cpu.cli)}, of which waiting for the dispatch lock ${fmt(cpu.lockWait)}`);
}

/** The coordination share when the dispatch sessions' CLI time counts as coordination (re-dispatches after a lost claim included). */
function dispatchShare(r: RunFigures): number {
  const t = timePerJob(r);
  const perJob = t.agentCli + t.dispatchLockWait + t.land + t.otherCoven;
  const dispatchCli = sum(r.windows.filter((w) => w.phase === 'dispatching').map((w) => w.cliMs)) / Math.max(1, r.landed);
  return (perJob - t.agentCli + dispatchCli) / perJob;
}

/** Every run as one row of a markdown table (the shape of docs/benchmarks.md's), p50 / p95 per phase. */
export function summary(runs: RunFigures[]): string {
  const head = ['workers', 'jobs', 'jobs/min', 'conflicts (sessions)', ...PHASES.map(([label]) => `${label} p50 / p95`), 'dispatch-lock wait p50 / p95', 'lock held p50', 'claims lost / stale (re-dispatches)', 'worker time per job: agent CLI / lock wait / land / other coven', 'coordination share', 'with dispatch sessions'];
  const rows = runs.map((r) => {
    const t = timePerJob(r);
    const perJob = t.agentCli + t.dispatchLockWait + t.land + t.otherCoven;
    return [
      r.machines ? `${r.workers} over ${r.machines} (remote)` : String(r.workers),
      r.conflicts ? '20% conflict' : 'plain',
      r.jobsPerMin.toFixed(0),
      `${r.resolutions} (${r.resolveSessions})`,
      ...PHASES.map(([, phase]) => p50p95(durations(r, phase))),
      p50p95(r.lockWaits.dispatch),
      fmt(median(heldDispatch(r))),
      `${r.claims.lost} / ${r.claims.staleView}${r.ranTwice ? ` (ran twice: ${r.ranTwice})` : ''}`,
      [t.agentCli, t.dispatchLockWait, t.land, t.otherCoven].map((x) => x.toFixed(0)).join(' / ') + ' ms',
      `${(((perJob - t.agentCli) / perJob) * 100).toFixed(0)} %`,
      `${(dispatchShare(r) * 100).toFixed(0)} %`,
    ];
  });
  return [head, head.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** e.g. "2 cores · Node v20.19.0 · git 2.39.5": the machine the chart was drawn on. */
function machineNote(): string {
  const git = execFileSync('git', ['--version'], { encoding: 'utf8' }).trim().replace(/^git version /, 'git ');
  const n = cpus().length;
  return `${n} core${n === 1 ? '' : 's'} · Node ${process.version} · ${git}`;
}

// for each N both workloads, one after the other, so that both see the machine in the same state
// (only when run as the benchmark: scaling-remote.bench.ts imports runOnce)
const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntry) await scalingLocal();

async function scalingLocal(): Promise<void> {
  const points: ScalingPoint[] = [];
  const runs: RunFigures[] = [];
  const loads: number[] = [];
  for (const n of workerCounts) {
    for (const conflicts of [false, true].filter((c) => modes.includes(c ? 'conflicts' : 'plain'))) {
      const r = await runOnce(n, conflicts);
      runs.push(r);
      loads.push(...r.load);
      report(r);
      points.push({ workers: n, conflicts, jobsPerMin: r.jobsPerMin, perJob: timePerJob(r), dispatchP50: median(durations(r, 'dispatching')), landP50: median(durations(r, 'landing')) });
    }
  }
  console.log(`\nsummary (${jobs} jobs per run; p50 / p95 over each run's phases):\n${summary(runs)}`);
  if (svgFile) {
    mkdirSync(join(svgFile, '..'), { recursive: true });
    const load = `load ${Math.min(...loads).toFixed(0)}–${Math.max(...loads).toFixed(0)}`;
    writeFileSync(svgFile, scalingChart(points, { jobs, note: `${machineNote()} · fake claude answering at once · ${jobs} jobs per run · ${load} during the runs` }));
    console.log(`chart: ${svgFile}`);
  }
}
