#!/usr/bin/env node
// resolve-conflict — finish a land that stopped on a conflict by resuming the session that made the commits.

const usage = `usage: coven resolve --session FILE [--worktree DIR] [--remote NAME]

After \`coven land\` stopped on a conflict (exit 3, the rebase left open), resumes the
agent session recorded in FILE (written by coven run-agent): the same CLI (the
record's cli: the one that ran last, after a fallback; none recorded: claude), the
same session id, from the same worktree, with the agent's arguments for that CLI
(claude_args, codex_args …, from its agent file as the branch it lands on has it —
never the worktree's, which holds the agent's own commits — else the record's
cli_args). The prompt names the conflicted files,
both sides' commits and the commands to finish. At most 3 rounds that do not resolve
it; once resolved, it lands (rebase + fast-forward, keeping the worktree and branch).
Then FILE is rewritten with the session it ended with and the added cost.

  --session FILE   the session record (untrusted: read capped, validated)
  --worktree DIR   the worktree (default: the current directory); it must be the
                   record's cwd
  --remote NAME    remote mode (docs/remote.md): once resolved, land by pushing to
                   this remote's main, as \`coven land --remote\` does (default: git
                   config coven.remote; without either, the local main branch moves)

env:    COVEN_CLAUDE, COVEN_CODEX, COVEN_GEMINI, COVEN_OPENCODE (the agent CLI's
        binary; default: its command on PATH); remote mode: COVEN_REMOTE_TIMEOUT_MS
        (how long a fetch or push may take, default 60 s); COVEN_MACHINE (this
        machine's name, default: the host name; a value that is not a machine name
        stops it before anything changes: exit 64)
reads:  the session record; the open rebase; the agent's file on the branch it lands on
writes: the session record (updated); git: the resolution's commits, main (landed);
        refs/coven/unfinished/… (how far a resolution got, when it gave up),
        refs/coven/resolve/… (the branch before a resolution that dropped commits)
exit:   0 resolved and landed · 3 gave up (the rebase is undone, the branch keeps
        its commits; the message says where the unfinished work is kept)
        4 resolved, but main's checkout is in the way or busy (coven land --keep later)
        5 resolved, but the land is held: the commits change .coven/ (the message
          says how to review and approve: coven land --keep --approve-coven)
        6 remote mode: resolved, but the remote did not answer (nothing pushed; the
          branch keeps the resolved commits: coven land --keep --remote NAME later)
        7 remote mode: resolved, but the job's claim was taken over (nothing pushed)
        2 not in a git work tree, no conflict in progress, a bad record, or a
          running worker (not parked) works in this worktree (the message says which) · 64 bad usage · 130 stopped (Ctrl-C; the rebase is
          undone) · 1 anything else
`;

import { parseCommandLine, usageError } from './lib/ui/command-line.js';
import { runAsEntry } from './lib/ui/entry.js';
import { findRepo } from './lib/git/runner.js';
import { exitWithProblem, shellQuote } from './lib/ui/problem.js';
import { samePath } from './lib/files/same-path.js';
import { refuseIfOwned } from './lib/worker/owner.js';
import { cliOfRecord, readSessionRecord, writeSessionRecord, type SessionRecord } from './lib/steps/session-record.js';
import { agentAt } from './lib/land/coven-changes.js';
import { openConflict } from './lib/land/open-conflict.js';
import { abortRebaseIfAny, resolveConflict, type Conflict, type ResolveOutcome } from './lib/land/resolve-conflict.js';
import { describeLand } from './lib/land/messages.js';
import { stopSessionsOnSignals } from './lib/session/stop-on-signal.js';
import { fixOfRemoteProblem, resolveRemote } from './lib/remote/target.js';

const spec = { command: 'coven resolve', usage, string: ['session', 'worktree', 'remote'] };

export async function main(argv: string[]): Promise<number> {
  const cl = parseCommandLine(argv, spec);
  if (cl.kind === 'exit') return cl.code;
  const file = cl.args.session as string | undefined;
  if (!file) return usageError(spec, '--session is required').code;
  const where = (cl.args.worktree as string | undefined) ?? process.cwd();
  const repo = await findRepo(where);
  if (repo.kind !== 'repo') return exitWithProblem(2, { what: `${where} is not inside a git work tree.`, next: ['cd into the worktree where the land stopped, or pass --worktree DIR'] });
  const worktree = repo.paths.toplevel;
  const refused = await refuseIfOwned(repo.paths, 2, 'resolve in', () => `coven resolve ${argv.map(shellQuote).join(' ')}`);
  if (refused !== null) return refused;

  const read = await readSessionRecord(file);
  if (read.kind === 'bad') return exitWithProblem(2, { what: `bad session record: ${read.problem}`, kept: 'Nothing was changed; the rebase is as it was.', next: [`cd ${shellQuote(worktree)} && git status   (resolve by hand)`] });
  const record = read.record;
  if (!samePath(record.cwd, worktree)) {
    return exitWithProblem(2, { what: `bad session record: the session in ${file} ran in ${record.cwd}, not in ${worktree}; a session can only be resumed from where it ran.`, next: [`coven resolve --session ${shellQuote(file)} --worktree ${shellQuote(record.cwd)}`] });
  }
  const open = await openConflict(repo.paths, worktree, record.branch);
  if (open.kind !== 'conflict') return exitWithProblem(2, { what: noConflict(open.kind, worktree, record.branch, open.kind === 'other-branch' ? open.rebasing : null), kept: 'Nothing was changed.' });

  const found = await resolveRemote(repo.paths.mainWorktree, open.conflict.onto, cl.args.remote as string | undefined);
  if (found.kind === 'problem') return exitWithProblem(64, { what: found.message, kept: 'Nothing was changed; the rebase is as it was.', next: fixOfRemoteProblem(found) });
  const stopper = stopSessionsOnSignals();
  // the agent file as main has it: the worktree, mid-rebase, holds the agent's own commits
  const cli = cliOfRecord(record);
  const cliArgs = (await agentAt(worktree, `refs/heads/${open.conflict.onto}`, record.agent))?.cliArgs[cli] ?? record.cli_args;
  process.stdout.write(`coven: rebasing ${record.branch} onto ${open.conflict.onto} stopped on a conflict in ${open.conflict.files.join(', ') || 'a commit git could not apply'}; resuming ${cli} session ${record.session_id ?? '(none: a fresh one)'} of ${record.agent} to resolve it\n`);
  const resolved = await resolveConflict({
    stateDir: repo.paths.stateDir,
    worker: record.worker,
    display: (line) => process.stdout.write(`${line}\n`),
    onSession: stopper.onSession,
    worktree,
    branch: record.branch,
    conflict: open.conflict,
    agentName: record.agent,
    cli,
    cliArgs,
    sessionId: record.session_id,
    signal: stopper.signal,
    ...(found.kind === 'remote' ? { remote: { target: found.target } } : {}),
  });
  const updated: SessionRecord = { ...record, session_id: resolved.sessionId ?? record.session_id, cost_usd: record.cost_usd + resolved.costUsd, ended_at: new Date().toISOString() };
  await writeSessionRecord(file, updated);
  return report(resolved, open.conflict, file, record.worker);
}

async function report(r: ResolveOutcome, c: Conflict, file: string, worker: string): Promise<number> {
  switch (r.kind) {
    case 'resolved': {
      process.stdout.write(`coven: conflict resolved in ${r.rounds} round(s); the session is recorded in ${file}\n`);
      if (r.backup) process.stderr.write(`coven: the resolution kept ${r.backup.after} of the ${r.backup.before} commit(s); the branch as it was before is saved as ${r.backup.ref}\n`);
      const out = describeLand(r.land, { self: 'coven land', againArgs: ['--keep'] });
      (out.ok ? process.stdout : process.stderr).write(`${out.text}\n`);
      if (out.ok) return 0;
      return r.land.kind === 'main-blocked' || r.land.kind === 'main-busy' ? 4 : r.land.kind === 'coven-held' ? 5 : r.land.kind === 'unreachable' ? 6 : r.land.kind === 'lease-lost' ? 7 : 1;
    }
    case 'gave-up': {
      const undone = await abortRebaseIfAny(c.worktree, worker);
      const unfinished = r.unfinished ?? undone.kept;
      const left = r.markers.length > 0 ? `; the last one left conflict markers in ${r.markers.join(', ')}` : '';
      return exitWithProblem(3, {
        what: `the conflict of ${c.branch} with ${c.onto} is not resolved: ${r.failed} of ${r.rounds} resolution round(s) did not fix it${left}.`,
        kept: `The rebase is undone: ${c.branch} keeps its ${c.commits} commit(s) as they were; ${c.onto} is unchanged.${unfinished ? ` How far the resolution got is kept as ${unfinished}   (git show --stat ${unfinished})` : ''}`,
        next: [`cd ${shellQuote(c.worktree)} && git rebase ${shellQuote(c.onto)}   (resolve by hand: git add, git -c core.editor=true rebase --continue)`, 'coven land --keep'],
      });
    }
    case 'refused': {
      const undone = await abortRebaseIfAny(c.worktree, worker);
      return exitWithProblem(3, {
        what: `the ${r.refusal.reason === 'auth' ? 'credentials' : r.refusal.reason} refusal of the agent CLI's vendor stopped the conflict resolution: ${r.refusal.message}`,
        kept: `The rebase is undone: ${c.branch} keeps its ${c.commits} commit(s) as they were${undone.kept ? `; how far it had got is kept as ${undone.kept}` : ''}; ${c.onto} is unchanged.`,
        next: [`coven resolve --session ${shellQuote(file)}   (again, once the vendor serves again)`, `cd ${shellQuote(c.worktree)} && git rebase ${shellQuote(c.onto)}   (or resolve by hand)`],
      });
    }
    case 'stopped':
    case 'skipped': {
      const undone = await abortRebaseIfAny(c.worktree, worker);
      process.stderr.write(`coven: resolve stopped; the rebase is undone and ${c.branch} keeps its commits${undone.kept ? `; how far it had got is kept as ${undone.kept}` : ''}.\n`);
      return r.kind === 'stopped' ? 130 : 3;
    }
  }
}

function noConflict(kind: 'none' | 'other-branch' | 'no-target', worktree: string, branch: string, rebasing: string | null): string {
  if (kind === 'none') return `no conflict in progress in ${worktree}: there is no rebase to resolve (coven land exits 3 when it leaves one).`;
  if (kind === 'no-target') return `${branch} has no branch to land on (no local upstream, and the main worktree is on no branch).`;
  return `bad session record: the rebase in progress in ${worktree} is of ${rebasing ?? 'a detached HEAD'}, not of the record's branch ${branch}.`;
}



runAsEntry(import.meta.url, main);
