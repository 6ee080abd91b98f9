#!/usr/bin/env node
// init — set coven up in a repository; its contract is the usage text below (--help).

const help = `usage: coven init [--dir DIR] [--no-hooks]

Sets coven up in the git worktree around DIR (default: the current directory):
  .coven/agents/{dispatch,plan,implement,audit}.md   the agents' prompts
  .coven/workflow.md    how issues move between issues/ and review/
  issues/example.md     an example issue (only while issues/ holds none)
  review/.gitkeep       the folder planned issues move to
  CLAUDE.md             a line pointing agents to .coven/workflow.md
and installs the git hooks that wake sleeping workers when the main branch moves.

Never overwrites a file that exists; running it twice changes nothing. Commits nothing:
review the files, then git add, git commit, and start workers with \`coven worker\`.

options:
  --dir DIR    the repository to set up (default: the current directory)
  --no-hooks   do not install the git hooks
  -h, --help   show this help

writes (only what does not exist yet): the files above, from coven's templates/; in
       CLAUDE.md one line, appended when no line mentions .coven/workflow.md yet
       (.claude/CLAUDE.md instead when only that one exists); the hooks (coven hooks)
prints: one line per file (wrote / appended / skipped and why), then what to run next
exit: 0 done (also when everything was already there) · 2 not inside a git worktree
      3 files in place but the hooks could not be installed · 64 bad usage · 1 anything else
`;

import { parseCommandLine } from './lib/ui/command-line.js';
import { appendFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { runAsEntry } from './lib/ui/entry.js';
import { findRepo } from './lib/git/runner.js';
import { formatProblem, shellQuote } from './lib/ui/problem.js';
import { installHooks as installWakeHooks } from './lib/hooks/install.js';
import { packageText } from './lib/files/package-file.js';
import { DEFAULT_MAX_BYTES, describeCappedRead, readCapped, whyNotRead } from './lib/files/read-capped.js';

/** The agents `coven init` writes, in the order it reports them. */
export const templateAgents = ['dispatch', 'plan', 'implement', 'audit'] as const;

export const WORKFLOW_PATH = '.coven/workflow.md';

export type InitStep =
  | { kind: 'wrote'; path: string }
  | { kind: 'appended'; path: string }
  | { kind: 'skipped'; path: string; reason: string };

export type HooksOutcome =
  | { kind: 'installed'; detail: string }
  | { kind: 'not-requested' }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'failed'; message: string };

export type InitResult =
  | { kind: 'initialised'; root: string; steps: InitStep[]; hooks: HooksOutcome }
  | { kind: 'no-such-dir'; dir: string }
  | { kind: 'not-a-repo'; dir: string }
  | { kind: 'bare'; dir: string }
  /** a template from `templates` could not be read; nothing was written */
  | { kind: 'bad-template'; problem: string };

export interface InitOptions {
  /** a directory inside the repository to set up */
  dir: string;
  /** install the git hooks (default true) */
  hooks?: boolean;
  /** where the templates are (default: the package's templates/, embedded in a bundle) */
  templates?: string;
}

/** Sets coven up in the worktree around `opts.dir`; never overwrites a file. */
export async function initRepo(opts: InitOptions): Promise<InitResult> {
  const dir = resolve(opts.dir);
  if (!(await isDirectory(dir))) return { kind: 'no-such-dir', dir };
  const repo = await findRepo(dir);
  if (repo.kind === 'not-a-repo') return { kind: 'not-a-repo', dir };
  if (repo.kind === 'bare') return { kind: 'bare', dir };
  const root = repo.paths.toplevel;
  // every template is read before anything is written: a bad one leaves the repository as it was
  const texts = await readTemplates(opts.templates);
  if (texts.kind === 'bad') return { kind: 'bad-template', problem: texts.problem };
  const template = (path: string): string => texts.files.get(path) ?? '';

  const steps: InitStep[] = [];
  for (const name of templateAgents) {
    steps.push(await writeNew(root, `.coven/agents/${name}.md`, template(`agents/${name}.md`)));
  }
  steps.push(await writeNew(root, WORKFLOW_PATH, template('workflow.md')));

  const issues = await listDir(join(root, 'issues'));
  const existingIssue = issues.find((n) => n.endsWith('.md') && n !== 'example.md');
  steps.push(
    existingIssue
      ? { kind: 'skipped', path: 'issues/example.md', reason: `issues/ already holds issues (${existingIssue})` }
      : await writeNew(root, 'issues/example.md', template('issues/example.md')),
  );

  const review = await listDir(join(root, 'review'));
  const reviewEntry = review.find((n) => n !== '.gitkeep');
  steps.push(
    reviewEntry
      ? { kind: 'skipped', path: 'review/.gitkeep', reason: `review/ already exists (${reviewEntry})` }
      : await writeNew(root, 'review/.gitkeep', ''),
  );

  steps.push(await addClaudeMdLine(root, template('claude-md-line.md').trim()));

  const hooks = opts.hooks === false ? ({ kind: 'not-requested' } as const) : await installHooks(root);
  return { kind: 'initialised', root, steps, hooks };
}

/**
 * What to append to a CLAUDE.md so that it points to the workflow, or null when a
 * line already mentions it. `existing` is the file's text, or null when it is missing.
 */
export function claudeMdAddition(existing: string | null, line: string): string | null {
  if (existing === null || existing.trim() === '') return `${line}\n`;
  if (existing.includes(WORKFLOW_PATH)) return null;
  const separator = existing.endsWith('\n\n') ? '' : existing.endsWith('\n') ? '\n' : '\n\n';
  return `${separator}${line}\n`;
}

async function addClaudeMdLine(root: string, line: string): Promise<InitStep> {
  // Claude Code reads ./CLAUDE.md or ./.claude/CLAUDE.md; use the one the project has.
  const candidates = ['CLAUDE.md', '.claude/CLAUDE.md'];
  let path = 'CLAUDE.md';
  let existing: string | null = null;
  for (const c of candidates) {
    // the human's file (links followed), capped; a FIFO or a huge one is left alone and said so
    const r = await readCapped(join(root, c), DEFAULT_MAX_BYTES, { followSymlink: true });
    if (r.kind === 'missing') continue;
    if (r.kind !== 'read') return { kind: 'skipped', path: c, reason: `not read: ${whyNotRead(r)}` };
    path = c;
    existing = r.text;
    break;
  }
  const addition = claudeMdAddition(existing, line);
  if (addition === null) return { kind: 'skipped', path, reason: `already mentions ${WORKFLOW_PATH}` };
  if (existing === null) return writeNew(root, path, addition);
  await appendFile(join(root, path), addition);
  return { kind: 'appended', path };
}

/** Writes `rel` under `root` unless something is already there (checked atomically). */
async function writeNew(root: string, rel: string, content: string | Buffer): Promise<InitStep> {
  const full = join(root, rel);
  try {
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, content, { flag: 'wx' });
    return { kind: 'wrote', path: rel };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return { kind: 'skipped', path: rel, reason: 'already exists' };
    if (code === 'ENOTDIR') return { kind: 'skipped', path: rel, reason: 'a file is in the way of its folder' };
    throw err;
  }
}

// ---- hooks ----------------------------------------------------------------------

async function installHooks(root: string): Promise<HooksOutcome> {
  try {
    const r = await installWakeHooks(root);
    switch (r.kind) {
      case 'installed': {
        const chained = r.hooks.filter((h) => h.chained).map((h) => `${h.name} keeps running the earlier hook ${h.chained}`);
        const left = r.hooks.filter((h) => h.action === 'left').map((h) => `${h.name} left to ${h.manager} (workers wake through the ref watch)`);
        const verb = r.hooks.every((h) => h.action === 'unchanged') ? 'already in' : 'installed in';
        return { kind: 'installed', detail: [`post-commit, post-merge ${verb} ${r.location.dir} (main branch: ${r.mainBranch})`, ...chained, ...left].join('; ') };
      }
      case 'no-main-branch':
        return { kind: 'unavailable', reason: `the main worktree ${r.worktree} has no branch checked out; run: coven hooks install --main-branch <name>` };
      case 'chain-conflict':
        return { kind: 'failed', message: `${r.path} and ${r.chained} both exist; merge or remove one, then run: coven hooks install` };
      default:
        return { kind: 'failed', message: `${r.cwd} is not a git work tree` };
    }
  } catch (err) {
    return { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
  }
}

// ---- small filesystem questions -------------------------------------------------

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Entry names of a directory; none when it does not exist or is not a directory. */
async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch {
    return [];
  }
}

/** The templates init copies: from `dir` (each a regular file, links followed, capped) or coven's own. */
async function readTemplates(dir: string | undefined): Promise<{ kind: 'read'; files: Map<string, string> } | { kind: 'bad'; problem: string }> {
  const files = new Map<string, string>();
  for (const path of [...templateAgents.map((a) => `agents/${a}.md`), 'workflow.md', 'issues/example.md', 'claude-md-line.md']) {
    if (dir === undefined) {
      files.set(path, await packageText(`templates/${path}`));
      continue;
    }
    const r = await readCapped(join(dir, path), DEFAULT_MAX_BYTES, { followSymlink: true });
    if (r.kind !== 'read') return { kind: 'bad', problem: `cannot use the template ${describeCappedRead(r)}` };
    files.set(path, r.text);
  }
  return { kind: 'read', files };
}

// ---- command line -----------------------------------------------------------------

export async function main(argv: string[]): Promise<number> {
  const cl = parseCommandLine(argv, { command: 'coven init', usage: help, string: ['dir'], boolean: ['hooks'], default: { hooks: true } });
  if (cl.kind === 'exit') return cl.code;
  const args = cl.args;
  const dir: unknown = args.dir;
  const result = await initRepo({ dir: typeof dir === 'string' ? dir : process.cwd(), hooks: args.hooks !== false });
  if (result.kind !== 'initialised') {
    process.stderr.write(formatProblem(problemOf(result)) + '\n');
    return result.kind === 'bad-template' ? 1 : 2;
  }
  process.stdout.write(formatReport(result));
  return result.hooks.kind === 'installed' || result.hooks.kind === 'not-requested' ? 0 : 3;
}

function problemOf(r: Exclude<InitResult, { kind: 'initialised' }>) {
  switch (r.kind) {
    case 'no-such-dir':
      return { what: `cannot set up coven in ${r.dir}: no such directory.`, kept: 'Nothing was written.', next: ['coven init --dir <a folder inside your repository>'] };
    case 'not-a-repo':
      return {
        what: `cannot set up coven in ${r.dir}: it is not inside a git repository.`,
        kept: 'Nothing was written. coven works on a git repository with at least one worktree.',
        next: ['cd <your repository> && coven init', `or make this folder a repository first: cd ${shellQuote(r.dir)} && git init && git commit --allow-empty -m 'Initial commit'`],
      };
    case 'bad-template':
      return { what: `coven init: ${r.problem}.`, kept: 'Nothing was written.', next: ['fix or remove that template, then run coven init again'] };
    case 'bare':
      return {
        what: `cannot set up coven in ${r.dir}: it is a bare repository (no working tree to write the files into).`,
        kept: 'Nothing was written.',
        next: ['git clone <this repository> <folder>', 'cd <folder> && coven init'],
      };
  }
}

/** The report printed after a run: one line per file, the hooks, and the next commands. */
export function formatReport(r: Extract<InitResult, { kind: 'initialised' }>): string {
  const lines = [`coven init: ${r.root}`];
  for (const s of r.steps) {
    if (s.kind === 'skipped') lines.push(`  skipped   ${s.path} (${s.reason})`);
    else lines.push(`  ${s.kind.padEnd(9)} ${s.path}${s.kind === 'appended' ? ` (a line pointing to ${WORKFLOW_PATH})` : ''}`);
  }
  switch (r.hooks.kind) {
    case 'installed':
      lines.push(`  hooks     ${r.hooks.detail}`);
      break;
    case 'not-requested':
      lines.push('  hooks     not installed (--no-hooks); sleeping workers then wake by watching the ref of the main branch (and a check every 60 s)');
      break;
    case 'unavailable':
      lines.push(`  hooks     not installed: ${r.hooks.reason}`);
      break;
    case 'failed':
      lines.push(`  hooks     FAILED: ${r.hooks.message}`, '            the files above were written anyway; retry with: coven hooks install');
      break;
  }

  const changed = r.steps.filter((s) => s.kind !== 'skipped').map((s) => s.path);
  if (changed.length === 0) {
    lines.push('', 'Everything was already in place; no file was written.');
    return lines.join('\n') + '\n';
  }
  lines.push(
    '',
    'Nothing was committed. Next:',
    `  1. Read and adjust the agents (.coven/agents/*.md) and ${WORKFLOW_PATH} (fill in "Project commands");`,
    '     keep issues/example.md as a first task, or replace it with your own issues.',
    `  2. git add -- ${changed.map(shellQuote).join(' ')}`,
    "  3. git commit -m 'Set up coven'",
    '  4. coven worker        (in one terminal per worker)',
  );
  return lines.join('\n') + '\n';
}

runAsEntry(import.meta.url, main);
