// chaos-remote (helper) — the remote chaos run of test/chaos-remote.test.ts: a bare
// repository served by `git daemon --enable=receive-pack` on loopback, several "machines"
// (clones, each with its own git dir, state dir and worktree folder, COVEN_MACHINE=m1…)
// each running `coven worker --remote origin` processes with the fake agent of the local
// chaos run (test/helpers/chaos.ts: its issues, its dispatch, commit and resolve scripts).
// As root, each machine's workers also get a host name of their own (`unshare -u`), so
// that a killed holder's claim is judged by its lease, not by its pid, as between machines.
// Meanwhile four actors, each with its own seeded random stream:
//   killer   kill -9 of one worker at a chosen phase (its process, or its process group),
//            and of a whole machine (both workers and their agent sessions); each is
//            started again under the same name (it adopts its worktree), soon or only
//            after its claims' lease ran out (so another machine may take its job over)
//   network  stops the daemon for a few seconds, several times, aimed at moments when a
//            worker is landing (a push in flight) or dispatching (a claim in flight)
//   human    a 4th clone pushing to the remote's main: notes, and commits appending to a
//            shared file the jobs append to too (their lands then conflict)
//   watch    samples the remote's main (ls-remote of the bare repository) and its claims
// At the end every worker is stopped (SIGTERM) and the guarantees are checked
// (chaos-remote-checks.ts): (a) no commit lost, (b) main forward and linear, (c) no job
// done twice, (d) no claim stuck, (e) the messages say what happened and what was kept.
//
//   runRemoteChaos(options) → { figures, problems, dirs }

import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readWorkerStates, type WorkerState } from '../../scripts/lib/worker/state.js';
import { agents, everyMarker, fakeScript, issueId, markersOf, mulberry32, RARE, readRecorded, scripts, SHARED, sleep, stopWorkers } from './chaos.js';
import { claimsOn, mainForwardLinear, messagesSay, noClaimStuck, noCommitLost, noJobTwice, takeovers, type MachineDirs, type MessageRule } from './chaos-remote-checks.js';
import { covenRepo, issueFile } from './coven-repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeClaudeEnv } from './fake-claude.js';
import { machineClone, serveRepository, startGitDaemon, type GitDaemon } from './git-daemon.js';
import { coven, covenBin, run, sh, tempDir } from './repo.js';

export interface RemoteChaosOptions {
  machines: number;
  workersPerMachine: number;
  issues: number;
  /** kill -9s of one worker, and of whole machines */
  kills: number;
  machineKills: number;
  /** daemon stops, and how many pushes the human makes (of which `humanConflicts` touch a shared file) */
  outages: number;
  humanPushes: number;
  humanConflicts: number;
  seed: number;
  deadlineMs: number;
  maxDelayMs: number;
  /** COVEN_CLAIM_LEASE_MS and COVEN_REMOTE_POLL_MS of every worker */
  leaseMs: number;
  pollMs: number;
  /**
   * each machine's workers run under a host name of their own (`unshare -u`, as root): a
   * killed holder's claim is then judged by its lease, as on real machines; with one host
   * name for all, every machine sees at once that the holder's pid is gone (default: when
   * `unshare -u` works here)
   */
  ownHosts?: boolean;
  progress?: (line: string) => void;
}

export interface RemoteKill {
  workers: string[];
  machine: string;
  phase: string;
  how: 'pid' | 'group' | 'machine';
  /** ms until the same names were started again */
  restartAfterMs: number;
  atMs: number;
}

export interface Outage {
  atMs: number;
  ms: number;
  /** the busy phases of the workers when the daemon stopped */
  during: string[];
}

export interface RemoteChaosFigures {
  seed: number;
  ownHosts: boolean;
  seconds: number;
  jobs: number;
  workersStarted: number;
  kills: RemoteKill[];
  outages: Outage[];
  humanPushes: number;
  humanConflictPushes: number;
  resolveSessions: number;
  takenOver: number;
  ownBack: number;
  commitsMade: number;
  agentCommitsOnMain: number;
  /** agent commits kept in a clone but not on the remote's main */
  keptNotLanded: number;
  mainSamples: number;
}

export interface RemoteChaosReport {
  figures: RemoteChaosFigures;
  problems: string[];
  dirs: { bare: string; logs: string; clones: string[] };
}

interface WorkerProc {
  name: string;
  machine: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  alive: boolean;
  endedBy: 'kill' | 'stop' | null;
  log: string;
}

/** What the workers must say at least once in a run (check (e)). */
export const MESSAGE_RULES: MessageRule[] = [
  { what: 'a land pushed to the remote, and where main is now', line: /landed \d+ commit\S* on main at origin \(now [0-9a-f]{7,}\)/ },
  { what: 'that the remote did not answer a land, and that its commits stay on the branch', line: /did not answer[^\n]*\n\s*Nothing was pushed[^\n]*stay on coven\/\S+/ },
  { what: 'that a land stopped on a conflict, resolved by resuming the session', line: /stopped on a conflict in \S+; resuming the session/ },
  { what: 'that a restarted worker adopted its worktree', line: /adopting the existing worktree of \S+/ },
];

const BUSY = ['dispatching', 'running', 'landing', 'resolving'];
const between = (lo: number, hi: number, r: () => number) => lo + Math.floor(r() * (hi - lo + 1));

/** The remote, the machines, the human's clone, the fake agent and its files. */
interface Stage {
  daemon: GitDaemon;
  bare: string;
  machines: MachineDirs[];
  human: string;
  ids: string[];
  logs: string;
  commitsLog: string;
  fake: FakeClaudeEnv;
  env: NodeJS.ProcessEnv;
}

async function setUp(o: RemoteChaosOptions, forFake: () => number, forDispatch: () => number): Promise<Stage> {
  const files: Record<string, string> = { ...agents, 'human/notes.txt': 'notes\n', [RARE]: '# rare\n' };
  for (const f of SHARED) files[f] = `# ${f}\n`;
  const ids = Array.from({ length: o.issues }, (_, i) => issueId(i + 1));
  for (const id of ids) files[`issues/${id}.md`] = issueFile(`Chaos issue ${id}`);
  const daemon = await startGitDaemon();
  const url = await serveRepository(daemon, await covenRepo(files));
  const bare = join(daemon.base, 'project.git');
  await sh(bare, 'config', 'core.logAllRefUpdates', 'always'); // every move of main and of each claim, for the checks
  const machines: MachineDirs[] = [];
  for (let k = 1; k <= o.machines; k++) {
    const clone = await machineClone(url, `m${k}`);
    await sh(clone, 'config', 'gc.auto', '0');
    const hooks = await coven(['hooks', 'install'], { cwd: clone });
    if (hooks.code !== 0) throw new Error(`coven hooks install failed on m${k}: ${hooks.stderr}`);
    machines.push({ machine: `m${k}`, clone, worktreeBase: tempDir(`coven-rchaos-wt-m${k}-`) });
  }
  const human = await machineClone(url, 'human');

  const dir = tempDir('coven-rchaos-');
  for (const [name, text] of Object.entries(scripts)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'random.bin'), Uint8Array.from({ length: 4096 + 2 }, () => Math.floor(forDispatch() * 256)));
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const commitsLog = join(dir, 'commits.txt');
  writeFileSync(commitsLog, '');
  const fake = fakeClaudeEnv(fakeScript(o, dir, forFake), dir);
  const env = {
    ...process.env,
    ...fake,
    COVEN_RETRY_MS: '300',
    COVEN_SAFETY_INTERVAL_MS: '1000',
    COVEN_CLAIM_LEASE_MS: String(o.leaseMs),
    COVEN_REMOTE_POLL_MS: String(o.pollMs),
    COVEN_REMOTE_TIMEOUT_MS: '15000',
    CHAOS_COMMITS: commitsLog,
    CHAOS_RESOLVE_LOG: join(dir, 'resolve.log'),
  };
  return { daemon, bare, machines, human, ids, logs, commitsLog, fake, env };
}

/** every worker started and not yet seen to exit: killed with the test process, however it ends */
const running = new Set<ChildProcess>();
const killRunning = () => running.forEach((c) => sigkill(-c.pid!));
process.on('exit', killRunning);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killRunning(); // before the exit handlers remove the temp folders they write in
    process.exit(130);
  });
}

/** The worker processes of every machine, started and restarted under their names. */
class Fleet {
  readonly procs: WorkerProc[] = [];
  finished = false;

  constructor(
    private readonly stage: Stage,
    private readonly ownHosts: boolean,
  ) {}

  start(name: string, machineName: string): WorkerProc {
    const machine = this.stage.machines.find((m) => m.machine === machineName)!;
    const log = join(this.stage.logs, `${String(this.procs.length + 1).padStart(2, '0')}-${name}.log`);
    const out = openSync(log, 'a');
    const argv = [process.execPath, covenBin, 'worker', '--name', name, '--remote', 'origin'];
    // a host name of its own (a UTS namespace): its claims are judged by their lease on the other machines, as between real ones
    const [file, ...args] = this.ownHosts ? ['unshare', '-u', 'sh', '-c', 'hostname "$1" && shift && exec "$@"', 'sh', machine.machine, ...argv] : argv;
    const child = spawn(file!, args, {
      cwd: machine.clone,
      env: { ...this.stage.env, COVEN_MACHINE: machine.machine, COVEN_WORKTREE_BASE: machine.worktreeBase },
      detached: true,
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    const p: WorkerProc = { name, machine: machine.machine, child, alive: true, endedBy: null, log, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
    running.add(child);
    void p.exited.then(() => {
      p.alive = false;
      running.delete(child);
    });
    this.procs.push(p);
    return p;
  }

  /** every live worker's state, sorted by name (the seeded picks must not depend on the order of reading) */
  async liveStates(): Promise<Array<{ proc: WorkerProc; state: WorkerState }>> {
    const live = new Map(this.procs.filter((p) => p.alive).map((p) => [p.child.pid, p]));
    const out: Array<{ proc: WorkerProc; state: WorkerState }> = [];
    for (const m of this.stage.machines) {
      for (const e of await readWorkerStates(join(m.clone, '.git', 'coven'))) {
        const proc = e.kind === 'worker' ? live.get(e.state.pid) : undefined;
        if (proc && e.kind === 'worker') out.push({ proc, state: e.state });
      }
    }
    return out.sort((a, b) => a.proc.name.localeCompare(b.proc.name));
  }

  /** a live worker in `phase` ('any': any busy phase), waiting up to `ms` */
  async waitForPhase(phase: string, ms: number, random: () => number): Promise<{ proc: WorkerProc; state: WorkerState } | null> {
    const until = Date.now() + ms;
    while (Date.now() < until && !this.finished) {
      const fits = (await this.liveStates()).filter((s) => (phase === 'any' ? BUSY.includes(s.state.phase) : s.state.phase === phase));
      if (fits.length > 0) return fits[Math.floor(random() * fits.length)]!;
      await sleep(20);
    }
    return null;
  }

  async busy(): Promise<string[]> {
    return (await this.liveStates()).filter((s) => BUSY.includes(s.state.phase)).map((s) => `${s.proc.name}:${s.state.phase}`);
  }
}

export async function runRemoteChaos(o: RemoteChaosOptions): Promise<RemoteChaosReport> {
  const started = Date.now();
  const [forFake, forHuman, forKiller, forDispatch, forNet] = [1, 2, 3, 4, 5].map((k) => mulberry32(o.seed + k * 0x9e3779b9));
  const say = (line: string) => o.progress?.(`rchaos ${((Date.now() - started) / 1000).toFixed(1)}s: ${line}`);
  const problems: string[] = [];
  const stage = await setUp(o, forFake!, forDispatch!);
  const { bare, daemon } = stage;
  const ownHosts = o.ownHosts ?? (await canOwnHosts());
  const fleet = new Fleet(stage, ownHosts);
  for (const m of stage.machines) for (let i = 1; i <= o.workersPerMachine; i++) fleet.start(`${m.machine}w${i}`, m.machine);

  const watch = watchRemote(bare, fleet, o.leaseMs);
  const killing = killer(o, fleet, forKiller!, () => Date.now() - started, say);
  const outages = network(o, fleet, daemon, forNet!, () => Date.now() - started, say);
  const human = humanActor(o, stage.human, fleet, forHuman!, say);

  // wait for the work and the actors, or the deadline
  const workDone = async () => {
    const tree = (await run('git', ['ls-tree', '-r', '--name-only', 'refs/heads/main'], { cwd: bare })).stdout.split('\n');
    return !tree.some((f) => f.startsWith('issues/')) && tree.filter((f) => f.startsWith('done/')).length === o.issues;
  };
  let actorsDone = false;
  void Promise.all([human, outages]).then(() => (actorsDone = true));
  while (!((await workDone()) && actorsDone)) {
    if (Date.now() > started + o.deadlineMs) {
      problems.push(`the work was not done after ${Math.round(o.deadlineMs / 1000)} s (the outages and the human ${actorsDone ? 'had' : 'had not'} finished)`);
      break;
    }
    await sleep(300);
  }
  fleet.finished = true;
  const [watched, killed, downs, pushed] = await Promise.all([watch, killing, outages, human]);
  if (!daemon.running) await daemon.start();
  await Promise.all(killed.restarts);
  problems.push(...watched.stuck, ...(await stopWorkers(fleet.procs)));

  // the guarantees
  problems.push(...(await noCommitLost(bare, stage.machines, stage.commitsLog, pushed.ids)));
  problems.push(...(await mainForwardLinear(bare, watched.samples)));
  problems.push(...(await noJobTwice(bare, stage.ids)));
  problems.push(...(await noClaimStuck(bare, (h) => fleet.procs.some((p) => p.alive && p.child.pid === h.pid))));
  problems.push(...messagesSay(stage.logs, MESSAGE_RULES));
  if (problems.length === 0 && killed.kills.length === 0) problems.push('no worker was killed: the run did not test kills');
  if (problems.length === 0 && downs.length === 0) problems.push('the remote never went down: the run did not test outages');
  await daemon.stop();

  const onMain = await markersOf(bare, 'refs/heads/main');
  const recorded = readRecorded(stage.commitsLog);
  let keptNotLanded = 0;
  for (const m of stage.machines) keptNotLanded += [...(await everyMarker(m.clone))].filter((x) => !onMain.has(x)).length;
  return {
    figures: {
      seed: o.seed,
      ownHosts,
      seconds: (Date.now() - started) / 1000,
      jobs: (await sh(bare, 'ls-tree', '--name-only', 'refs/heads/main', 'done/')).split('\n').filter(Boolean).length,
      workersStarted: fleet.procs.length,
      kills: killed.kills,
      outages: downs,
      humanPushes: pushed.ids.length,
      humanConflictPushes: pushed.conflicting,
      resolveSessions: readFakeLog(stage.fake).filter((c) => c.prompts.some((p) => p.includes('stopped on a rebase conflict'))).length,
      ...(await takeovers(bare)),
      commitsMade: recorded.length,
      agentCommitsOnMain: recorded.filter((c) => onMain.has(c.marker)).length,
      keptNotLanded,
      mainSamples: watched.samples.length,
    },
    problems,
    dirs: { bare, logs: stage.logs, clones: stage.machines.map((m) => m.clone) },
  };
}

/**
 * The watch: the remote's main tip (ls-remote of the bare repository, which answers while
 * the daemon is down) every 250 ms; every second, the claims held by a worker that is not
 * running: one still held so, unchanged, long past its lease (90 s) is stuck.
 */
async function watchRemote(bare: string, fleet: Fleet, leaseMs: number): Promise<{ samples: string[]; stuck: string[] }> {
  const samples: string[] = [];
  const stuck: string[] = [];
  const deadSince = new Map<string, number>();
  // a claim past its lease is takeable, not taken at once: the dispatchers pick among the free issues at random
  const limit = Math.max(90_000, 3 * leaseMs + 20_000);
  for (let round = 0; !fleet.finished; round++) {
    const tip = /^([0-9a-f]{40})/.exec((await run('git', ['ls-remote', bare, 'refs/heads/main'])).stdout)?.[1];
    if (tip && samples[samples.length - 1] !== tip) samples.push(tip);
    if (round % 4 === 0) {
      const alive = new Set(fleet.procs.filter((p) => p.alive).map((p) => p.child.pid));
      for (const c of await claimsOn(bare).catch(() => [])) {
        if (c.record?.state !== 'held' || alive.has(c.record.holder.pid)) continue;
        const key = `${c.ref} ${c.record.holder.pid} ${c.record.heartbeat_at}`;
        const since = deadSince.get(key) ?? Date.now();
        deadSince.set(key, since);
        if (Date.now() - since > limit && !stuck.some((s) => s.includes(key))) stuck.push(`(d) no claim stuck: ${c.ref} stayed held by ${c.record.holder.worker} on ${c.record.holder.machine}, not running, for over ${limit / 1000} s during the run (${key})`);
      }
    }
    await sleep(250);
  }
  return { samples, stuck };
}

/**
 * The killer: kill -9 of one worker at a chosen phase (the process, or its group), and at
 * its slots of a whole machine (its workers' groups and their agent sessions). Each is
 * started again under the same name: soon (it takes its own claim back) or only after the
 * lease ran out (another machine may have taken its job over).
 */
async function killer(o: RemoteChaosOptions, fleet: Fleet, random: () => number, at: () => number, say: (l: string) => void): Promise<{ kills: RemoteKill[]; restarts: Promise<void>[] }> {
  const kills: RemoteKill[] = [];
  const restarts: Promise<void>[] = [];
  const restart = (victims: WorkerProc[], afterMs: number) => restarts.push(sleep(afterMs).then(() => void victims.forEach((p) => fleet.start(p.name, p.machine))));
  const aims = ['running', 'landing', 'dispatching', 'resolving', 'running', 'landing'];
  const total = o.kills + o.machineKills;
  const machineSlots = new Set(Array.from({ length: o.machineKills }, (_, i) => Math.floor(((i + 1) * total) / (o.machineKills + 1))));
  for (let i = 0; i < total && !fleet.finished; i++) {
    await sleep(between(2500, 6000, random));
    if (fleet.finished) break;
    const restartAfterMs = random() < 0.5 ? o.leaseMs + between(500, 2500, random) : between(200, 1200, random);
    if (machineSlots.has(i)) {
      const machine = `m${1 + Math.floor(random() * o.machines)}`;
      const states = (await fleet.liveStates()).filter((s) => s.proc.machine === machine);
      const victims = fleet.procs.filter((p) => p.alive && p.machine === machine);
      if (victims.length === 0) continue;
      for (const p of victims) {
        p.endedBy = 'kill';
        sigkill(-p.child.pid!);
      }
      for (const s of states) if (s.state.session_process) sigkill(-s.state.session_process.pid);
      await Promise.all(victims.map((p) => p.exited));
      kills.push({ workers: victims.map((p) => p.name), machine, phase: states.map((s) => `${s.proc.name}:${s.state.phase}`).join(' ') || '?', how: 'machine', restartAfterMs, atMs: at() });
      say(`killed machine ${machine} (${victims.map((p) => p.name).join(', ')}); back in ${restartAfterMs} ms`);
      restart(victims, restartAfterMs);
      continue;
    }
    const wanted = aims[i % aims.length]!;
    const victim = (await fleet.waitForPhase(wanted, 6000, random)) ?? (await fleet.waitForPhase('any', 3000, random));
    if (!victim || !victim.proc.alive) continue;
    await sleep(between(0, wanted === 'landing' ? 40 : 250, random));
    const how = random() < 0.3 ? 'group' : 'pid';
    const phase = (await fleet.liveStates()).find((s) => s.proc === victim.proc)?.state.phase ?? victim.state.phase;
    victim.proc.endedBy = 'kill';
    sigkill(how === 'group' ? -victim.proc.child.pid! : victim.proc.child.pid!);
    await victim.proc.exited;
    kills.push({ workers: [victim.proc.name], machine: victim.proc.machine, phase, how, restartAfterMs, atMs: at() });
    say(`killed ${victim.proc.name} (${how}) while ${phase}; back in ${restartAfterMs} ms`);
    restart([victim.proc], restartAfterMs);
  }
  return { kills, restarts };
}

/** The network: the daemon stopped for 2–5 s, several times, aimed at a land (a push in flight) or a dispatch (a claim in flight). */
async function network(o: RemoteChaosOptions, fleet: Fleet, daemon: GitDaemon, random: () => number, at: () => number, say: (l: string) => void): Promise<Outage[]> {
  const outages: Outage[] = [];
  const aims = ['landing', 'dispatching', 'any', 'landing', 'dispatching'];
  for (let i = 0; i < o.outages && !fleet.finished; i++) {
    await sleep(between(3000, 8000, random));
    const aim = aims[i % aims.length]!;
    const hit = await fleet.waitForPhase(aim, 6000, random);
    if (fleet.finished) break;
    await sleep(between(0, 150, random));
    const during = await fleet.busy();
    const ms = between(2000, 5000, random);
    await daemon.stop();
    outages.push({ atMs: at(), ms, during });
    say(`the remote is down for ${ms} ms (aimed at ${aim}${hit ? `: ${hit.proc.name}` : ''}; busy: ${during.join(' ') || 'none'})`);
    await sleep(ms);
    await daemon.start();
  }
  return outages;
}

/** The human: pushes to the remote's main from a clone of its own, now and then to a shared file the jobs append to too. */
async function humanActor(o: RemoteChaosOptions, clone: string, fleet: Fleet, random: () => number, say: (l: string) => void): Promise<{ ids: string[]; conflicting: number }> {
  const ids: string[] = [];
  let conflicting = 0;
  const conflictSlots = new Set(Array.from({ length: o.humanConflicts }, (_, i) => 1 + i * 2));
  for (let i = 0; i < o.humanPushes && !fleet.finished; i++) {
    await sleep(between(2500, 7000, random));
    const file = conflictSlots.has(i) ? SHARED[i % SHARED.length]! : 'human/notes.txt';
    const id = await humanPush(clone, file, `human ${i + 1}`, () => fleet.finished);
    if (!id) continue;
    ids.push(id);
    if (file !== 'human/notes.txt') conflicting++;
    say(`the human pushed ${id.slice(0, 10)} (${file})`);
  }
  return { ids, conflicting };
}

/** Whether this process may give a child a host name of its own (`unshare -u`: root on Linux). */
async function canOwnHosts(): Promise<boolean> {
  return (await run('unshare', ['-u', 'sh', '-c', 'hostname coven-probe'])).code === 0;
}

/** kill -9 of a process (pid) or a process group (-pid). */
function sigkill(target: number): void {
  try {
    process.kill(target, 'SIGKILL');
  } catch {
    // gone already
  }
}

/**
 * The human: fetch the remote's main, append a line to `file` on it, commit, push; again
 * from the fetch while the push fails (the remote down, or main moved). The pushed commit's id.
 */
export async function humanPush(clone: string, file: string, line: string, stop: () => boolean = () => false): Promise<string | null> {
  for (let attempt = 0; attempt < 200 && !stop(); attempt++) {
    if (attempt > 0) await sleep(300);
    if ((await run('git', ['fetch', '-q', 'origin', 'main'], { cwd: clone })).code !== 0) continue;
    await sh(clone, 'reset', '-q', '--hard', 'origin/main');
    appendFileSync(join(clone, file), `${line}\n`);
    await sh(clone, 'add', '--', file);
    await sh(clone, 'commit', '-q', '-m', `${line}: ${file}`);
    const id = await sh(clone, 'rev-parse', 'HEAD');
    if ((await run('git', ['push', '-q', 'origin', 'HEAD:refs/heads/main'], { cwd: clone })).code === 0) return id;
  }
  return null;
}

export function renderRemoteFigures(f: RemoteChaosFigures): string {
  const single = f.kills.filter((k) => k.how !== 'machine');
  const byPhase = new Map<string, number>();
  for (const k of single) byPhase.set(k.phase, (byPhase.get(k.phase) ?? 0) + 1);
  const late = f.kills.filter((k) => k.restartAfterMs > 2000).length;
  return [
    `remote chaos (seed ${f.seed}): ${f.jobs} jobs done in ${f.seconds.toFixed(1)} s; ${f.workersStarted} workers started${f.ownHosts ? ', each machine with its own host name' : ', one host name for all machines'}`,
    `  kills: ${single.length} workers (${[...byPhase].map(([p, n]) => `${p} ${n}`).join(', ') || 'none'}), ${f.kills.length - single.length} whole machines; ${late} restarted after the lease ran out`,
    `  outages: ${f.outages.length} (${f.outages.map((o) => `${(o.ms / 1000).toFixed(1)} s at ${(o.atMs / 1000).toFixed(0)} s${o.during.some((d) => d.endsWith(':landing')) ? ' mid-land' : ''}${o.during.some((d) => d.endsWith(':dispatching')) ? ' mid-dispatch' : ''}`).join(', ')})`,
    `  human pushes: ${f.humanPushes} (${f.humanConflictPushes} to a shared file); conflict resolution sessions: ${f.resolveSessions}`,
    `  claims: ${f.takenOver} taken over from another holder, ${f.ownBack} taken back by a restarted worker`,
    `  agent commits: ${f.commitsMade} made, ${f.agentCommitsOnMain} on the remote's main, ${f.keptNotLanded} kept in clones only; main sampled ${f.mainSamples} times`,
  ].join('\n');
}
