// chaos-remote-checks (helper) — the guarantees the remote chaos run (chaos-remote.ts)
// checks at its end, one named function each, so that a failure says which one broke.
// Each returns its problems, every one starting with the guarantee's name:
//
//   noCommitLost        (a) every commit an agent made is on the remote's main or kept in
//                           its clone (a coven/ branch, refs/coven/); every commit a
//                           human pushed is on the remote's main; every marker on main is a
//                           line of main's files (no conflict resolution dropped one)
//   mainForwardLinear   (b) every tip of the remote's main seen during the run (and every
//                           update in the bare repository's reflog) is an ancestor of the
//                           next; main has no merge commit
//   noJobTwice          (c) each issue was finished on main exactly once: one commit that
//                           moved issues/<id>.md to done/ (its "part 2"), and the file moved
//   noClaimStuck        (d) no claim on the remote is `held` by a worker that is not running
//   messagesSay         (e) the workers' output names what happened and what was kept
//
// They read a bare repository (the remote) and clones directly from disk, never through
// the daemon, so they work whether it runs or not.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClaimRecordSchema, type ClaimRecord, type Holder } from '../../scripts/lib/claims/claim.js';
import { everyMarker, markersOf, readRecorded } from './chaos.js';
import { run, sh } from './repo.js';

/** A machine: its clone and where its workers' worktrees are made. */
export interface MachineDirs {
  machine: string;
  clone: string;
  worktreeBase: string;
}

const isAncestor = async (repo: string, a: string, b: string) => (await run('git', ['merge-base', '--is-ancestor', a, b], { cwd: repo })).code === 0;

/** (a) No commit lost: agents' commits on the remote's main or kept in their clone; humans' pushes on main. */
export async function noCommitLost(bare: string, machines: MachineDirs[], commitsLog: string, humanPushed: string[]): Promise<string[]> {
  const say = (s: string) => `(a) no commit lost: ${s}`;
  const problems: string[] = [];
  const onMain = await markersOf(bare, 'refs/heads/main');
  const keptIn = new Map<string, Set<string>>();
  for (const m of machines) keptIn.set(m.machine, await markersOf(m.clone, '--branches=coven/', '--glob=refs/coven/*'));
  const recorded = readRecorded(commitsLog);
  for (const c of recorded) {
    if (onMain.has(c.marker)) continue;
    const m = machines.find((x) => c.where.startsWith(`${x.worktreeBase}/`));
    if (!m) problems.push(say(`agent commit ${c.id.slice(0, 10)} (marker ${c.marker}) was made in ${c.where}, under no machine's worktree folder`));
    else if (!keptIn.get(m.machine)!.has(c.marker)) problems.push(say(`agent commit ${c.id.slice(0, 10)} (marker ${c.marker}, made on ${m.machine} in ${c.where}) is neither on the remote's main nor kept in ${m.machine}'s clone (a coven/ branch, refs/coven/)`));
  }
  // a commit cut short by a kill (made, never recorded): lost too if nothing reaches it
  const recordedMarkers = new Set(recorded.map((c) => c.marker));
  for (const m of machines) {
    for (const marker of await everyMarker(m.clone)) {
      if (!recordedMarkers.has(marker) && !onMain.has(marker) && !keptIn.get(m.machine)!.has(marker)) problems.push(say(`a commit with marker ${marker} exists in ${m.machine}'s clone, unrecorded and unreachable (a commit cut short?)`));
    }
  }
  for (const id of humanPushed) if (!(await isAncestor(bare, id, 'refs/heads/main'))) problems.push(say(`the human's pushed commit ${id.slice(0, 10)} is not on the remote's main`));
  const lines = new Set((await sh(bare, 'grep', '-h', '-e', '.', 'refs/heads/main', '--', 'shared/')).split('\n').map((l) => l.split(' ')[1]));
  for (const marker of onMain) if (!lines.has(marker)) problems.push(say(`marker ${marker} is on the remote main's history but its line is missing from main's files (a resolution dropped it)`));
  return problems;
}

/** (b) The remote's main only moved forward (the tips sampled, the bare repository's reflog) and has no merge commit. */
export async function mainForwardLinear(bare: string, samples: string[]): Promise<string[]> {
  const say = (s: string) => `(b) main forward and linear: ${s}`;
  const problems: string[] = [];
  const tips = samples.filter((t, i) => t !== samples[i - 1]);
  for (let i = 1; i < tips.length; i++) {
    if (!(await isAncestor(bare, tips[i - 1]!, tips[i]!))) problems.push(say(`the remote's main moved from ${tips[i - 1]!.slice(0, 10)} to ${tips[i]!.slice(0, 10)}, which does not contain it (sampled)`));
  }
  const final = await sh(bare, 'rev-parse', 'refs/heads/main');
  const last = tips[tips.length - 1];
  if (last !== undefined && !(await isAncestor(bare, last, final))) problems.push(say(`the last tip sampled ${last.slice(0, 10)} is not an ancestor of the final main`));
  const log = join(bare, 'logs', 'refs', 'heads', 'main');
  let lines: string[] = [];
  try {
    lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  } catch {
    problems.push(say("the bare repository has no reflog of main (core.logAllRefUpdates=always): the check of every update could not run"));
  }
  for (const line of lines) {
    const [from = '', to = ''] = line.split(' ');
    if (/^0+$/.test(from)) continue;
    if (!(await isAncestor(bare, from, to))) problems.push(say(`the remote's reflog has a move of main from ${from.slice(0, 10)} to ${to.slice(0, 10)}, which does not contain it`));
  }
  const merges = await sh(bare, 'rev-list', '--merges', 'refs/heads/main');
  if (merges) problems.push(say(`the remote's main has merge commits: ${merges.split('\n').join(', ')}`));
  return problems;
}

/** (c) Each issue finished on the remote's main exactly once. */
export async function noJobTwice(bare: string, issueIds: string[]): Promise<string[]> {
  const say = (s: string) => `(c) no job done twice: ${s}`;
  const problems: string[] = [];
  const subjects = (await sh(bare, 'log', '--format=%s', 'refs/heads/main')).split('\n');
  const tree = new Set((await sh(bare, 'ls-tree', '-r', '--name-only', 'refs/heads/main')).split('\n'));
  for (const id of issueIds) {
    const finished = subjects.filter((s) => s === `${id}: part 2`).length;
    if (finished !== 1) problems.push(say(`issue ${id} was finished ${finished} times on the remote's main (commits "${id}: part 2")`));
    if (!tree.has(`done/${id}.md`) || tree.has(`issues/${id}.md`)) problems.push(say(`issue ${id} is not moved to done/ on the remote's main`));
  }
  return problems;
}

export interface ClaimOnRemote {
  ref: string;
  record: ClaimRecord | null;
  /** why the record could not be read */
  unreadable?: string;
}

/** Every claim ref of the bare repository, its record parsed. */
export async function claimsOn(bare: string): Promise<ClaimOnRemote[]> {
  const refs = (await sh(bare, 'for-each-ref', '--format=%(refname)', 'refs/coven/claims/')).split('\n').filter(Boolean);
  const out: ClaimOnRemote[] = [];
  for (const ref of refs) {
    const body = await sh(bare, 'log', '-1', '--format=%B', ref);
    try {
      const parsed = ClaimRecordSchema.safeParse(JSON.parse(body));
      out.push(parsed.success ? { ref, record: parsed.data } : { ref, record: null, unreadable: parsed.error.message.slice(0, 200) });
    } catch (e) {
      out.push({ ref, record: null, unreadable: String(e).slice(0, 200) });
    }
  }
  return out;
}

/** (d) No claim on the remote is held by a worker that is not running (`running` judges a holder). */
export async function noClaimStuck(bare: string, running: (h: Holder) => boolean): Promise<string[]> {
  const say = (s: string) => `(d) no claim stuck: ${s}`;
  const problems: string[] = [];
  for (const c of await claimsOn(bare)) {
    if (!c.record) problems.push(say(`${c.ref} is unreadable: ${c.unreadable}`));
    else if (c.record.state === 'held' && !running(c.record.holder)) problems.push(say(`${c.ref} is held by ${c.record.holder.worker} on ${c.record.holder.machine} (pid ${c.record.holder.pid}), which is not running`));
  }
  return problems;
}

/** What the workers' output must say at least once in the run: a name, and the line it must match. */
export type MessageRule = { what: string; line: RegExp };

/** (e) Each rule's line appears in some worker's output. */
export function messagesSay(logs: string, rules: MessageRule[]): string[] {
  const text = readdirSync(logs)
    .map((f) => readFileSync(join(logs, f), 'utf8'))
    .join('\n');
  return rules.filter((r) => !r.line.test(text)).map((r) => `(e) messages: no worker said ${r.what} (no line matches ${r.line})`);
}

/**
 * From the bare repository's reflogs of claims: how many times a `held` claim became held
 * by another worker (taken over: lease ran out or holder dead) and how many times by the
 * same name on the same machine with another pid (a restarted worker took its own back).
 */
export async function takeovers(bare: string): Promise<{ takenOver: number; ownBack: number }> {
  let takenOver = 0;
  let ownBack = 0;
  const dir = join(bare, 'logs', 'refs', 'coven', 'claims');
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return { takenOver, ownBack };
  }
  const recordAt = async (id: string): Promise<ClaimRecord | null> => {
    if (/^0+$/.test(id)) return null;
    try {
      const parsed = ClaimRecordSchema.safeParse(JSON.parse((await run('git', ['log', '-1', '--format=%B', id], { cwd: bare })).stdout));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  };
  for (const name of names) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean)) {
      const [from = '', to = ''] = line.split(' ');
      const [before, after] = [await recordAt(from), await recordAt(to)];
      if (before?.state !== 'held' || after?.state !== 'held') continue;
      const same = before.holder.worker === after.holder.worker && before.holder.machine === after.holder.machine;
      if (!same) takenOver++;
      else if (before.holder.pid !== after.holder.pid) ownBack++;
    }
  }
  return { takenOver, ownBack };
}
