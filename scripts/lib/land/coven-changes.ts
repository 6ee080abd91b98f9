// coven-changes — which paths under `.coven/` a land would change on main.
//
// `.coven/` decides what coven runs and with which permissions: the agent files (their
// prompts and `claude_args`), the workflow, and the step replacements in `.coven/steps/`
// that a worker executes. A commit of an agent's there must not take effect on its own:
// the land holds it for the human (land.ts, and the worker before a replaced land step).
// This file says which changed paths count.
//
// A path counts when its first component is `.coven` on any file system a checkout may
// live on: compared without case (macOS, Windows), after Unicode normalization (NFKC),
// without the characters HFS+ ignores (zero-width joiners and the like), and without
// trailing dots and spaces (Windows drops them). `.coven` itself counts (it became a
// file, a symbolic link or a submodule). A backslash counts as a separator, and a path
// with a `..` component counts whatever it names: git never writes one, so it is a
// crafted tree, and a land of it is for the human to look at. Only the top level
// counts: coven reads `.coven/` at the root of a worktree only.
//
// What counts is what the land changes on main (the diff of main's tip and the branch
// rebased onto it), not each commit: a change made and reverted on the branch changes
// nothing on main, and lands.

import { AGENTS_DIR, MAX_AGENT_FILE_BYTES, NAME_PATTERN, parseAgentFile, type AgentDef } from '../agents/registry.js';
import { git } from '../git/runner.js';
import type { TreeChange } from './ff-blockers.js';

/** Characters that HFS+ ignores in a file name (so `.co\u200cven` is `.coven` there). */
const IGNORED_BY_HFS = /[\u200b-\u200f\u202a-\u202e\u206a-\u206f\ufeff\u00ad]/g;

function foldName(name: string): string {
  return name.normalize('NFKC').replace(IGNORED_BY_HFS, '').replace(/[. ]+$/, '').toLowerCase();
}

/** Whether a path of a tree (as `git diff -z` prints it) is `.coven` or under it. */
export function isCovenPath(path: string): boolean {
  const parts = path.split(/[/\\]/).filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return true;
  const first = parts[0];
  return first !== undefined && foldName(first) === '.coven';
}

/** The `.coven/` paths among a land's changes, sorted, each once. */
export function covenPaths(changes: readonly Pick<TreeChange, 'path'>[]): string[] {
  return [...new Set(changes.map((c) => c.path).filter(isCovenPath))].sort();
}

/**
 * The `.coven/` paths that landing `head` on `ontoTip` would change: the diff from their
 * merge base to `head` (what the branch changes), renames as a delete and an add. Used
 * where the land core does not run (a replaced land step). null: git could not say,
 * which the caller treats as a change (hold).
 */
export async function covenChangesToLand(worktree: string, ontoTip: string, head: string): Promise<string[] | null> {
  const r = await git(worktree, ['diff', '--no-ext-diff', '--no-textconv', '--name-only', '-z', '--no-renames', `${ontoTip}...${head}`, '--']);
  if (!r.ok) return null;
  return covenPaths(r.stdout.split('\0').map((path) => ({ path })));
}

/**
 * The agent `name` as its file is in the commit `ref` (main's tip: never the branch
 * being landed or a half-rebased worktree, which hold what the agent wrote), or null
 * when that file is missing, not a regular file, over the size limit or not valid.
 */
export async function agentAt(repo: string, ref: string, name: string): Promise<AgentDef | null> {
  if (!NAME_PATTERN.test(name)) return null;
  const path = `${AGENTS_DIR}/${name}.md`;
  const entry = await git(repo, ['ls-tree', '-l', '-z', ref, '--', path]);
  // `<mode> <type> <object> <size>\t<path>`: a regular file (100644 or 100755), not a link or a submodule
  const m = /^(100644|100755) blob ([0-9a-f]+) +(\d+)\t/.exec(entry.stdout);
  if (!entry.ok || !m || Number(m[3]) > MAX_AGENT_FILE_BYTES) return null;
  const blob = await git(repo, ['cat-file', 'blob', m[2] ?? '']);
  if (!blob.ok) return null;
  const parsed = parseAgentFile(`${name}.md`, blob.stdout);
  return parsed.kind === 'agent' ? parsed.agent : null;
}

/** Whether the agent `name` opts in (`may_change_coven: true`) in its file as the commit `ref` has it (agentAt). */
export async function agentMayChangeCoven(repo: string, ref: string, name: string): Promise<boolean> {
  return (await agentAt(repo, ref, name))?.mayChangeCoven === true;
}
