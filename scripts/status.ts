#!/usr/bin/env node
// status — what every worker is doing; its contract is the usage text below (--help).

const help = `usage: coven status [--json] [--watch]
       coven status --remote [NAME] [--json]

Shows every worker (phase, agent and arguments, time in phase, commits landed, cost,
the agent CLI its job runs on and why it is not the agent's first, e.g. \`codex (claude
refused: quota)\`; a worker waiting because every CLI of its agent refused says until when),
the dispatch lock and agent slots, sleeping workers and the main tip they wait on,
dead workers and damaged state files.
  --json    machine-readable output
  --watch   redraw whenever something changes (Ctrl-C to stop)
  --remote [NAME]  remote mode (docs/remote.md): every machine's workers as they
            published themselves on the remote NAME (default: git config coven.remote,
            else origin): machine, worker, phase, agent and arguments, time in phase,
            cost; a worker whose state this clone has not seen change for 3 claim
            leases (COVEN_CLAIM_LEASE_MS, default 5 min) shows as not heard from:
            probably stopped; then the claims there. When the remote does not answer,
            the last fetched copy is shown, with its age
env:  --remote: COVEN_CLAIM_LEASE_MS (the lease, default 5 min), COVEN_REMOTE_TIMEOUT_MS
       (how long the fetch may take, default 60 s), COVEN_MACHINE (this machine's
       name, default: the host name; a value that is not a machine name: exit 2)
reads: <state dir>/workers/*.json, <state dir>/locks/*  (--watch: redraws when they
       change, and every second on a terminal; a plain reprint when stdout is not one);
       --remote: fetches refs/coven/workers/* and refs/coven/claims/* of the remote
       into refs/coven-remote/NAME/ (with prune)
writes: --remote: those refs, <state dir>/claims-seen.json (when each record was first
       seen here), <state dir>/remote-fetched/NAME.json (when the copy was fetched)
exit: 0 shown (also the last copy of a remote that does not answer) · 2 not in a git
      work tree, or no such remote, or a bad COVEN_MACHINE with --remote · 64 bad usage
`;

import { parseCommandLine, usageError } from './lib/ui/command-line.js';
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { findRepo, type RepoPaths } from './lib/git/runner.js';
import { mainBranchOf } from './lib/git/main-branch.js';
import { describeLockRead, locksDirOf, readLockHolder, type LockRead } from './lib/locks/dispatch-lock.js';
import { runAsEntry } from './lib/ui/entry.js';
import { formatProblem, shellQuote } from './lib/ui/problem.js';
import { livenessOf } from './lib/locks/process-identity.js';
import { stateDirPaths } from './lib/worker/state-dir.js';
import { mainTip } from './lib/worker/wait-for-main.js';
import { readWorkerStates, type WorkerEntry, type WorkerState } from './lib/worker/state.js';
import { clockTime, humanDuration } from './lib/ui/human-duration.js';
import { describeCli } from './lib/ui/worker-ui.js';
import { textTable } from './lib/ui/text-table.js';
import { collectRemoteStatus, remoteStatusJson, renderRemoteStatus } from './lib/remote/remote-status.js';
import { resolveRemote } from './lib/remote/target.js';

export interface LockStatus {
  name: string;
  read: LockRead;
  /** whether the holder process is still running (null: free, corrupt, other host) */
  holderAlive: boolean | null;
}

export interface StatusReport {
  at: number;
  main: { branch: string | null; tip: string | null };
  workers: WorkerEntry[];
  locks: LockStatus[];
}

export async function collectStatus(paths: RepoPaths): Promise<StatusReport> {
  const main = await mainBranchOf(paths);
  const branch = main.kind === 'branch' ? main.name : null;
  const tip = branch ? await mainTip(paths.mainWorktree, branch) : null;
  const workers = await readWorkerStates(paths.stateDir);
  const locks: LockStatus[] = [];
  const dir = locksDirOf(paths.stateDir);
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter((n) => !n.startsWith('.') && !n.includes('.break'));
  } catch {
    // no locks folder yet: nothing is held
  }
  for (const name of names.sort((a, b) => (a === 'dispatch' ? -1 : b === 'dispatch' ? 1 : a.localeCompare(b)))) {
    const read = await readLockHolder(join(dir, name));
    if (read.kind === 'free') continue;
    const live = read.kind === 'held' ? livenessOf({ host: read.holder.host, pid: read.holder.pid, start: read.holder.start }) : null;
    locks.push({ name, read, holderAlive: live === null || live.kind === 'unknown' ? null : live.kind === 'alive' });
  }
  return { at: Date.now(), main: { branch, tip }, workers, locks };
}

function since(iso: string, now: number): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '?' : humanDuration(now - t);
}

/** The table and the lines under it; pure. */
export function renderStatus(r: StatusReport): string {
  const rows: string[][] = [['WORKER', 'PHASE', 'AGENT', 'SINCE', 'LANDED', 'COST', 'CLI']];
  const notes: string[] = [];
  const workers = r.workers.flatMap((w) => (w.kind === 'worker' ? [w] : []));
  for (const w of workers) {
    const s = w.state;
    const agent = s.agent ? [s.agent, ...Object.entries(s.args).map(([k, v]) => `${k}=${v}`)].join(' ') : '-';
    const phase = w.liveness === 'dead' ? `dead (was ${s.phase})` : s.phase;
    rows.push([s.name, phase, agent, since(s.since, r.at), String(s.landed), `$${s.cost_usd.toFixed(2)}`, s.agent ? describeCli(s) : '']);
    if (w.liveness === 'alive' && s.retry) notes.push(`${s.name} waits: ${s.retry.why}; trying again at ${clockTime(s.retry.at)}`);
    if (w.liveness === 'alive' && s.phase === 'sleeping' && s.waiting_on) {
      const moved = r.main.tip && r.main.tip !== s.waiting_on ? `; main is now at ${short(r.main.tip)}` : '';
      notes.push(`${s.name} sleeps until ${r.main.branch ?? 'main'} moves from ${short(s.waiting_on)}${moved}`);
    }
    if (s.phase === 'parked' && s.held && s.held.length > 0) notes.push(describeHeldWorker(s, r.main.branch ?? 'main'));
  }
  const lines: string[] = [];
  if (workers.length === 0) lines.push('no workers');
  else lines.push(...textTable(rows));
  lines.push('');
  const dispatch = r.locks.find((l) => l.name === 'dispatch');
  lines.push(`dispatch lock: ${dispatch ? describeLock(dispatch) : 'free'}`);
  for (const l of r.locks.filter((x) => x.name !== 'dispatch')) lines.push(`${l.name}: ${describeLock(l)}`);
  lines.push(...notes);
  const dead = workers.filter((w) => w.liveness === 'dead').map((w) => w.state.name);
  if (dead.length > 0) lines.push(`dead: ${dead.join(', ')} — \`coven gc\` cleans up after them (keeps unlanded work)`);
  for (const c of r.workers.flatMap((w) => (w.kind === 'corrupt' ? [w] : []))) lines.push(`corrupt state file ${c.file}: ${c.reason}`);
  return lines.join('\n') + '\n';
}

/** A worker parked on a land held because its commits change `.coven/` (lib/worker/coven-hold.ts). */
function describeHeldWorker(s: WorkerState, main: string): string {
  const wt = shellQuote(s.worktree);
  return [
    `${s.name}'s land is held for you: its commits change .coven/ (${(s.held ?? []).join(', ')})`,
    `  review:  git -C ${wt} diff ${shellQuote(main)}...${shellQuote(s.branch)} -- .coven`,
    `  approve: coven land --worktree ${wt} --keep --approve-coven`,
  ].join('\n');
}

function describeLock(l: LockStatus): string {
  const d = describeLockRead(l.read);
  if (l.holderAlive === false) return `${d} (holder is dead; the next waiter or \`coven gc\` breaks it)`;
  return d;
}

function short(sha: string): string {
  return sha.slice(0, 10);
}

/** The JSON shape of `coven status --json`. */
export function statusJson(r: StatusReport): object {
  return {
    main: r.main,
    workers: r.workers.flatMap((w) => (w.kind === 'worker' ? [{ ...w.state, liveness: w.liveness, ...(w.liveness === 'dead' ? { dead_why: w.why } : {}) }] : [])),
    corrupt: r.workers.flatMap((w) => (w.kind === 'corrupt' ? [{ file: w.file, reason: w.reason }] : [])),
    locks: r.locks.map((l) => ({ name: l.name, holder_alive: l.holderAlive, ...l.read })),
  };
}

export async function main(argv: string[]): Promise<number> {
  const spec = { command: 'coven status', usage: help, boolean: ['json', 'watch'], string: ['remote'] };
  const cl = parseCommandLine(remoteWithoutName(argv), spec);
  if (cl.kind === 'exit') return cl.code;
  const args = cl.args;
  if (args.remote !== undefined && args.watch) return usageError(spec, '--watch does not go with --remote').code;
  const repo = await findRepo(process.cwd());
  if (repo.kind !== 'repo') {
    process.stderr.write(formatProblem({ what: `${process.cwd()} is not inside a git work tree.`, next: ['cd <your repository> && coven status'] }) + '\n');
    return 2;
  }
  if (args.remote !== undefined) return remoteStatus(repo.paths, String(args.remote), args.json === true);
  const render = (r: StatusReport): string => (args.json ? JSON.stringify(statusJson(r), null, 2) + '\n' : renderStatus(r));
  if (!args.watch) {
    process.stdout.write(render(await collectStatus(repo.paths)));
    return 0;
  }
  return watchStatus(repo.paths, render);
}

/** `--remote` with no name after it: the configured remote (marked with a name no remote can have). */
const CONFIGURED = '@configured';
function remoteWithoutName(argv: string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((a, i) => (a === '--remote' && (end < 0 || i < end) && (i + 1 >= argv.length || argv[i + 1]!.startsWith('-')) ? `--remote=${CONFIGURED}` : a));
}

async function remoteStatus(paths: RepoPaths, name: string, json: boolean): Promise<number> {
  const main = await mainBranchOf(paths);
  const branch = main.kind === 'branch' ? main.name : 'main';
  let found = await resolveRemote(paths.mainWorktree, branch, name === CONFIGURED ? undefined : name);
  if (found.kind === 'local') found = await resolveRemote(paths.mainWorktree, branch, 'origin');
  if (found.kind !== 'remote') {
    process.stderr.write(formatProblem({ what: found.kind === 'problem' ? `${found.message}.` : 'this clone has no remote to show.', next: (found.kind === 'problem' ? found.next : undefined) ?? ['git remote -v   (the remotes this clone has)', 'coven status --remote NAME'] }) + '\n');
    return 2;
  }
  const report = await collectRemoteStatus({ repo: paths.mainWorktree, stateDir: paths.stateDir, target: found.target });
  process.stdout.write(json ? JSON.stringify(remoteStatusJson(report), null, 2) + '\n' : renderRemoteStatus(report));
  return 0;
}

/** Redraws on every change in workers/ or locks/; runs until SIGINT/SIGTERM. */
async function watchStatus(paths: RepoPaths, render: (r: StatusReport) => string): Promise<number> {
  const tty = process.stdout.isTTY === true;
  const dirs = stateDirPaths(paths.stateDir);
  await mkdir(dirs.workers, { recursive: true }).catch(() => undefined);
  await mkdir(dirs.locks, { recursive: true }).catch(() => undefined);
  let last = '';
  let busy = false;
  let again = false;
  const redraw = async (): Promise<void> => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        const report = await collectStatus(paths);
        const text = render(report);
        // off a terminal, print only real changes (not a second ticking by)
        const key = tty ? text : render({ ...report, at: 0 });
        if (key !== last) {
          last = key;
          process.stdout.write(tty ? `\x1b[H\x1b[2J${text}` : `--- ${new Date(report.at).toISOString()}\n${text}`);
        }
      } while (again);
    } finally {
      busy = false;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const soon = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => void redraw(), 30); // a burst of events → one redraw
  };
  const watchers: FSWatcher[] = [];
  for (const d of [dirs.workers, dirs.locks]) {
    try {
      watchers.push(watch(d, soon).on('error', () => undefined));
    } catch {
      // missing: the periodic redraw still shows changes
    }
  }
  await redraw();
  const tick = setInterval(() => void redraw(), tty ? 1_000 : 2_000); // deaths change no file
  return new Promise((resolve) => {
    const stop = (): void => {
      clearInterval(tick);
      clearTimeout(timer);
      for (const w of watchers) w.close();
      resolve(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

runAsEntry(import.meta.url, main);
