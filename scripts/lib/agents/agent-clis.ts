// agent-clis — which agent CLI(s) an agent file chooses, and each one's arguments.
//
//   cli: codex                  one CLI (default: claude)
//   cli: [claude, codex]        Claude Code, and Codex when Claude cannot run (the vendor
//                               refuses: quota, rate limit, auth, overloaded)
//   claude_args: ["--allowedTools=Read"]   arguments of each CLI the agent uses
//   codex_args, gemini_args, opencode_args
//
// A list holds distinct known names, at most MAX_AGENT_CLIS. An unknown name, an empty
// list, a repeated name, or arguments for a CLI the agent does not use are problems of
// the file (`.coven/agents/x.md: codex_args: …`), like every other registry problem.
// Pure: the frontmatter's data in, the choice or its problems out.

import { z } from 'zod';
import { CLI_NAMES, isCliName, type CliName } from '../clis/adapter.js';
import { describeValue } from './frontmatter.js';

/** an agent names at most this many CLIs (one of each kind coven knows) */
export const MAX_AGENT_CLIS = CLI_NAMES.length;
/** one `<cli>_args` entry is one command-line argument of the CLI */
export const MAX_CLI_ARG_CHARS = 8 * 1024;

/** the frontmatter key of each CLI's arguments */
export const ARGS_KEYS: Readonly<Record<CliName, string>> = { claude: 'claude_args', codex: 'codex_args', gemini: 'gemini_args', opencode: 'opencode_args' };

/** the frontmatter keys this module reads */
export const CLI_KEYS = ['cli', ...CLI_NAMES.map((c) => ARGS_KEYS[c])];

export interface CliChoice {
  /** the CLIs in the order tried: the first runs, the next when the vendor refuses */
  clis: CliName[];
  /** each used CLI's arguments (an empty list when its `<cli>_args` is absent) */
  args: Partial<Record<CliName, string[]>>;
}

export interface CliProblem {
  field: string;
  message: string;
}

const argList = z.array(
  z.string({ error: (iss) => `must be a string, got ${describeValue(iss.input)}` }).max(MAX_CLI_ARG_CHARS, {
    error: (iss) => `is ${String(iss.input).length} characters long, over the limit of ${MAX_CLI_ARG_CHARS} for one command-line argument`,
  }),
  { error: (iss) => `must be a list of strings, got ${describeValue(iss.input)}` },
);

const known = `known: ${CLI_NAMES.join(', ')}`;

/** The `cli` key's value: the names in order, or its problems. */
function clisOf(value: unknown): { clis: CliName[] } | { problems: CliProblem[] } {
  if (value === undefined || value === null) return { clis: ['claude'] };
  const list: unknown[] = Array.isArray(value) ? value : [value];
  const field = (i: number) => (Array.isArray(value) ? `cli[${i}]` : 'cli');
  if (typeof value !== 'string' && !Array.isArray(value)) return { problems: [{ field: 'cli', message: `must be a CLI name or a list of them (${known}), got ${describeValue(value)}` }] };
  if (list.length === 0) return { problems: [{ field: 'cli', message: `is an empty list: name at least one CLI (${known}), or leave cli out for claude` }] };
  if (list.length > MAX_AGENT_CLIS) return { problems: [{ field: 'cli', message: `names ${list.length} CLIs, over the limit of ${MAX_AGENT_CLIS} (${known})` }] };
  const problems: CliProblem[] = [];
  const clis: CliName[] = [];
  list.forEach((name, i) => {
    if (typeof name !== 'string') problems.push({ field: field(i), message: `must be a CLI name, got ${describeValue(name)}` });
    else if (!isCliName(name.trim())) problems.push({ field: field(i), message: `unknown CLI '${name}' (${known})` });
    else if (clis.includes(name.trim() as CliName)) problems.push({ field: field(i), message: `'${name.trim()}' is already in the list` });
    else clis.push(name.trim() as CliName);
  });
  return problems.length > 0 ? { problems } : { clis };
}

/** `codex_args[1]` from a zod path under the key. */
function fieldOf(key: string, path: readonly PropertyKey[]): string {
  return key + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/** The CLIs and their arguments an agent file's frontmatter chooses, or every problem with them. */
export function cliChoiceOf(data: Record<string, unknown>): { kind: 'ok'; choice: CliChoice } | { kind: 'invalid'; problems: CliProblem[] } {
  const chosen = clisOf(Object.hasOwn(data, 'cli') ? data.cli : undefined);
  const problems: CliProblem[] = 'problems' in chosen ? [...chosen.problems] : [];
  const clis = 'clis' in chosen ? chosen.clis : null;
  const args: Partial<Record<CliName, string[]>> = {};
  for (const cli of CLI_NAMES) {
    const key = ARGS_KEYS[cli];
    const given = Object.hasOwn(data, key) ? data[key] : undefined;
    const parsed = argList.safeParse(given === undefined ? [] : given);
    if (!parsed.success) for (const issue of parsed.error.issues) problems.push({ field: fieldOf(key, issue.path), message: issue.message });
    if (clis === null) continue;
    if (given !== undefined && !clis.includes(cli)) {
      problems.push({ field: key, message: `arguments for ${cli}, which this agent does not use (cli: ${clis.join(', ')}); add ${cli} to cli, or remove ${key}` });
    } else if (clis.includes(cli) && parsed.success) args[cli] = parsed.data;
  }
  if (problems.length > 0 || clis === null) return { kind: 'invalid', problems };
  return { kind: 'ok', choice: { clis, args } };
}

/** `claude → codex`: the order a job tries them in. */
export function describeClis(clis: readonly CliName[]): string {
  return clis.join(' → ');
}
