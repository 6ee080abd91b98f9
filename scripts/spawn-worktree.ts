#!/usr/bin/env node
// spawn-worktree — a branch and its own worktree from main's tip, with the main worktree's ignored files copied in.

const usage = `usage: coven spawn <branch> [--worktree-base DIR] [--from BRANCH] [--remote NAME]
       (standalone: node spawn-worktree.mjs <branch> [options])

Creates <branch> from the main branch's tip (the branch checked out in the main
worktree) and a worktree for it at <base>/<project>/<branch> ('/' in the branch makes
nested folders; <project> is the main worktree's folder name), then copies the main
worktree's git-ignored files and folders into it (.env, node_modules, build caches),
so that whoever works there can build and test at once. The branch tracks the main
branch (upstream remote "."), so coven land knows where to land it. Run it anywhere
inside the repository. Every refusal (exit 2-5) leaves the repository and the disk
as they were.

  <branch>             the new branch, e.g. coven/brave-otter
  --worktree-base DIR  where worktrees go (default: $COVEN_WORKTREE_BASE, else ~/worktrees)
  --from BRANCH        start from (and later land on) local BRANCH instead of the
                       main branch
  --remote NAME        remote mode (docs/remote.md): start from the remote's main as
                       fetched now (refs/remotes/NAME/<main>), not the local main, so
                       commits you have not pushed never go into the branch (default:
                       git config coven.remote; not with --from)
  -h, --help           show this help

env:    COVEN_WORKTREE_BASE (default for --worktree-base); COVEN_COPY_THREADS
        (threads that copy; default: the number of cores, 2 to 4); remote mode:
        COVEN_REMOTE_TIMEOUT_MS (default 60 s); COVEN_MACHINE (this machine's name,
        default: the host name; a value that is not a machine name: exit 64, nothing
        created)
reads:  the main worktree's ignored files: what \`git ls-files --others --ignored
        --exclude-standard --directory\` lists, only those matching .worktreeinclude
        (gitignore syntax, in the main worktree) when that file exists
writes: the branch and <base>/<project>/<branch>; stderr: a summary; stdout: the new
        worktree's path (its last line)
exit:   0 spawned · 2 branch or folder already exists, or not inside a git work
        tree (not a repository, or a bare one) · 3 invalid branch name or unknown
        --from branch · 4 no worktree can start here (no commits yet, main worktree
        detached) · 5 git worktree add failed · 6 copying failed (worktree and branch
        removed again) · 7 remote mode: the remote's main could not be fetched and
        was never fetched before · 64 bad arguments (also --remote naming no remote
        of this clone, or a bad COVEN_MACHINE) · 1 anything else
`;

import { parseCommandLine, usageError } from './lib/ui/command-line.js';
import { runAsEntry } from './lib/ui/entry.js';
import { spawnWorktree, type SpawnOptions, type SpawnResult } from './lib/worktree/spawn.js';
import { describeCopy, problemFor } from './lib/worktree/spawn-messages.js';
import { exitWithProblem, formatProblem } from './lib/ui/problem.js';
import { findRepo } from './lib/git/runner.js';
import { mainBranchOf } from './lib/git/main-branch.js';
import { fixOfRemoteProblem, resolveRemote } from './lib/remote/target.js';
import { fetchRemoteMain } from './lib/land/remote-main.js';

const spec = { command: 'coven spawn', usage, string: ['worktree-base', 'from', 'remote'], positional: 1 };

export async function main(argv: string[]): Promise<number> {
  const cl = parseCommandLine(argv, spec);
  if (cl.kind === 'exit') return cl.code;
  const args = cl.args;
  if (args._.length === 0) return usageError(spec, 'missing <branch>').code;
  const opts: SpawnOptions = { cwd: process.cwd(), branch: String(args._[0]), base: args['worktree-base'] as string | undefined, from: args.from as string | undefined };
  if (opts.from === undefined) {
    const start = await remoteStart(opts.cwd, args.remote as string | undefined);
    if (typeof start === 'number') return start;
    if (start !== null) opts.startAt = start;
  }
  const result = await spawnWorktree(opts);
  if (result.kind === 'spawned') {
    process.stderr.write(`coven: spawned ${result.branch} from ${result.main}; ${describeCopy(result.copied)}\n`);
    process.stdout.write(`${result.path}\n`);
    return 0;
  }
  process.stderr.write(formatProblem(problemFor(result, opts)) + '\n');
  return exitCodes[result.kind];
}

/** Remote mode: the remote's main, fetched now, to start from (null: local mode; a number: the exit after saying why not). */
async function remoteStart(cwd: string, flag: string | undefined): Promise<string | null | number> {
  const repo = await findRepo(cwd);
  if (repo.kind !== 'repo') return null; // spawnWorktree says what is wrong
  const main = await mainBranchOf(repo.paths);
  if (main.kind !== 'branch') return null;
  const found = await resolveRemote(repo.paths.mainWorktree, main.name, flag);
  if (found.kind === 'problem') return exitWithProblem(64, { what: found.message, kept: 'Nothing was created.', next: fixOfRemoteProblem(found) });
  if (found.kind === 'local') return null;
  const fetched = await fetchRemoteMain(repo.paths.mainWorktree, found.target);
  if (fetched.kind !== 'tip') return exitWithProblem(7, { what: `the main branch of ${found.target.name} could not be fetched: ${fetched.message}`, kept: 'Nothing was created.', next: [`git fetch ${found.target.name}   (then coven spawn again)`] });
  if (fetched.offline) process.stderr.write(`coven: ${found.target.name} did not answer (${fetched.offline.message}); starting from its main as fetched last (${fetched.tip.slice(0, 9)})\n`);
  return fetched.ref;
}

const exitCodes: Record<Exclude<SpawnResult['kind'], 'spawned'>, number> = {
  'branch-exists': 2,
  'path-exists': 2,
  'invalid-branch': 3,
  'cannot-adopt': 3,
  'unknown-from': 3,
  'not-a-repo': 2,
  bare: 2,
  'no-commits': 4,
  detached: 4,
  'worktree-add-failed': 5,
  'copy-failed': 6,
};

runAsEntry(import.meta.url, main);
