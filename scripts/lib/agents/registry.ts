// agent-registry — the agents of a worktree: `.coven/agents/<name>.md` prompt files,
// parsed, validated and rendered.
//
// Inputs: a worktree directory (loadRegistry) or one file's name and text (pure
// functions). Outputs: typed values; an invalid file is reported with its path and
// field (`.coven/agents/plan.md: args[0].name: required`) and never hides the valid
// ones. Nothing here runs a session.
//
// An agent file:
//   ---
//   description: Writes a plan for one issue     (required)
//   args:                                        (optional list)
//     - name: issue                              ^[a-z][a-z0-9-]*$, unique
//       description: path of the issue file     (required)
//       required: true                           (default true)
//   max_concurrency: 1                           (optional positive integer)
//   cli: [claude, codex]                         (optional: the CLI, or CLIs in the order
//                                                 tried; default claude; agent-clis.ts)
//   claude_args: ["--allowedTools=Read"]         (optional list of strings; also
//                                                 codex_args, gemini_args, opencode_args)
//   may_change_coven: true                       (optional, default false: see below)
//   ---
//   Plan the issue in {{issue}}.                 (body: the prompt template)
// Name = file stem, ^[a-z][a-z0-9-]*$. Unknown keys are warnings. A placeholder is
// `{{name}}` (spaces allowed inside the braces) where name looks like an identifier
// (letters, digits, _ . -); it must name a declared argument. Other `{{…}}` text
// (e.g. `{{ a + b }}`) is left as it is.
//
// An agent file is untrusted input (an agent can commit one): it is read only if it is
// a regular file (a symbolic link is refused: the file that decides a session's
// permissions is the one committed, never what a link points at, and a link to
// /dev/stdin or a FIFO must not hang the reader), of at most MAX_AGENT_FILE_BYTES;
// a description is one line of the dispatch catalog, so it is capped
// (MAX_DESCRIPTION_CHARS) and so is each `<cli>_args` entry (a command-line argument).
//
// may_change_coven: a land of this agent's job may change `.coven/` without the human
// approving it (a meta agent that writes agents). It counts only as main has it when
// the job starts (the worker reads the agents from main then); an agent that adds it
// to its own file on its branch is held like any other change to `.coven/`.

import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readCapped } from '../files/read-capped.js';
import { escapeNotPlain } from '../ui/plain-text.js';
import { capCatalog } from './catalog.js';
import { cliChoiceOf, CLI_KEYS, MAX_CLI_ARG_CHARS } from './agent-clis.js';
import type { CliName } from '../clis/adapter.js';

// the catalog moved to catalog.ts; its importers still find it here
export { formatAgentCatalog, MAX_CATALOG_CHARS } from './catalog.js';
import { decodeUtf8, describeValue, frontmatterProblem, readFrontmatter } from './frontmatter.js';

export const AGENTS_DIR = '.coven/agents';
export const NAME_PATTERN = /^[a-z][a-z0-9-]*$/;
const NAME_RULE = 'must match ^[a-z][a-z0-9-]*$ (a lower-case letter, then lower-case letters, digits or -)';

export interface AgentArg {
  name: string;
  description: string;
  required: boolean;
}

export interface AgentDef {
  name: string;
  /** path relative to the worktree, e.g. `.coven/agents/plan.md` */
  file: string;
  description: string;
  args: AgentArg[];
  maxConcurrency?: number;
  /** the CLIs it runs on, in the order tried (the next when the vendor refuses); at least one */
  clis: CliName[];
  /** the arguments of each CLI in `clis` (frontmatter `<cli>_args`; an empty list when absent) */
  cliArgs: Partial<Record<CliName, string[]>>;
  /** the same as cliArgs.claude (an empty list when the agent does not use claude) */
  claudeArgs: string[];
  /** `may_change_coven: true`: its jobs' changes to `.coven/` land without the human's approval (absent: false) */
  mayChangeCoven?: true;
  /** the prompt template, with `{{arg}}` placeholders */
  body: string;
  /** formatted `file: field: message` lines; the agent is usable anyway */
  warnings: string[];
}

export interface AgentFileProblem {
  /** path relative to the worktree, e.g. `.coven/agents/plan.md` */
  file: string;
  /** `description`, `args[0].name`, `body line 4`, … (absent: the file as a whole) */
  field?: string;
  message: string;
}

export type AgentFileResult =
  | { kind: 'agent'; agent: AgentDef }
  | { kind: 'invalid'; problems: AgentFileProblem[]; warnings: string[] };

export interface Registry {
  /** absolute path of the agents directory */
  dir: string;
  /** valid agents, sorted by name */
  agents: AgentDef[];
  /** every problem of every invalid file (a file may have several) */
  invalid: AgentFileProblem[];
  /** formatted warnings of the valid agents, and notes such as a missing directory */
  warnings: string[];
}

export type RenderResult =
  | { kind: 'ok'; text: string }
  | { kind: 'missing-args'; names: string[] }
  | { kind: 'unknown-args'; names: string[] };

/** `file: field: message` (or `file: message`); a control character (e.g. in a file name) is shown escaped, never raw. */
export function formatFileProblem(p: AgentFileProblem): string {
  return escapeNotPlain(p.field ? `${p.file}: ${p.field}: ${p.message}` : `${p.file}: ${p.message}`);
}

// ---- validation ---------------------------------------------------------------

/** an agent file's size limit: the prompt template is text a human wrote, never megabytes */
export const MAX_AGENT_FILE_BYTES = 256 * 1024;
/** a description is one line of the catalog the dispatch session reads */
export const MAX_DESCRIPTION_CHARS = 2000;
/** one claude_args entry is one command-line argument of the CLI (agent-clis.ts: every CLI's) */
export const MAX_CLAUDE_ARG_CHARS = MAX_CLI_ARG_CHARS;
/** agent files read from one folder: each may be 256 KiB, and every body is kept */
export const MAX_AGENT_FILES = 500;
/** the agent that chooses jobs (lib/agents/dispatch.ts): always read, never in the catalog */
export const DISPATCH_AGENT = 'dispatch';


const KNOWN_KEYS = ['description', 'args', 'max_concurrency', ...CLI_KEYS, 'may_change_coven'];
const KNOWN_ARG_KEYS = ['name', 'description', 'required'];

function text(what = 'a string') {
  return z
    .string({ error: (iss) => (iss.input === undefined || iss.input === null ? 'required' : `must be ${what}, got ${describeValue(iss.input)}`) })
    .refine((s) => s.trim() !== '', 'must not be empty')
    .refine((s) => s.length <= MAX_DESCRIPTION_CHARS, {
      error: (iss) => `is ${String(iss.input).length} characters long, over the limit of ${MAX_DESCRIPTION_CHARS} (it is one line of the dispatch catalog; put the detail in the body)`,
    });
}

const argSchema = z.object(
  {
    name: z.string({ error: (iss) => (iss.input === undefined || iss.input === null ? 'required' : `must be a string, got ${describeValue(iss.input)}`) }).regex(NAME_PATTERN, NAME_RULE),
    description: text(),
    required: z.boolean({ error: (iss) => `must be true or false, got ${describeValue(iss.input)}` }).default(true),
  },
  { error: (iss) => `must be a mapping with name, description and required, got ${describeValue(iss.input)}` },
);

const frontmatterSchema = z.object({
  description: text(),
  args: z.array(argSchema, { error: (iss) => `must be a list of {name, description, required}, got ${describeValue(iss.input)}` }).default([]),
  max_concurrency: z
    .number({ error: (iss) => `must be a positive integer, got ${describeValue(iss.input)}` })
    .int('must be a positive integer')
    .positive('must be a positive integer')
    .optional(),
  may_change_coven: z.boolean({ error: (iss) => `must be true or false, got ${describeValue(iss.input)}` }).default(false),
});

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** `args[0].name` from a zod path. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out;
}

/** Keys coven does not know, with a hint when one is a near miss (`maxConcurrency`). */
function unknownKeys(data: Record<string, unknown>, known: string[], prefix: string): { field: string; message: string }[] {
  const squash = (k: string) => k.toLowerCase().replace(/[-_]/g, '');
  return Object.keys(data)
    .filter((k) => !known.includes(k))
    .map((k) => {
      const near = known.find((n) => squash(n) === squash(k));
      return { field: `${prefix}${k}`, message: `unknown key, ignored${near ? ` (did you mean ${near}?)` : ''}` };
    });
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

/** The placeholders of a template, with their 1-based line in the template. */
export function placeholdersOf(template: string): { name: string; line: number }[] {
  const found: { name: string; line: number }[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    const line = template.slice(0, m.index).split('\n').length;
    found.push({ name: m[1] ?? '', line });
  }
  return found;
}

/**
 * Parses and validates one agent file. `fileName` is the name inside `.coven/agents/`
 * (e.g. `plan.md`); `text` its decoded content.
 */
export function parseAgentFile(fileName: string, text: string): AgentFileResult {
  const file = `${AGENTS_DIR}/${fileName}`;
  const problems: AgentFileProblem[] = [];
  const warnings: string[] = [];
  const add = (field: string | undefined, message: string) => problems.push(field ? { file, field, message } : { file, message });

  const name = fileName.endsWith('.md') ? fileName.slice(0, -'.md'.length) : fileName;
  if (!fileName.endsWith('.md')) add('file name', 'must end in .md');
  else if (!NAME_PATTERN.test(name)) add('file name', `'${name}' ${NAME_RULE}; rename the file`);

  const fm = readFrontmatter(text);
  if (fm.kind === 'none') {
    add('frontmatter', "missing: the file must start with a line '---', then 'description: …', then a line '---'");
    return { kind: 'invalid', problems, warnings };
  }
  if (fm.kind !== 'ok') {
    add('frontmatter', frontmatterProblem(fm) ?? fm.kind);
    return { kind: 'invalid', problems, warnings };
  }

  for (const w of unknownKeys(fm.data, KNOWN_KEYS, '')) warnings.push(formatFileProblem({ file, ...w }));
  const rawArgs: unknown[] = Array.isArray(fm.data.args) ? fm.data.args : [];
  rawArgs.forEach((a, i) => {
    if (isMapping(a)) for (const w of unknownKeys(a, KNOWN_ARG_KEYS, `args[${i}].`)) warnings.push(formatFileProblem({ file, ...w }));
  });

  const parsed = frontmatterSchema.safeParse(fm.data);
  if (!parsed.success) for (const issue of parsed.error.issues) add(fieldPath(issue.path) || 'frontmatter', issue.message);
  const clis = cliChoiceOf(fm.data);
  if (clis.kind === 'invalid') for (const p of clis.problems) add(p.field, p.message);

  // duplicates and placeholders are checked on the names as written, so that one
  // look at the file shows every problem even when other fields are wrong too
  const firstIndex = new Map<string, number>();
  rawArgs.forEach((a, i) => {
    const argName = isMapping(a) && typeof a.name === 'string' ? a.name : null;
    if (argName === null) return;
    const earlier = firstIndex.get(argName);
    if (earlier === undefined) firstIndex.set(argName, i);
    else add(`args[${i}].name`, `duplicate argument '${argName}' (already args[${earlier}])`);
  });

  const body = fm.body;
  if (body.trim() === '') add('body', 'is empty: the text below the frontmatter is the prompt');
  const used = new Set<string>();
  for (const p of placeholdersOf(body)) {
    used.add(p.name);
    if (!firstIndex.has(p.name)) {
      const declared = [...firstIndex.keys()].join(', ') || 'none';
      add(`body line ${fm.bodyLine + p.line - 1}`, `{{${p.name}}} names no declared argument (declared: ${declared})`);
    }
  }
  for (const [argName, i] of firstIndex) {
    if (!used.has(argName)) warnings.push(formatFileProblem({ file, field: `args[${i}]`, message: `'${argName}' is never used in the body` }));
  }

  if (!parsed.success || clis.kind === 'invalid' || problems.length > 0) return { kind: 'invalid', problems, warnings };
  const data = parsed.data;
  const agent: AgentDef = {
    name,
    file,
    description: data.description.trim(),
    args: data.args.map((a) => ({ name: a.name, description: a.description.trim(), required: a.required })),
    clis: clis.choice.clis,
    cliArgs: clis.choice.args,
    claudeArgs: clis.choice.args.claude ?? [],
    body,
    warnings,
  };
  if (data.max_concurrency !== undefined) agent.maxConcurrency = data.max_concurrency;
  if (data.may_change_coven) agent.mayChangeCoven = true;
  return { kind: 'agent', agent };
}

// ---- loading ------------------------------------------------------------------

/** Loads every `.coven/agents/*.md` of `worktreeDir`. Never throws for bad files. */
export async function loadRegistry(worktreeDir: string): Promise<Registry> {
  const dir = join(worktreeDir, AGENTS_DIR);
  const registry: Registry = { dir, agents: [], invalid: [], warnings: [] };
  const listed = await listAgentFiles(worktreeDir);
  if (listed.kind === 'none') {
    registry.warnings.push(`${AGENTS_DIR}: no such directory, so there are no agents (add .coven/agents/<name>.md files)`);
    return registry;
  }
  if (listed.kind === 'bad') {
    registry.invalid.push(listed.problem);
    return registry;
  }
  const names = listed.names;
  if (names.length > MAX_AGENT_FILES) {
    // dispatch.md first: without it no worker can choose a job
    names.sort((a, b) => (a === `${DISPATCH_AGENT}.md` ? -1 : b === `${DISPATCH_AGENT}.md` ? 1 : 0));
    const left = names.splice(MAX_AGENT_FILES).sort();
    registry.invalid.push({ file: AGENTS_DIR, message: `holds ${names.length + left.length} agent files, over the limit of ${MAX_AGENT_FILES}: ${left.length} not read (${left.slice(0, 3).join(', ')}${left.length > 3 ? ', …' : ''})` });
    names.sort();
  }
  for (const fileName of names) {
    const file = `${AGENTS_DIR}/${fileName}`;
    const read = await readAgentFile(join(dir, fileName));
    if (read.kind === 'problem') {
      registry.invalid.push({ file, message: read.message });
      continue;
    }
    const decoded = decodeUtf8(read.bytes);
    if (decoded.kind === 'not-utf8') {
      registry.invalid.push({ file, message: 'is not valid UTF-8 text' });
      continue;
    }
    const result = parseAgentFile(fileName, decoded.text);
    if (result.kind === 'invalid') {
      registry.invalid.push(...result.problems);
      registry.warnings.push(...result.warnings);
    } else {
      registry.agents.push(result.agent);
      registry.warnings.push(...result.agent.warnings);
    }
  }
  registry.agents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const { kept, leftOut } = capCatalog(registry.agents, DISPATCH_AGENT);
  registry.agents = kept;
  registry.invalid.push(...leftOut);
  return registry;
}

/**
 * The `*.md` names in `.coven/agents`, sorted. `.coven` and `.coven/agents` must be
 * folders of the worktree itself: a link to a folder elsewhere would run prompts and
 * `claude_args` that were never committed, so it is refused like a linked agent file.
 */
async function listAgentFiles(worktreeDir: string): Promise<{ kind: 'names'; names: string[] } | { kind: 'none' } | { kind: 'bad'; problem: AgentFileProblem }> {
  for (const part of ['.coven', AGENTS_DIR]) {
    const st = await lstat(join(worktreeDir, part)).catch((err: NodeJS.ErrnoException) => err);
    if (st instanceof Error) {
      if (st.code === 'ENOENT') return { kind: 'none' };
      return { kind: 'bad', problem: { file: part, message: `cannot read the directory (${st.code ?? st.message})` } };
    }
    if (st.isSymbolicLink()) return { kind: 'bad', problem: { file: part, message: 'is a symbolic link, not a folder (coven does not follow links to its agents: commit the folder and its files)' } };
    if (!st.isDirectory()) return { kind: 'bad', problem: { file: AGENTS_DIR, message: 'cannot read the directory (ENOTDIR)' } };
  }
  try {
    return { kind: 'names', names: (await readdir(join(worktreeDir, AGENTS_DIR))).filter((n) => n.endsWith('.md')).sort() };
  } catch (err) {
    return { kind: 'bad', problem: { file: AGENTS_DIR, message: `cannot read the directory (${(err as NodeJS.ErrnoException).code ?? String(err)})` } };
  }
}

/** One agent file's bytes, or why it is not read (see the header: regular files only, capped). */
async function readAgentFile(path: string): Promise<{ kind: 'read'; bytes: Buffer } | { kind: 'problem'; message: string }> {
  const r = await readCapped(path, MAX_AGENT_FILE_BYTES);
  switch (r.kind) {
    case 'read':
      return { kind: 'read', bytes: r.bytes };
    case 'missing':
      return { kind: 'problem', message: 'vanished while the agents were read' };
    case 'not-a-file':
      return { kind: 'problem', message: `is ${r.what}, not a file${r.what === 'a symbolic link' ? ' (coven does not follow links in .coven/agents: commit the agent file itself)' : ''}` };
    case 'too-big':
      return { kind: 'problem', message: `is ${r.bytes} bytes, over the limit of ${r.maxBytes} for an agent file` };
    case 'unreadable':
      return { kind: 'problem', message: `cannot read (${r.message})` };
  }
}

// ---- rendering ----------------------------------------------------------------

/** Which given arguments the agent does not declare, and which required ones are missing or empty. */
export function checkArgs(agent: Pick<AgentDef, 'args'>, args: Record<string, string>): { missing: string[]; unknown: string[] } {
  const declared = new Set(agent.args.map((a) => a.name));
  const unknown = Object.keys(args).filter((k) => !declared.has(k));
  const missing = agent.args.filter((a) => a.required && (args[a.name] ?? '').trim() === '').map((a) => a.name);
  return { missing, unknown };
}

/**
 * Fills the agent's template. Values go in as plain text, in one pass: a value that
 * itself contains `{{x}}` stays literally `{{x}}`. Optional arguments not given
 * render as an empty string.
 */
export function renderTemplate(agent: Pick<AgentDef, 'args' | 'body'>, args: Record<string, string>): RenderResult {
  const { missing, unknown } = checkArgs(agent, args);
  if (unknown.length > 0) return { kind: 'unknown-args', names: unknown };
  if (missing.length > 0) return { kind: 'missing-args', names: missing };
  const text = agent.body.replace(PLACEHOLDER, (whole, name: string) => (Object.hasOwn(args, name) ? (args[name] ?? '') : agent.args.some((a) => a.name === name) ? '' : whole));
  return { kind: 'ok', text };
}
