// land messages — the one text (and exit code) for every land result, used by the
// land step and by the worker.

import { operationCommands } from '../git/operation.js';
import { formatProblem, shellQuote, type Problem } from '../ui/problem.js';
import { short, type LandResult, type LocalMain, type Refusal, type Removal } from './land.js';
import { plural } from './remove.js';

/** What a land says when it left out commits that `onto` had dropped (it was moved back). */
export function describeLeftOut(onto: string, ref: string): string {
  return `coven: ${onto} was moved back since this branch left it, so the commits it dropped were left out (as git rebase does); the branch as it was is kept as ${ref}   (git log --oneline ${shellQuote(onto)}..${ref})`;
}

/** What a land says when it moved `onto` by compare-and-swap because it is checked out nowhere. */
export function describeUntouched(onto: string, untouched: string): string {
  const yours = untouched === 'a detached HEAD' ? 'your main worktree (a detached HEAD)' : `your checkout of ${untouched}`;
  return `coven: ${onto} is checked out nowhere, so only the branch moved (compare-and-swap); ${yours} was not touched.`;
}

/** The land command to run again on worktree `wt`, every argument quoted for a shell. */
export function againCommand(self: string, wt: string, againArgs: string[]): string {
  return [self, '--worktree', shellQuote(wt), ...againArgs.map(shellQuote)].join(' ');
}

/** The one message (and exit code) for a land result. */
export function describeLand(r: LandResult, how: { self: string; againArgs: string[] }): { ok: boolean; code: number; text: string } {
  const again = (wt: string) => againCommand(how.self, wt, how.againArgs);
  const problem = (code: number, p: Problem) => ({ ok: false, code, text: formatProblem(p) });
  const list = (files: string[]) => files.map((f) => `\n    ${f}`).join('');
  switch (r.kind) {
    case 'landed':
    case 'nothing-to-land': {
      const head =
        r.kind === 'landed'
          ? `coven: landed ${plural(r.commits, 'commit')} from ${r.branch} on ${r.onto}${r.remote ? ` at ${r.remote}` : ''} (now ${short(r.main)})${r.retries ? `, after ${plural(r.retries, 'retry', 'retries')}` : ''}.${r.untouched ? `\n${describeUntouched(r.onto, r.untouched)}` : ''}${r.remote && r.local ? localMainLine(r.local, r.onto, r.remote, r.main) : ''}`
          : `coven: nothing to land: every commit of ${r.branch} is already on ${r.onto}.`;
      return { ok: true, code: 0, text: `${head}${r.leftOut ? `\n${describeLeftOut(r.onto, r.leftOut)}` : ''}\n${describeRemoval(r.removal, r.worktree, r.branch)}` };
    }
    case 'dirty':
      return problem(2, {
        what: `cannot land ${r.branch}: the worktree has uncommitted changes:${list(r.files)}`,
        kept: 'Nothing was changed.',
        next: [`cd ${shellQuote(r.worktree)}`, 'git add -A && git commit    # or: git stash', again(r.worktree)],
      });
    case 'conflict':
      return problem(3, {
        what: `cannot land ${r.branch}: rebasing onto ${r.onto} stopped at a conflict in ${short(r.commit)} "${r.subject}":${list(r.files)}`,
        kept: `${r.onto} was not changed. The rebase is left in progress in ${r.worktree}; \`git rebase --abort\` puts ${r.branch} back as it was (${plural(r.commits, 'commit')}).`,
        next: [
          `cd ${shellQuote(r.worktree)}`,
          `# edit the files to resolve the conflict, then:`,
          `git add -- ${r.files.map(shellQuote).join(' ')}`,
          'git rebase --continue',
          again(r.worktree),
          `# or give up on this land: git rebase --abort`,
        ],
      });
    case 'main-blocked':
      return problem(4, {
        what: `cannot land ${r.branch}: the checkout of ${r.onto} in ${r.mainWorktree} has uncommitted, untracked or ignored files that this land would overwrite:${list(r.files)}`,
        kept: `${r.onto} and your files were not changed; ${stay(r.commits)} on ${r.branch} (rebased onto ${r.onto}).`,
        next: [`commit, stash or move those files in ${shellQuote(r.mainWorktree)}, then run:`, again(r.worktree)],
      });
    case 'main-busy':
      return problem(4, describeBusy(r, again(r.worktree)));
    case 'coven-held':
      return problem(5, describeHeld(r, again(r.worktree)));
    case 'lease-lost':
      if (r.remote === undefined) return problem(PUSH_CODES[r.kind], describeClaimLost(r));
      return problem(PUSH_CODES[r.kind], describePushProblem({ ...r, remote: r.remote }, again(r.worktree)));
    case 'unreachable':
    case 'push-refused':
      return problem(PUSH_CODES[r.kind], describePushProblem(r, again(r.worktree)));
    default:
      return problem(1, describeRefusal(r, again, how.self));
  }
}

/** The exit codes of a land by push that did not push (land-worktree's usage text). */
const PUSH_CODES = { unreachable: 6, 'lease-lost': 7, 'push-refused': 1 } as const;

type PushProblem = Extract<LandResult, { kind: 'unreachable' | 'push-refused' }> | (Extract<LandResult, { kind: 'lease-lost' }> & { remote: string });

/** Local mode: the job's claim, which moves with main, was not this land's any more: main did not move. */
function describeClaimLost(r: Extract<LandResult, { kind: 'lease-lost' }>): Problem {
  return {
    what: `cannot land ${r.branch}: the job's claim ${r.ref} is no longer this worker's (another worker took the job over, or the claim was removed), so ${r.onto} was not moved (${r.message}).`,
    kept: `${r.onto} and the claim were not changed; ${stay(r.commits)} on ${r.branch}.`,
    // not the same command again: it would be refused the same way while the claim is another's
    next: [`coven status    # who holds the job now`, `git -C ${shellQuote(r.worktree)} log --oneline ${shellQuote(r.onto)}..${shellQuote(r.branch)}    # what would have landed`],
  };
}

/** Remote mode: a land whose push did not happen (nothing was pushed: the push is atomic). */
export function describePushProblem(r: PushProblem, again: string): Problem {
  const main = `${r.remote}/${r.onto}`;
  const kept = `Nothing was pushed: ${r.onto} on ${r.remote} was not changed; ${stay(r.commits)} on ${r.branch}.`;
  switch (r.kind) {
    case 'unreachable':
      return {
        what: `cannot land ${r.branch}: the remote ${r.remote} did not answer (${r.message}).`,
        // a push whose answer was lost mid-way (timed out, cut) may have been applied: the next land finds out
        kept: /timed out|hung up|early eof|disconnect|reset|broken pipe/i.test(r.message)
          ? `${r.onto} on ${r.remote} may or may not have been changed: the answer was lost mid-way (the next land sees which; landed commits are not pushed twice); ${stay(r.commits)} on ${r.branch}.`
          : kept,
        next: [`git ls-remote ${shellQuote(r.remote)} ${shellQuote(`refs/heads/${r.onto}`)}    # answers once the network or the server is back`, again],
      };
    case 'lease-lost':
      return {
        what: `cannot land ${r.branch}: the job's claim ${r.ref} on ${r.remote} is no longer this worker's (its lease ran out and another worker took the job over), so the push was refused (${r.message}).`,
        kept: `${kept} The other worker lands the job; these commits must not land over it.`,
        next: [`git -C ${shellQuote(r.worktree)} log --oneline ${shellQuote(main)}..${shellQuote(r.branch)}    # what would have landed`, `git fetch ${shellQuote(r.remote)} && git log ${shellQuote(main)}    # what the other worker landed`],
      };
    case 'push-refused':
      return {
        what: `cannot land ${r.branch}: ${r.remote} refused the push of ${r.ref}: ${r.message}`,
        kept: `${kept} A protected branch or a server hook refuses such pushes; coven never forces one.`,
        next: [`allow pushes to ${r.onto} for this account on ${r.remote} (or replace the land step: docs/steps.md, "Replacing a step"), then run:`, again],
      };
  }
}

/** Remote mode: after a push, what the clone's local main did (nothing to say when it followed). */
export function describeLocalMain(local: LocalMain, onto: string, remote: string, pushed: string): string | null {
  const q = shellQuote;
  switch (local.kind) {
    case 'followed':
    case 'level':
      return null;
    case 'own-commits':
      return `coven: your local ${onto} has ${plural(local.commits, 'commit')} that ${local.commits === 1 ? 'is' : 'are'} not on ${remote} (now ${short(pushed)}); it was left as it is, nothing lost. To put ${local.commits === 1 ? 'it' : 'them'} on ${remote}: git -C ${q(local.mainWorktree)} pull --rebase ${q(remote)} ${q(onto)} && git -C ${q(local.mainWorktree)} push ${q(remote)} ${q(onto)}`;
    case 'not-followed':
      return `coven: your local ${onto} was not moved to ${remote}'s (now ${short(pushed)}): ${local.why}. Nothing lost; it follows at a later land, or: git -C ${q(local.mainWorktree)} merge --ff-only ${q(`${remote}/${onto}`)}`;
  }
}

function localMainLine(local: LocalMain, onto: string, remote: string, pushed: string): string {
  const line = describeLocalMain(local, onto, remote, pushed);
  return line ? `\n${line}` : '';
}

/** Why a worktree cannot be landed at all (every refusal exits 1). */
function describeRefusal(r: Refusal, again: (wt: string) => string, self: string): Problem {
  switch (r.kind) {
    case 'in-progress': {
      const cmds = operationCommands(r.operation);
      return {
        what: `cannot land ${r.branch ?? 'this worktree'}: a ${r.operation} is in progress in ${r.worktree}.`,
        kept: `Nothing was changed; the ${r.operation} is as it was.`,
        next: [`cd ${shellQuote(r.worktree)}`, `finish it (resolve, git add, then ${cmds.finish}), or abandon it: ${cmds.abort}`, again(r.worktree)],
      };
    }
    case 'not-a-worktree':
      return {
        what:
          r.reason === 'missing'
            ? `cannot land: ${r.dir} does not exist.`
            : r.reason === 'bare'
              ? `cannot land: ${r.dir} is a bare repository; run this in a worker worktree.`
              : `cannot land: ${r.dir} is not inside a git worktree.`,
        next: ['git worktree list    # the worktrees of this repository', `${self} --worktree <worker worktree>`],
      };
    case 'main-worktree':
      return {
        what: `cannot land from the main worktree (${r.dir}): land runs in a worker worktree and puts its commits here.`,
        kept: 'Nothing was changed.',
        next: ['git worktree list    # find the worker worktree', `${self} --worktree <worker worktree>`],
      };
    case 'detached':
      return {
        what: `cannot land: HEAD is detached in ${r.worktree}; land needs a branch.`,
        kept: 'Nothing was changed.',
        next: [`cd ${shellQuote(r.worktree)}`, 'git switch -c <new-branch>    # keeps the commits on a branch', again(r.worktree)],
      };
    case 'no-target':
      return {
        what:
          r.wanted === null
            ? `cannot tell where to land ${r.branch}: it has no local upstream and the main worktree is not on a branch.`
            : `cannot land ${r.branch} on ${r.wanted}: there is no local branch ${r.wanted}.`,
        kept: 'Nothing was changed.',
        next: [`${again(r.worktree)} --onto <branch>`],
      };
    case 'same-branch':
      return {
        what: `cannot land ${r.branch} on itself (it is the branch it would land on).`,
        kept: 'Nothing was changed.',
        next: [`${again(r.worktree)} --onto <branch>`],
      };
    case 'failed':
      return {
        what: `cannot land ${r.branch ?? r.worktree}: ${r.step} failed:\n  ${r.message.replace(/\n/g, '\n  ')}`,
        kept: `The main branch was not changed${r.branch ? `; the commits stay on ${r.branch}` : ''}.`,
        next: ['fix the cause above, then run:', again(r.worktree)],
      };
  }
}

function describeBusy(r: Extract<LandResult, { kind: 'main-busy' }>, again: string): Problem {
  const kept = `${r.onto} was not changed; ${stay(r.commits)} on ${r.branch}.`;
  const b = r.busy;
  switch (b.reason) {
    case 'operation':
      return {
        what: `cannot land ${r.branch}: a ${b.operation} is in progress in ${b.mainWorktree}, where ${r.onto} is checked out.`,
        kept,
        next: [`finish it (${operationCommands(b.operation).finish}) or abandon it (${operationCommands(b.operation).abort}) in ${shellQuote(b.mainWorktree)}, then run:`, again],
      };
    case 'index-locked':
      return {
        what: `cannot land ${r.branch}: another git command holds ${b.lockFile} in ${b.mainWorktree}.`,
        kept,
        next: ['wait for it and run again; if no git command is running there, the lock is left over from a crash:', `rm ${shellQuote(b.lockFile)}`, again],
      };
    case 'ref-locked':
      return {
        what: `cannot land ${r.branch}: git cannot move ${r.onto}, because the lock file ${b.lockFile} exists. A git command that is updating ${r.onto} holds it, or one that was killed left it behind; while it is there every land fails.`,
        kept: `${kept} coven never removes a lock under ${r.onto} itself: it cannot tell a lock left over from one a running git holds.`,
        next: [`check that no git command is running in this repository (ps -ef | grep '[g]it '), then remove it:`, `rm ${shellQuote(b.lockFile)}`, again],
      };
    case 'land-locked':
      return {
        what: `cannot land ${r.branch}: another land holds ${b.lockFile} for too long.`,
        kept,
        next: ['run again in a moment (a lock left by a land that died is broken at once):', again],
      };
    case 'kept-moving':
      return {
        what: `cannot land ${r.branch}: ${r.onto} kept moving (other lands won ${plural(b.retries, 'time')} in a row).`,
        kept: `${kept} The branch is rebased onto a recent ${r.onto}.`,
        next: ['run again:', again],
      };
  }
}

/** A land held because its commits change `.coven/`: what, what stays, how to review and approve. */
export function describeHeld(r: Extract<LandResult, { kind: 'coven-held' }>, again: string): Problem {
  const range = `${shellQuote(r.onto)}...${shellQuote(r.branch)}`;
  return {
    what: `land held for you: ${r.branch} changes .coven/, which sets what coven's agents may do and what its workers run; such a change lands only when you approve it:${r.files.map((f) => `\n    ${f}`).join('')}`,
    kept: `${r.onto} was not changed; ${stay(r.commits)} on ${r.branch} (rebased onto ${r.onto}).`,
    next: [
      `git -C ${shellQuote(r.worktree)} diff ${range} -- .coven    # review the change`,
      `${again} --approve-coven    # land it as it is`,
      `# or drop it: in ${shellQuote(r.worktree)}, commit the undoing of those files and run: ${again}`,
    ],
  };
}

function describeRemoval(removal: Removal, worktree: string, branch: string): string {
  switch (removal.kind) {
    case 'kept':
      return `  Kept the worktree ${worktree} and the branch ${branch}.`;
    case 'removed':
      return `  Removed the worktree ${worktree} and the branch ${branch}.${removal.wasCwd ? `\n  Your shell is still in the removed folder: cd ${shellQuote(removal.mainWorktree)}` : ''}`;
    case 'not-removed':
      return `  Kept the worktree ${worktree} and the branch ${branch}: ${removal.reason}`;
  }
}

/** "the worker's commit stays" / "the worker's 3 commits stay" */
function stay(n: number): string {
  return n === 1 ? "the worker's commit stays" : `the worker's ${n} commits stay`;
}
