// chaos (helper) — the chaos scenario of test/chaos.test.ts: several `coven worker`
// processes on one repository, a fake agent whose jobs append to shared files (so
// rebases really conflict) and commit, a driver that kill -9s workers at chosen moments
// (starting, dispatching, running, landing, resolving) and starts replacements (half of
// them adopting the dead worker's name and worktree), and a simulated user who commits
// to main and keeps uncommitted edits in the main worktree. While they run, a watch
// (chaos-watch.ts) follows the locks and main's tip. At the end every worker is stopped,
// `coven gc` runs, and the invariants are checked.
//
//   runChaos(options) → { figures, problems }   problems: every invariant that broke
//
// Every choice of the driver (delays, victims, kill moments, how, replacements, the
// fake dispatcher's pick) comes from the seed, one random stream per actor, so
// COVEN_CHAOS_SEED replays them; the timing of the processes still varies.
//
// The kill moments the design names (MOMENTS: dispatching, running, resolving — the
// worktree mid-rebase — and landing) are aimed at first, each until one kill hit it;
// with `everyMoment`, a moment that got no kill is a problem.
//
// What "a commit an agent made" means here: the agent's commit script (commit.sh) puts
// a unique `chaos-marker: <hex>` line in each message and, once `git commit` succeeded,
// records the id and the marker. A commit counts as kept when its marker is in a commit
// reachable from main, from a branch under coven/, or from a ref under refs/coven/; a
// rebase rewrites the id but keeps the message, so a landed copy counts. Each marker is
// also a line in a shared file: every marker on main must be a line of main's files
// (no conflict resolution dropped a landed change).

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLockHolder } from '../../scripts/lib/locks/dispatch-lock.js';
import { livenessOf } from '../../scripts/lib/locks/process-identity.js';
import { readWorkerStates, type Phase, type WorkerState } from '../../scripts/lib/worker/state.js';
import { ChaosWatch, type DeadLock } from './chaos-watch.js';
import { covenRepo, issueFile } from './coven-repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun } from './fake-claude.js';
import { coven, covenBin, run, sh, tempDir } from './repo.js';

export interface ChaosOptions {
  workers: number;
  issues: number;
  /** how many kill -9s the driver aims for (fewer if the work is done first) */
  kills: number;
  seed: number;
  /** the whole run gives up after this long, reporting what it saw */
  deadlineMs: number;
  /** agent step delays are drawn from [0, maxDelayMs] */
  maxDelayMs?: number;
  /** a moment of MOMENTS that got no kill is a problem (the long run) */
  everyMoment?: boolean;
  progress?: (line: string) => void;
}

export type KillMoment = Phase | 'any';

/** the moments the design names: each must get a kill (with `everyMoment`) */
export const MOMENTS = ['dispatching', 'running', 'resolving', 'landing'] as const;

export interface Kill {
  worker: string;
  /** the phase the driver waited for, and the one the state file showed at the kill */
  wanted: KillMoment;
  phase: string;
  /** its worktree was in the middle of a rebase at the kill */
  midRebase: boolean;
  /** the worker alone, or its whole process group (its git commands too) */
  how: 'pid' | 'group';
  /** the replacement: same name (adopts the worktree) or a new one */
  replacement: 'adopt' | 'new' | 'none';
  atMs: number;
}

export interface ChaosFigures {
  seed: number;
  workersStarted: number;
  kills: Kill[];
  commitsMade: number;
  agentCommitsOnMain: number;
  commitsOnMain: number;
  userCommits: number;
  keptBranches: string[];
  keptRefs: string[];
  /** refs gc --force wrote for commits only a removed worker's reflogs reached */
  reflogRefs: string[];
  resolveSessions: number;
  /** locks the watch saw held by a dead worker, and how long until a waiter broke them */
  deadLocks: DeadLock[];
  /** what the workers' logs say they recovered: orphaned sessions ended, worktrees adopted, … */
  recoveries: Record<string, number>;
  seconds: number;
}

export interface ChaosReport {
  figures: ChaosFigures;
  problems: string[];
  /** where to look when it failed: the repo, the worker logs */
  dirs: { repo: string; logs: string };
}

// ---------------------------------------------------------------------------------
// the repository and the fake agent

export const SHARED = ['shared/a.txt', 'shared/b.txt', 'shared/c.txt'];
/** touched by two issues only; the user keeps an uncommitted edit of it for a while */
export const RARE = 'shared/rare.txt';

export const issueId = (k: number) => `i${String(k).padStart(2, '0')}`;

/** The two files issue k appends to. */
export function filesOf(k: number): [string, string] {
  const first = SHARED[k % SHARED.length]!;
  const second = k <= 2 ? RARE : SHARED[(k + 1) % SHARED.length]!;
  return [first, second];
}

export const agents = {
  '.coven/agents/dispatch.md': `---
description: picks a chaos issue
claude_args: ["--allowedTools=Bash"]
---
Pick a chaos issue.
`,
  '.coven/agents/implement.md': `---
description: implements one chaos issue
args:
  - name: issue
    description: path of the issue file
claude_args: ["--allowedTools=Bash,Read,Edit,Write"]
---
Implement {{issue}}.
`,
};

export const scripts = {
  'dispatch.sh': `#!/bin/sh
# an open issue that no other worker holds (named in the prompt: its workers, its claims), else sleep;
# which one: the n-th dispatch takes the n-th number of the seeded file random.bin
# (dispatches are one at a time, under the dispatch lock)
here=$(dirname "$0")
n=$(cat "$here/dispatches" 2>/dev/null || echo 0)
echo $((n + 1)) > "$here/dispatches"
free=$(for f in $(ls issues 2>/dev/null); do
  # taken: named in the prompt, except on a line that says its claim may be taken over
  if printf '%s\\n' "$FAKE_CLAUDE_PROMPT" | grep -v 'may be taken over' | grep -qF "issues/$f"; then continue; fi
  echo "$f"
done)
count=$(printf '%s\\n' "$free" | grep -c .) || true
if [ "$count" -gt 0 ]; then
  r=$(od -An -tu2 -N2 -j $(( (n * 2) % 4096 )) "$here/random.bin" | tr -d ' ')
  f=$(printf '%s\\n' "$free" | sed -n "$(( r % count + 1 ))p")
  printf 'Taking %s.\\n<dispatch>\\nagent: implement\\nissue: issues/%s\\n</dispatch>\\n' "$f" "$f"
  exit 0
fi
printf '<dispatch>\\nsleep: every open issue is taken\\n</dispatch>\\n'
`,
  'commit.sh': `#!/bin/sh
# commit.sh ISSUE PART FILE [move]: append a marker line to FILE, commit it, record the commit
set -e
m=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n')
printf '%s.%s %s\\n' "$1" "$2" "$m" >> "$3"
if [ "$4" = move ] && [ -f "issues/$1.md" ]; then mkdir -p done; git mv -f "issues/$1.md" "done/$1.md"; fi
git add -A
git commit -q -m "$1: part $2" -m "chaos-marker: $m"
printf '%s %s %s\\n' "$(git rev-parse HEAD)" "$m" "$PWD" >> "$CHAOS_COMMITS"
echo "committed $1 part $2"
`,
  'resolve.sh': `#!/bin/sh
# keep both sides of every conflict (all changes are appended lines), continue until the
# rebase is done; what it saw goes to $CHAOS_RESOLVE_LOG
gd=$(git rev-parse --absolute-git-dir)
i=0
while [ -d "$gd/rebase-merge" ] || [ -d "$gd/rebase-apply" ]; do
  i=$((i + 1))
  if [ "$i" -gt 40 ]; then echo "still rebasing after 40 rounds"; exit 1; fi
  { echo "== $PWD round $i"; git status --short; } >> "$CHAOS_RESOLVE_LOG" 2>&1
  git diff --name-only --diff-filter=U | while read -r f; do
    if [ -f "$f" ]; then sed -i -e '/^<<<<<<< /d' -e '/^=======$/d' -e '/^>>>>>>> /d' "$f"; fi
    git add -A -- "$f"
  done
  git -c core.editor=true rebase --continue >> "$CHAOS_RESOLVE_LOG" 2>&1 || echo "(continue failed)" >> "$CHAOS_RESOLVE_LOG"
done
echo resolved
`,
};

export function fakeScript(o: Pick<ChaosOptions, 'issues' | 'maxDelayMs'>, dir: string, random: () => number): FakeRun[] {
  const delay = () => Math.floor(random() * (o.maxDelayMs ?? 800));
  const runs: FakeRun[] = [{ match: { promptIncludes: 'Pick a chaos issue' }, times: 'unlimited', steps: [{ reply_from_bash: `sh ${dir}/dispatch.sh` }] }];
  for (let k = 1; k <= o.issues; k++) {
    const id = issueId(k);
    const [a, b] = filesOf(k);
    runs.push({
      match: { promptIncludes: `Implement issues/${id}.md` },
      times: 'unlimited',
      stepDelayMs: Math.floor(delay() / 8),
      steps: [
        { sleep_ms: delay() },
        { bash: `sh ${dir}/commit.sh ${id} 1 ${a}` },
        { sleep_ms: delay() },
        { bash: `sh ${dir}/commit.sh ${id} 2 ${b} move` },
        { text: `Implemented ${id}.` },
      ],
    });
  }
  runs.push({ match: { promptIncludes: 'stopped on a rebase conflict' }, times: 'unlimited', steps: [{ sleep_ms: delay() }, { bash: `sh ${dir}/resolve.sh` }, { text: 'Resolved.' }] });
  runs.push({ match: { promptIncludes: 'You left uncommitted changes' }, times: 'unlimited', steps: [{ text: 'I leave them.' }] });
  return runs;
}

// ---------------------------------------------------------------------------------
// the run

export interface WorkerProc {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  alive: boolean;
  /** the driver ended it: kill -9, or SIGTERM at the end */
  endedBy: 'kill' | 'stop' | null;
  log: string;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  // one stream per actor, so that one actor's draws do not shift another's with the timing
  const [forFake, forUser, forKiller, forDispatch] = [1, 2, 3, 4].map((k) => mulberry32(o.seed + k * 0x9e3779b9));
  const random = forKiller!;
  const between = (lo: number, hi: number, r = random) => lo + Math.floor(r() * (hi - lo + 1));
  const say = o.progress ?? (() => {});
  const problems: string[] = [];

  const files: Record<string, string> = { ...agents, 'user/notes.txt': 'notes\n', 'user/draft.txt': 'draft v1\n', [RARE]: '# rare\n' };
  for (const f of SHARED) files[f] = `# ${f}\n`;
  for (let k = 1; k <= o.issues; k++) files[`issues/${issueId(k)}.md`] = issueFile(`Chaos issue ${k}`);
  const repo = await covenRepo(files);
  await sh(repo, 'config', 'gc.auto', '0');
  const hooks = await coven(['hooks', 'install'], { cwd: repo });
  if (hooks.code !== 0) throw new Error(`coven hooks install failed: ${hooks.stderr}`);
  const stateDir = join(repo, '.git', 'coven');

  const dir = tempDir('coven-chaos-');
  for (const [name, text] of Object.entries(scripts)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'random.bin'), Uint8Array.from({ length: 4096 + 2 }, () => Math.floor(forDispatch!() * 256)));
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const commitsLog = join(dir, 'commits.txt');
  writeFileSync(commitsLog, '');
  const base = tempDir('coven-chaos-wt-');
  const fake = fakeClaudeEnv(fakeScript(o, dir, forFake!), dir);
  const env = { ...process.env, ...fake, COVEN_WORKTREE_BASE: base, COVEN_RETRY_MS: '300', COVEN_SAFETY_INTERVAL_MS: '1000', CHAOS_COMMITS: commitsLog, CHAOS_RESOLVE_LOG: join(dir, 'resolve.log') };

  // the user's uncommitted edits: a tracked file, an untracked one, and (for a while) a file two issues touch
  const draft = 'draft v2, not committed\n';
  const scratch = 'scratch, never added\n';
  const rareEdit = '# rare\nthe user is editing this\n';
  writeFileSync(join(repo, 'user/draft.txt'), draft);
  writeFileSync(join(repo, 'user/scratch.txt'), scratch);
  writeFileSync(join(repo, RARE), rareEdit);

  // workers
  const procs: WorkerProc[] = [];
  let spawned = 0;
  let names = 0;
  const startWorker = (name: string): WorkerProc => {
    spawned++;
    const log = join(logs, `${String(spawned).padStart(2, '0')}-${name}.log`);
    const out = openSync(log, 'a');
    const child = spawn(process.execPath, [covenBin, 'worker', '--name', name], { cwd: repo, env, detached: true, stdio: ['ignore', out, out] });
    closeSync(out);
    const p: WorkerProc = { name, child, alive: true, endedBy: null, log, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
    void p.exited.then(() => (p.alive = false));
    procs.push(p);
    return p;
  };
  const newName = () => `w${++names}`;
  for (let i = 0; i < o.workers; i++) startWorker(newName());

  const mainTree = async (path: string) => (await run('git', ['ls-tree', '--name-only', 'main', `${path}/`], { cwd: repo })).stdout.split('\n').filter(Boolean);
  const workDone = async () => (await mainTree('issues')).length === 0 && (await mainTree('done')).length === o.issues;
  let finished = false;
  const deadline = started + o.deadlineMs;
  const watch = new ChaosWatch(repo, stateDir, started);
  const watching = watch.run(() => finished);

  // the user: commits notes to main now and then; releases the rare file once a third of the issues landed
  let userCommits = 0;
  /** every commit the user made on main, to be found on main at the end */
  const userMade: Array<{ id: string; message: string }> = [];
  let rareReleased = false;
  const commitAsUser = async (paths: string[], message: string) => {
    const id = await userCommit(repo, paths, message);
    if (id) userMade.push({ id, message });
    await watch.recordMainTip();
    return id !== null;
  };
  const user = (async () => {
    for (let n = 1; !finished && Date.now() < deadline; n++) {
      await sleep(between(500, 2500, forUser));
      const landed = (await mainTree('done')).length;
      if (!rareReleased && (landed >= Math.ceil(o.issues / 3) || landed + 2 >= o.issues)) {
        if (readFileSync(join(repo, RARE), 'utf8') !== rareEdit) problems.push(`the user's uncommitted edit of ${RARE} changed before the user committed it`);
        if (await commitAsUser([RARE], 'user: my edit of the rare file')) rareReleased = true;
        continue;
      }
      writeFileSync(join(repo, 'user/notes.txt'), `${readFileSync(join(repo, 'user/notes.txt'), 'utf8')}note ${n}\n`);
      if (await commitAsUser(['user/notes.txt'], `user: note ${n}`)) userCommits++;
      else problems.push(`the user could not commit note ${n} on main`);
    }
  })();

  // the killer: first each moment of MOMENTS not hit yet, then every moment in turn
  const kills: Kill[] = [];
  const killedPids = new Set<number>();
  const rotation = shuffle<KillMoment>(['dispatching', 'running', 'landing', 'resolving', 'starting', 'any'], random);
  const missing = () => MOMENTS.filter((m) => !kills.some((k) => hits(k, m)));
  const killer = (async () => {
    for (let attempt = 0; (kills.length < o.kills || (o.everyMoment && missing().length > 0)) && !finished && Date.now() < deadline; attempt++) {
      await sleep(between(200, 1500));
      const aim = missing();
      const wanted = aim.length > 0 ? aim[Math.floor(random() * aim.length)]! : rotation[attempt % rotation.length]!;
      let victim: { proc: WorkerProc; state: WorkerState | null; phase: string } | null;
      if (wanted === 'starting') {
        // a new worker, killed while it creates its worktree
        const fresh = startWorker(newName());
        const made = join(base, 'project', 'coven', fresh.name);
        for (let t = 0; t < 400 && !existsSync(made) && fresh.alive; t++) await sleep(10);
        await sleep(between(0, 60));
        const state = await stateOf(stateDir, fresh);
        victim = { proc: fresh, state, phase: state?.phase ?? 'spawning (no state file yet)' };
      } else {
        victim = await waitForPhase(stateDir, procs, wanted, Math.min(8000, deadline - Date.now()), () => finished, random);
        if (!victim) continue;
        await sleep(between(0, wanted === 'landing' ? 40 : 250));
        victim.state = (await stateOf(stateDir, victim.proc)) ?? victim.state;
        victim.phase = victim.state?.phase ?? victim.phase;
      }
      if (!victim.proc.alive) continue;
      const midRebase = victim.state !== null && rebasing(victim.state.worktree);
      const how = random() < 0.3 ? 'group' : 'pid';
      try {
        process.kill(how === 'group' ? -victim.proc.child.pid! : victim.proc.child.pid!, 'SIGKILL');
        victim.proc.endedBy = 'kill'; // (the exit event comes later)
        killedPids.add(victim.proc.child.pid!);
      } catch {
        continue;
      }
      await victim.proc.exited;
      await sleep(between(0, 400));
      const replacement = finished ? 'none' : random() < 0.5 ? 'adopt' : 'new';
      kills.push({ worker: victim.proc.name, wanted, phase: victim.phase, midRebase, how, replacement, atMs: Date.now() - started });
      say(`chaos: killed ${victim.proc.name} (${how}) while ${victim.phase}${midRebase ? ', mid-rebase' : ''}; replacement: ${replacement}`);
      if (replacement !== 'none') startWorker(replacement === 'adopt' ? victim.proc.name : newName());
    }
  })();

  // wait for the work, or the deadline; a worker that exits on its own is a problem
  while (!(await workDone()) || !rareReleased) {
    if (Date.now() > deadline) {
      problems.push(`the work was not done after ${Math.round(o.deadlineMs / 1000)} s: ${(await mainTree('issues')).length} issue(s) still open on main`);
      break;
    }
    await sleep(200);
  }
  finished = true;
  await Promise.all([user, killer, watching]);
  if (o.everyMoment) for (const m of missing()) problems.push(`no worker was killed while ${m === 'resolving' ? 'resolving (its worktree mid-rebase)' : m}: the run did not test that moment`);

  // stop every worker as a user would (Ctrl-C), then clean up
  // a worker must only ever end because it was told to: one that gave up by itself left its work to others
  problems.push(...(await stopWorkers(procs)));

  // before gc, which clears dead locks itself: only a killed worker may have left one
  problems.push(...watch.problems, ...(await watch.leftBeforeGc(killedPids)));
  const gc = await coven(['gc'], { cwd: repo });
  if (gc.code !== 0 && gc.code !== 3) problems.push(`coven gc exited ${gc.code}: ${gc.stderr}${gc.stdout}`);

  problems.push(...(await checkLocks(stateDir)));
  problems.push(...(await checkLeftovers(repo, stateDir)));
  const commits = await checkCommits(repo, commitsLog);
  problems.push(...commits.problems);
  problems.push(...(await checkMain(repo, o.issues, userMade)), ...(await watch.checkMainForward()));
  problems.push(...checkUserFiles(repo, { 'user/draft.txt': draft, 'user/scratch.txt': scratch }));
  const status = (await run('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: repo })).stdout.split('\n').filter(Boolean).sort();
  if (status.join('\n') !== [' M user/draft.txt', '?? user/scratch.txt'].join('\n')) problems.push(`the main worktree's status is not just the user's edits:\n  ${status.join('\n  ')}`);
  const litter = readdirSync(join(repo, '.git')).filter((f) => f === 'index.lock' || f.startsWith('coven-ff-'));
  if (litter.length > 0) problems.push(`left in the main worktree's git dir: ${litter.join(', ')}`);

  const keptBranches = (await sh(repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/coven/')).split('\n').filter(Boolean);
  const keptRefs = (await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/')).split('\n').filter(Boolean);

  // gc --force saves what is left under refs/coven/gc/ and removes the rest: still nothing lost
  const forced = await coven(['gc', '--force'], { cwd: repo });
  if (forced.code !== 0) problems.push(`coven gc --force exited ${forced.code}: ${forced.stderr}${forced.stdout}`);
  const worktrees = (await sh(repo, 'worktree', 'list', '--porcelain')).split('\n').filter((l) => l.startsWith('worktree '));
  if (worktrees.length !== 1) problems.push(`after coven gc --force, worktrees remain:\n  ${worktrees.join('\n  ')}`);
  const workerBranches = keptBranches.filter((b) => !b.startsWith('coven/parked/'));
  const left = (await sh(repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/coven/')).split('\n').filter((b) => b && !b.startsWith('coven/parked/'));
  if (left.length > 0) problems.push(`after coven gc --force, worker branches remain: ${left.join(', ')} (before: ${workerBranches.join(', ')})`);
  const after = await checkCommits(repo, commitsLog);
  problems.push(...after.problems.map((p) => `after coven gc --force: ${p}`));
  const reflogRefs = (await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/reflog/')).split('\n').filter(Boolean);

  const resolveSessions = readFakeLog(fake).filter((c) => c.prompts.some((p) => p.includes('stopped on a rebase conflict'))).length;
  return {
    figures: {
      seed: o.seed,
      workersStarted: spawned,
      kills,
      commitsMade: commits.made,
      agentCommitsOnMain: commits.onMain,
      commitsOnMain: Number(await sh(repo, 'rev-list', '--count', 'main')),
      userCommits,
      keptBranches,
      keptRefs,
      reflogRefs,
      resolveSessions,
      deadLocks: watch.deadLocks,
      recoveries: countRecoveries(logs),
      seconds: (Date.now() - started) / 1000,
    },
    problems,
    dirs: { repo, logs },
  };
}

/** Whether kill `k` tested moment `m` (resolving counts only with the worktree mid-rebase). */
function hits(k: Kill, m: (typeof MOMENTS)[number]): boolean {
  return k.phase === m && (m !== 'resolving' || k.midRebase);
}

/**
 * SIGTERM to every live worker, as a user stops them; a worker that ended by itself (it left
 * its work to others), or is not gone within 60 s, or exits with other than 0 or 3 when
 * stopped, is a problem.
 */
export async function stopWorkers(procs: WorkerProc[]): Promise<string[]> {
  const problems: string[] = [];
  for (const p of procs) {
    if (p.alive || p.endedBy !== null) continue;
    const tail = readFileSync(p.log, 'utf8').trimEnd().split('\n').slice(-6).join('\n    ');
    problems.push(`worker ${p.name} exited by itself with ${p.child.exitCode ?? p.child.signalCode}:\n    ${tail}`);
  }
  // a worker started just now (a restart after a kill) is stopped once it is up: SIGTERM
  // during Node's start-up, before the worker's handler exists, ends any Node program
  await withTimeout(Promise.all(procs.map((p) => untilStarted(p))), 15_000, null);
  for (const p of procs) {
    if (!p.alive) continue;
    p.endedBy = 'stop';
    p.child.kill('SIGTERM');
  }
  const stopped = await withTimeout(Promise.all(procs.map((p) => p.exited)).then(() => true), 60_000, false);
  if (!stopped) {
    problems.push(`workers still running 60 s after SIGTERM: ${procs.filter((p) => p.alive).map((p) => p.name).join(', ')}`);
    for (const p of procs) if (p.alive) killGroup(p.child.pid!);
  }
  for (const p of procs) {
    const code = p.child.exitCode;
    if (p.endedBy === 'stop' && code !== 0 && code !== 3) problems.push(`worker ${p.name} exited with ${code ?? p.child.signalCode} when stopped`);
  }
  return problems;
}

/** Resolves once the worker has written its first line (its header: its signal handlers are set), or has ended. */
async function untilStarted(p: WorkerProc): Promise<void> {
  while (p.alive && readFileSync(p.log, 'utf8') === '') await new Promise((r) => setTimeout(r, 50));
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

export function renderFigures(f: ChaosFigures): string {
  const byPhase = new Map<string, number>(MOMENTS.map((m) => [m, 0]));
  for (const k of f.kills) byPhase.set(k.phase, (byPhase.get(k.phase) ?? 0) + 1);
  const midRebase = f.kills.filter((k) => k.midRebase);
  const phases = [...byPhase].map(([p, n]) => `${p} ${n}${p === 'resolving' ? ` (${f.kills.filter((k) => hits(k, 'resolving')).length} mid-rebase)` : ''}`).join(', ');
  const dead = f.deadLocks.map((d) => `${d.lock} (held by ${d.worker}, pid ${d.pid}) ${d.brokenAfterMs === null ? 'left for gc' : `broken by a waiter after ${(d.brokenAfterMs / 1000).toFixed(1)} s`}`);
  const adopted = f.kills.filter((k) => k.replacement === 'adopt').length;
  const groups = f.kills.filter((k) => k.how === 'group').length;
  return [
    `chaos (seed ${f.seed}): ${f.workersStarted} workers started, ${f.kills.length} killed; ${groups} with their process group; ${adopted} replaced under the same name`,
    `  kills by phase: ${phases}; ${midRebase.length} of all kills mid-rebase`,
    `  locks held by a dead worker: ${dead.join(', ') || 'none seen'}`,
    `  ${f.commitsMade} agent commits made, ${f.agentCommitsOnMain} of them on main; ${f.commitsOnMain} commits on main in all (${f.userCommits} user notes)`,
    `  ${f.resolveSessions} conflict resolution sessions; kept: ${f.keptBranches.length} branch(es)${f.keptBranches.length ? ` (${f.keptBranches.join(', ')})` : ''}, ${f.keptRefs.length} ref(s) under refs/coven/${refKinds(f.keptRefs)}; gc --force then kept ${f.reflogRefs.length} reflog-only line(s)`,
    `  recovered: ${Object.entries(f.recoveries).map(([what, n]) => `${n} ${what}`).join(', ')}`,
    `  ${f.seconds.toFixed(1)} s`,
  ].join('\n');
}

const recoveryLines: Record<string, RegExp> = {
  'worktrees adopted': /^coven: adopting the existing worktree/,
  'orphaned sessions ended': /^coven: ended the agent session the previous/,
  'half-made worktrees remade': /left half made; making it again/,
  'stale git locks cleared': /left by a git command killed with the previous/,
  'workers parked': /^coven: \S+ is parked/,
};

export function countRecoveries(logs: string): Record<string, number> {
  const counts = Object.fromEntries(Object.keys(recoveryLines).map((k) => [k, 0]));
  for (const f of readdirSync(logs)) {
    for (const line of readFileSync(join(logs, f), 'utf8').split('\n')) {
      for (const [what, re] of Object.entries(recoveryLines)) if (re.test(line)) counts[what]!++;
    }
  }
  return counts;
}

/** The last lines of every worker log, for a failure message. */
export function workerLogTails(logs: string, lines = 25): string {
  return readdirSync(logs)
    .sort()
    .map((f) => {
      const text = readFileSync(join(logs, f), 'utf8').trimEnd().split('\n');
      return `--- ${f}\n${text.slice(-lines).join('\n')}`;
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------
// the checks

/** No lock file may be left once every worker is gone. */
async function checkLocks(stateDir: string): Promise<string[]> {
  const dir = join(stateDir, 'locks');
  if (!existsSync(dir)) return [];
  const problems: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) continue;
    const read = await readLockHolder(path);
    if (read.kind === 'held' && livenessOf(read.holder).kind === 'alive') continue;
    problems.push(`lock ${name} is left behind (${read.kind === 'held' ? `held by ${read.holder.worker}, pid ${read.holder.pid}, dead` : read.kind === 'corrupt' ? read.reason : 'free'})`);
  }
  return problems;
}

/** After `coven gc`: a worktree, branch or state file of a dead worker remains only if it holds unlanded work. */
async function checkLeftovers(repo: string, stateDir: string): Promise<string[]> {
  const problems: string[] = [];
  const unlanded = async (rev: string) => Number(await sh(repo, 'rev-list', '--count', rev, '--not', 'main'));
  const branches = (await sh(repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/coven/')).split('\n').filter(Boolean);
  const kept = new Set<string>();
  for (const b of branches) {
    if ((await unlanded(b)) > 0) kept.add(b);
    else problems.push(`branch ${b} remains after coven gc with nothing unlanded`);
  }
  const list = (await sh(repo, 'worktree', 'list', '--porcelain')).split('\n\n').slice(1);
  for (const entry of list) {
    const path = /^worktree (.*)$/m.exec(entry)?.[1] ?? '?';
    const branch = /^branch refs\/heads\/(.*)$/m.exec(entry)?.[1];
    const dirty = existsSync(path) ? (await sh(path, 'status', '--porcelain')).length > 0 : false;
    const gitDir = existsSync(path) ? await sh(path, 'rev-parse', '--absolute-git-dir') : '';
    const rebasing = gitDir !== '' && (existsSync(join(gitDir, 'rebase-merge')) || existsSync(join(gitDir, 'rebase-apply')));
    const head = existsSync(path) ? await sh(path, 'rev-parse', 'HEAD') : null;
    const work = dirty || rebasing || (branch !== undefined && kept.has(branch)) || (head !== null && (await unlanded(head)) > 0);
    if (!work) problems.push(`worktree ${path} (${branch ?? 'detached'}) remains after coven gc with nothing unlanded`);
  }
  for (const e of await readWorkerStates(stateDir)) {
    if (e.kind === 'corrupt') {
      problems.push(`corrupt state file ${e.file}: ${e.reason}`);
      continue;
    }
    if (e.liveness === 'alive') problems.push(`worker ${e.state.name} is still alive (pid ${e.state.pid})`);
    else if (!kept.has(e.state.branch) && !list.some((w) => w.includes(`worktree ${e.state.worktree}\n`))) problems.push(`state file of ${e.state.name} remains after coven gc, yet it holds no work`);
  }
  return problems;
}

/** Every recorded agent commit is kept (by its marker); every marker on main is a line of main's files. */
async function checkCommits(repo: string, commitsLog: string): Promise<{ problems: string[]; made: number; onMain: number }> {
  const problems: string[] = [];
  const recorded = readRecorded(commitsLog);
  const markersIn = (...revs: string[]) => markersOf(repo, ...revs);
  const onMain = await markersIn('main');
  const kept = await markersIn('main', '--branches=coven/', '--glob=refs/coven/*');
  for (const c of recorded) if (!kept.has(c.marker)) problems.push(`agent commit ${c.id.slice(0, 10)} (marker ${c.marker}, made in ${c.where}) is not reachable from main, a coven/ branch or refs/coven/`);

  // commits that exist but were never recorded (a commit cut short by a kill): say so if they are lost too
  const everMarker = await everyMarker(repo);
  const recordedMarkers = new Set(recorded.map((c) => c.marker));
  for (const m of everMarker) if (!kept.has(m) && !recordedMarkers.has(m)) problems.push(`a commit with marker ${m} exists, unrecorded and unreachable (a commit cut short?)`);

  const lines = new Set((await sh(repo, 'grep', '-h', '-e', '.', 'main', '--', 'shared/')).split('\n').map((l) => l.split(' ')[1]));
  for (const m of onMain) if (!lines.has(m)) problems.push(`marker ${m} is on main's history but its line is missing from main's files (a resolution dropped it)`);
  return { problems, made: recordedMarkers.size, onMain: [...recordedMarkers].filter((m) => onMain.has(m)).length };
}

/** The agent commits commit.sh recorded: id, marker, and the worktree it was made in. */
export function readRecorded(commitsLog: string): Array<{ id: string; marker: string; where: string }> {
  return readFileSync(commitsLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [id = '', marker = '', where = ''] = l.split(' ');
      return { id, marker, where };
    });
}

/** The chaos markers of the commits reachable from `revs` (git log arguments). */
export async function markersOf(repo: string, ...revs: string[]): Promise<Set<string>> {
  const out = await sh(repo, 'log', '--format=%B', ...revs);
  return new Set([...out.matchAll(/^chaos-marker: ([0-9a-f]+)$/gm)].map((m) => m[1]!));
}

/** The markers of every commit object in the repository, reachable or not. */
export async function everyMarker(repo: string): Promise<Set<string>> {
  const all = await sh(repo, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype)');
  const commitIds = all.split('\n').filter((l) => l.endsWith(' commit')).map((l) => l.split(' ')[0]!);
  const bodies = await run('git', ['cat-file', '--batch'], { cwd: repo, input: commitIds.join('\n') + '\n' });
  return new Set([...bodies.stdout.matchAll(/^chaos-marker: ([0-9a-f]+)$/gm)].map((m) => m[1]!));
}

/** Main is linear, has every issue done, and every commit the user made on it. */
async function checkMain(repo: string, issues: number, userMade: Array<{ id: string; message: string }>): Promise<string[]> {
  const problems: string[] = [];
  const merges = await sh(repo, 'rev-list', '--merges', 'main');
  if (merges) problems.push(`main has merge commits: ${merges.split('\n').join(', ')}`);
  const onMain = new Set((await sh(repo, 'rev-list', 'main')).split('\n'));
  for (const c of userMade) if (!onMain.has(c.id)) problems.push(`the user's commit ${c.id.slice(0, 10)} ("${c.message}") is no longer on main`);
  const done = (await sh(repo, 'ls-tree', '--name-only', 'main', 'done/')).split('\n').filter(Boolean);
  if (done.length !== issues) problems.push(`main has ${done.length} of ${issues} issues done`);
  return problems;
}

function checkUserFiles(repo: string, expected: Record<string, string>): string[] {
  return Object.entries(expected).flatMap(([path, text]) => {
    const full = join(repo, path);
    if (!existsSync(full)) return [`the user's uncommitted ${path} is gone`];
    return readFileSync(full, 'utf8') === text ? [] : [`the user's uncommitted ${path} changed`];
  });
}

// ---------------------------------------------------------------------------------
// small edges

/**
 * Commits `paths` only (the user's other edits stay uncommitted); retries while git is
 * busy. The commit's id (from git's own "[main 1a2b3c4] …" line, not from main's tip,
 * which a land may have moved meanwhile), or null.
 */
async function userCommit(repo: string, paths: string[], message: string): Promise<string | null> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const r = await run('git', ['commit', '-m', message, '--', ...paths], { cwd: repo });
    const short = /^\[\S+ ([0-9a-f]+)\]/m.exec(r.stdout)?.[1];
    if (r.code === 0 && short) return sh(repo, 'rev-parse', '--verify', `${short}^{commit}`);
    await sleep(40);
  }
  return null;
}

async function stateOf(stateDir: string, p: WorkerProc): Promise<WorkerState | null> {
  for (const e of await readWorkerStates(stateDir)) if (e.kind === 'worker' && e.state.pid === p.child.pid) return e.state;
  return null;
}

/** Whether the worktree's git dir shows a rebase in progress. */
function rebasing(worktree: string): boolean {
  try {
    const gitDir = /^gitdir: (.*)$/m.exec(readFileSync(join(worktree, '.git'), 'utf8'))?.[1]?.trim();
    return gitDir !== undefined && (existsSync(join(gitDir, 'rebase-merge')) || existsSync(join(gitDir, 'rebase-apply')));
  } catch {
    return false;
  }
}

/** A live worker of ours whose state file shows `phase` (any busy phase for 'any'), or null after `timeoutMs`. */
async function waitForPhase(stateDir: string, procs: WorkerProc[], phase: KillMoment, timeoutMs: number, stop: () => boolean, random: () => number): Promise<{ proc: WorkerProc; state: WorkerState | null; phase: string } | null> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && !stop()) {
    const live = new Map(procs.filter((p) => p.alive).map((p) => [p.child.pid, p]));
    const matches = (await readWorkerStates(stateDir)).flatMap((e) => {
      if (e.kind !== 'worker') return [];
      const proc = live.get(e.state.pid);
      const fits = phase === 'any' ? e.state.phase !== 'sleeping' && e.state.phase !== 'stopping' : e.state.phase === phase;
      return proc && fits ? [{ proc, state: e.state, phase: e.state.phase as string }] : [];
    });
    // sorted by name: the seeded pick must not depend on the order the state files were read
    matches.sort((a, b) => a.proc.name.localeCompare(b.proc.name));
    if (matches.length > 0) return matches[Math.floor(random() * matches.length)]!;
    await sleep(15);
  }
  return null;
}

/** `p`, or `fallback` after `ms` (the timer does not keep the process alive after `p`). */
export async function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((r) => (timer = setTimeout(() => r(fallback), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

function shuffle<T>(xs: T[], random: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A small seeded PRNG, so a failing run's choices can be replayed with its seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** ` (unfinished 2, wip 1)`: how many of the kept refs/coven/ refs are of each kind; '' for none */
function refKinds(refs: string[]): string {
  const counts = new Map<string, number>();
  for (const r of refs) {
    const kind = r.split('/')[2] ?? '?';
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts.size === 0 ? '' : ` (${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')})`;
}
