#!/usr/bin/env node
// hooks — install, remove or show the hooks that wake sleeping workers; contract below.

const help = `usage: coven hooks install [--main-branch <name>] | uninstall | status [--json]

Installs git hooks (post-commit, post-merge) that wake sleeping coven workers when the
main branch moves. A hook already there keeps running: it is renamed to
<name>.coven-chained and coven's hook runs it with the same arguments, under its own
name. A hook manager's files (husky's folder, a lefthook or pre-commit hook) are left
to the manager: there, workers wake through the ref watch. \`uninstall\` puts back
what was there. The main branch defaults to the branch checked out in the main
worktree and is recorded in <git common dir>/coven/main-branch.

status, per hook: installed · modified · not-installed · managed by <manager> (left
to it) · overwritten by <manager> (it replaced coven's hook)

files: <hooks dir>/post-commit, post-merge   coven's hooks (marker line "# coven-hook")
       <hooks dir>/<name>.coven-chained      a hook that was there before; coven's runs it
       <state dir>/main-branch               the branch whose moves wake workers
The hooks dir is git's: core.hooksPath when set (relative to the main worktree's top),
else <git common dir>/hooks, shared by every worktree.
exit: 0 done (status: each hook installed or managed) · 2 not in a git work tree ·
      3 status: not installed, modified or overwritten · 4 install refused · 64 bad usage
`;

import { parseCommandLine, usageError } from './lib/ui/command-line.js';
import { formatProblem } from './lib/ui/problem.js';
import { isAbsolute } from 'node:path';
import { findRepo } from './lib/git/runner.js';
import { stateDirProblem } from './lib/worker/state-dir.js';
import { runAsEntry } from './lib/ui/entry.js';
import { hooksStatus, installHooks, uninstallHooks, type HookStatus, type HooksLocation, type InstalledHook, type Manager } from './lib/hooks/install.js';

function where(location: HooksLocation): string {
  const owner = location.manager ? `, a folder that ${location.manager} rewrites` : '';
  return location.source.kind === 'core.hooksPath' ? `${location.dir} (core.hooksPath = ${location.source.configured}${owner})` : location.dir;
}

/** The ref watch's wake time, measured (docs/trust.md, "Hooks in foreign setups"). */
const REF_WATCH = "the ref watch: every waiting worker watches main's ref files, and wakes 7-32 ms after main moves (measured; median 13 ms)";

const OWNS: Record<Manager, string> = {
  husky: 'husky rewrites this folder whenever husky runs, as in `npm install`',
  lefthook: 'lefthook writes this hook and would set aside any other',
  'pre-commit': 'pre-commit writes this hook',
  repository: 'a file committed in the repository; coven does not change tracked files',
};

function installLine(h: InstalledHook): string {
  if (h.action === 'left') {
    const tidied = h.tidied ? "; coven's earlier hook there was removed and what it replaced put back" : '';
    const to = h.manager === 'repository' ? 'the repository' : h.manager;
    return `${h.name}: left to ${to} (${h.manager ? OWNS[h.manager] : ''}; coven does not write over it${tidied})`;
  }
  const notes = [h.chained ? `runs the earlier hook ${h.chained}` : '', h.runsFrom ? `${h.manager} runs it from ${h.runsFrom}` : ''].filter(Boolean);
  return `${h.name}: ${h.action}${notes.length ? `; ${notes.join('; ')}` : ''}`;
}

function statusLine(h: HookStatus): string {
  const notes: string[] = [];
  if (h.state === 'managed' && h.manager) notes.push(`${OWNS[h.manager]}; coven leaves it alone`);
  if (h.state === 'overwritten' && h.manager) {
    const aside = h.displaced ? `coven's hook was moved to ${h.displaced.path}, which ${h.manager} does not run` : `${h.manager} wrote over coven's hook`;
    notes.push(`${aside}; \`coven hooks install\` tidies up`);
  }
  if (h.state === 'not-installed' && h.foreign) notes.push("another program's hook is there");
  if (h.displaced?.runs) notes.push(`${h.manager} runs coven's hook from ${h.displaced.path}`);
  if (h.chained && h.state !== 'overwritten') notes.push(`runs the earlier hook ${h.chained}`);
  if (h.wakes === 'ref-watch' && (h.state === 'managed' || h.state === 'overwritten')) notes.push('workers wake through the ref watch');
  const by = h.manager === 'repository' ? 'the repository' : h.manager;
  const state = h.state === 'managed' || h.state === 'overwritten' ? `${h.state} by ${by}` : h.state;
  return `${h.name}: ${state}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

export async function main(argv: string[]): Promise<number> {
  const spec = { command: 'coven hooks', usage: help, boolean: ['json'], string: ['main-branch'], positional: 1 };
  const cl = parseCommandLine(argv, spec);
  if (cl.kind === 'exit') return cl.code;
  const args = cl.args;
  const action = args._.map(String)[0];
  if (!action || !['install', 'uninstall', 'status'].includes(action)) return usageError(spec, action ? `unexpected argument '${action}'` : 'missing install, uninstall or status').code;
  const cwd = process.cwd();
  if (action === 'install') {
    const mainBranch = typeof args['main-branch'] === 'string' && args['main-branch'] ? args['main-branch'] : undefined;
    const repo = await findRepo(cwd);
    const badState = repo.kind === 'repo' ? await stateDirProblem(repo.paths.stateDir) : null;
    if (badState) {
      process.stderr.write(formatProblem({ what: `cannot install the hooks: ${badState.what}.`, kept: 'No hook was installed.', next: [badState.next, 'coven hooks install'] }) + '\n');
      return 4;
    }
    const r = await installHooks(cwd, mainBranch ? { mainBranch } : {});
    if (r.kind === 'not-a-repo' || r.kind === 'bare') return notARepo(r.cwd);
    if (r.kind === 'no-main-branch') {
      process.stderr.write(
        formatProblem({
          what: `cannot tell which branch is main: the main worktree ${r.worktree} has no branch checked out.`,
          kept: 'No hook was installed.',
          next: ['git -C <main worktree> switch <main branch>   # then: coven hooks install', 'coven hooks install --main-branch <name>'],
        }) + '\n',
      );
      return 4;
    }
    if (r.kind === 'chain-conflict') {
      process.stderr.write(
        formatProblem({
          what: `cannot install ${r.path}: a hook is there and ${r.chained} already exists, so coven has nowhere to keep the existing hook.`,
          kept: 'Nothing was changed.',
          next: [`Merge or remove one of the two files, then run: coven hooks install`],
        }) + '\n',
      );
      return 4;
    }
    for (const h of r.hooks) process.stdout.write(installLine(h) + '\n');
    process.stdout.write(`hooks in ${where(r.location)}; main branch: ${r.mainBranch}\n`);
    if (r.hooks.some((h) => h.action === 'left')) process.stdout.write(`where coven's hook is not installed, workers wake through ${REF_WATCH}.\n`);
    if (r.location.source.kind === 'core.hooksPath' && isAbsolute(r.location.source.configured)) {
      process.stdout.write('note: core.hooksPath may be shared with other repositories; coven\'s hooks do nothing in a repository without coven.\n');
    }
    return 0;
  }
  if (action === 'uninstall') {
    const r = await uninstallHooks(cwd);
    if (r.kind !== 'uninstalled') return notARepo(r.cwd);
    for (const h of r.hooks) {
      const what = { removed: 'removed', restored: 'removed; the earlier hook is back', 'not-installed': 'was not installed', 'left-foreign': "not coven's hook: left as it is" }[h.action];
      process.stdout.write(`${h.name}: ${what}\n`);
    }
    process.stdout.write(`hooks in ${where(r.location)}\n`);
    return 0;
  }
  const r = await hooksStatus(cwd);
  if (r.kind !== 'status') return notARepo(r.cwd);
  if (args.json) {
    process.stdout.write(JSON.stringify({ dir: r.location.dir, source: r.location.source, main_branch: r.mainBranch, hooks: r.hooks }, null, 2) + '\n');
  } else {
    for (const h of r.hooks) process.stdout.write(statusLine(h) + '\n');
    if (r.hooks.some((h) => h.wakes === 'ref-watch')) process.stdout.write(`${REF_WATCH}.\n`);
    process.stdout.write(`hooks in ${where(r.location)}; main branch: ${r.mainBranch ?? '(not recorded)'}\n`);
  }
  return r.hooks.every((h) => h.state === 'installed' || h.state === 'managed') ? 0 : 3;
}

function notARepo(cwd: string): number {
  process.stderr.write(formatProblem({ what: `${cwd} is not inside a git work tree.`, next: ['cd <your repository> && coven hooks …'] }) + '\n');
  return 2;
}

runAsEntry(import.meta.url, main);
