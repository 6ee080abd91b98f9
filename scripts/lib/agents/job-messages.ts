// job-messages — what a worker and the run-agent step say after an agent's job: where
// the work that could not stay on the branch was kept, and what to run about it.

import { formatProblem, shellQuote } from '../ui/problem.js';
import type { JobOutcome } from './agent-job.js';

export interface JobContext {
  agent: string;
  /** the branch the job's work lands on, and the worktree where it is checked out */
  main: string;
  mainWorktree: string;
}

/** The problems to show after a job (empty when it left nothing aside), each a message of its own. */
export function describeJob(job: JobOutcome, c: JobContext): string[] {
  if (job.kind !== 'finished') return [];
  const out: string[] = [];
  if (job.session.kind === 'cli-not-found') out.push(`coven: ${job.session.message}`);
  if (job.stray) out.push(`coven: the agent committed off its branch; those commits are saved as ${job.stray}`);
  for (const ref of job.kept.dropped) out.push(`coven: the agent reset its branch and dropped commits; they are kept as ${ref}   (git log ${ref})`);
  for (const ref of job.kept.unreachable ?? []) out.push(`coven: commits the agent made were left on no branch (only in a reflog: it deleted or moved the ref that held them); they are kept as ${ref}   (git log ${ref})`);
  if (job.kept.rewound) out.push(describeRewound(job.kept.rewound, c));
  const refs = job.kept.covenRefs;
  if (refs && refs.restored.length > 0) out.push(`coven: the agent deleted or moved ${refs.restored.length} ref(s) under refs/coven/, where coven keeps work; they are put back: ${refs.restored.join(', ')}`);
  if (refs && refs.lost.length > 0) out.push(`coven: the agent deleted ${refs.lost.length} ref(s) under refs/coven/ and their commits are gone from the repository (pruned): ${refs.lost.join(', ')}. Look for them in other clones or backups.`);
  if (job.kept.upstream != null) out.push(`coven: the agent pointed its branch's upstream at ${job.kept.upstream || 'nothing'}; it is put back on ${c.main}, where coven lands its work`);
  for (const ref of job.history.replace) out.push(`coven: the agent made a replace ref (git replace), which would show you a history that is not on ${c.main}; coven's land ignored it, and it is moved to ${ref}   (git show ${ref})`);
  if (job.history.shallow?.kind === 'moved') out.push(`coven: the agent made the repository shallow (git fetch --depth), which cut ${c.main}'s history short in your git log; every commit is still here, so the shallow file is moved to ${job.history.shallow.to}`);
  if (job.history.shallow?.kind === 'left') out.push(`coven: the agent made the repository shallow (git fetch --depth) and fetched commits whose parents are not here (${job.history.shallow.missing.slice(0, 10)}); the shallow file ${job.history.shallow.path} is left, as removing it would leave those commits without parents. To make history whole: git fetch --unshallow <the remote it fetched from>`);
  if (job.history.grafts) out.push(`coven: the agent wrote a grafts file (.git/info/grafts), which would show you a history that is not on ${c.main}; coven's land ignored it, and it is moved to ${job.history.grafts}`);
  if (job.saved.kind === 'saved') out.push(`coven: the agent left uncommitted changes (${job.saved.files.join(', ')}); saved as ${job.saved.ref}, not landed`);
  return out;
}

function describeRewound(r: { ref: string; from: string; to: string | null }, c: JobContext): string {
  const main = shellQuote(c.main);
  const at = shellQuote(c.mainWorktree);
  return formatProblem({
    what: `${c.main} moved backwards while ${c.agent} ran (from ${r.from.slice(0, 10)} to ${r.to ? r.to.slice(0, 10) : 'nothing'}): a forced push or a reset of ${c.main}, by the agent or by someone else.`,
    kept: `coven did not move ${c.main} back. Its old tip is kept as ${r.ref}.`,
    next: [
      `git log --oneline ${main}..${r.ref}   (the commits that left ${c.main})`,
      r.to
        ? `git -C ${at} cherry-pick ${r.to.slice(0, 12)}..${r.ref}   (puts them back on top of ${c.main}, which may have moved on since; run where ${c.main} is checked out)`
        : `git -C ${at} merge --ff-only ${r.ref}   (puts them back, if ${c.main} is checked out there)`,
    ],
  });
}
