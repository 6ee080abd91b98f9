// codex-args — the fake Codex's command line, parsed as the real CLI's clap parser does
// for `codex exec` and `codex exec resume` (0.171.0 --help), with what config.toml adds:
// the model, the sandbox, the provider's base URL. See fakes/codex.ts.

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const SANDBOX_MODES = ['read-only', 'workspace-write', 'danger-full-access'] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

export interface CodexArgs {
  /** the thread id to resume (exec resume) */
  resume?: string;
  /** exec resume --last: the newest thread */
  last: boolean;
  prompt?: string;
  json: boolean;
  model?: string;
  sandbox: SandboxMode;
  provider: string;
  /** the provider's base URL (as the CLI names it in its errors) */
  baseUrl: string;
  skipGitRepoCheck: boolean;
  outputLastMessage?: string;
}

export type ParsedCodexArgs = { kind: 'args'; args: CodexArgs } | { kind: 'error'; message: string } | { kind: 'version' } | { kind: 'help'; resume: boolean };

const shared = ['-c', '--config', '--enable', '--disable', '-i', '--image', '--remote', '--remote-auth-token-env', '-m', '--model', '--thread-source', '--cyber-access-program', '--output-schema', '-o', '--output-last-message'];
const execValues = new Set([...shared, '--local-provider', '-p', '--profile', '-s', '--sandbox', '-C', '--cd', '--add-dir', '--color']);
const resumeValues = new Set(shared);
const sharedFlags = ['--strict-config', '--dangerously-bypass-approvals-and-sandbox', '--dangerously-bypass-hook-trust', '--worktree', '--skip-git-repo-check', '--trust', '--ephemeral', '--ignore-user-config', '--ignore-rules', '--json', '-h', '--help'];
const execFlags = new Set([...sharedFlags, '--oss', '--approve-for-me', '-V', '--version']);
const resumeFlags = new Set([...sharedFlags, '--last', '--all']);

/** clap's message for an argument it does not take, with the usage of the (sub)command. */
export function usageError(arg: string, resume: boolean): string {
  const usage = resume ? 'Usage: codex exec resume [OPTIONS] [SESSION_ID] [PROMPT]' : 'Usage: codex exec [OPTIONS] [PROMPT]\n       codex exec [OPTIONS] <COMMAND> [ARGS]';
  return `error: unexpected argument '${arg}' found\n\n  tip: to pass '${arg}' as a value, use '-- ${arg}'\n\n${usage}\n\nFor more information, try '--help'.`;
}

/** Parses `codex <argv>` (exec and exec resume only). */
export function parseCodexArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedCodexArgs {
  if (argv[0] === '--version' || argv[0] === '-V') return { kind: 'version' };
  if (argv[0] !== 'exec' && argv[0] !== 'e') return { kind: 'error', message: `fake codex: only \`codex exec\` and \`codex exec resume\` are supported, not ${JSON.stringify(argv.join(' '))}` };
  let resume = false;
  const values: [string, string][] = [];
  const flags = new Set<string>();
  const positionals: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (arg === 'resume' && !resume && positionals.length === 0) resume = true;
      else positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if ((resume ? resumeValues : execValues).has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) return { kind: 'error', message: `error: a value is required for '${name} <VALUE>' but none was supplied\n\nFor more information, try '--help'.` };
      values.push([name, value]);
    } else if ((resume ? resumeFlags : execFlags).has(arg)) flags.add(arg);
    else return { kind: 'error', message: usageError(name, resume) };
  }
  if (flags.has('-h') || flags.has('--help')) return { kind: 'help', resume };
  if (flags.has('-V') || flags.has('--version')) return { kind: 'version' };
  const last = flags.has('--last');
  const [first, second, ...more] = positionals;
  const extra = resume ? (last ? second : more[0]) : second;
  if (extra !== undefined) return { kind: 'error', message: usageError(extra, resume) };
  const value = (...names: string[]): string | undefined => values.filter(([n]) => names.includes(n)).at(-1)?.[1];
  const overrides = new Map(values.filter(([n]) => n === '-c' || n === '--config').map(([, v]) => splitOverride(v)));
  const config = readConfig(env);
  const sandboxArg = value('-s', '--sandbox');
  if (sandboxArg !== undefined && !(SANDBOX_MODES as readonly string[]).includes(sandboxArg)) {
    return { kind: 'error', message: `error: invalid value '${sandboxArg}' for '--sandbox <SANDBOX_MODE>'\n  [possible values: ${SANDBOX_MODES.join(', ')}]\n\nFor more information, try '--help'.` };
  }
  const sandboxName = flags.has('--dangerously-bypass-approvals-and-sandbox') ? 'danger-full-access' : (sandboxArg ?? overrides.get('sandbox_mode') ?? config.get('sandbox_mode') ?? 'read-only');
  const sandbox = (SANDBOX_MODES as readonly string[]).includes(sandboxName) ? (sandboxName as SandboxMode) : 'read-only';
  const provider = overrides.get('model_provider') ?? config.get('model_provider') ?? 'openai';
  const model = value('-m', '--model') ?? overrides.get('model') ?? config.get('model');
  const outputLastMessage = value('-o', '--output-last-message');
  return {
    kind: 'args',
    args: {
      ...(resume && !last && first !== undefined ? { resume: first } : {}),
      last,
      ...((resume ? (last ? first : second) : first) !== undefined ? { prompt: (resume ? (last ? first : second) : first)! } : {}),
      json: flags.has('--json'),
      ...(model !== undefined ? { model } : {}),
      sandbox,
      provider,
      baseUrl: config.get(`model_providers.${provider}.base_url`) ?? 'https://api.openai.com/v1',
      skipGitRepoCheck: flags.has('--skip-git-repo-check'),
      ...(outputLastMessage !== undefined ? { outputLastMessage } : {}),
    },
  };
}

/** `key=value` of a -c override; the value is TOML (a quoted string) or taken as it is. */
function splitOverride(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq < 0) return [text.trim(), ''];
  return [text.slice(0, eq).trim(), unquote(text.slice(eq + 1).trim())];
}

function unquote(v: string): string {
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(v) ?? /^'([^']*)'$/.exec(v);
  return m ? m[1]!.replace(/\\(.)/g, '$1') : v;
}

/** The string keys of $CODEX_HOME/config.toml, dotted by table (`model`, `model_providers.local.base_url`). */
function readConfig(env: NodeJS.ProcessEnv): Map<string, string> {
  const out = new Map<string, string>();
  const file = join(env.CODEX_HOME || join(env.HOME || homedir(), '.codex'), 'config.toml');
  if (!existsSync(file)) return out;
  let table = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) table = `${header[1]!.trim()}.`;
    const kv = /^([A-Za-z0-9_.-]+)\s*=\s*(.+)$/.exec(line);
    if (kv) out.set(`${table}${kv[1]}`, unquote(kv[2]!.trim()));
  }
  return out;
}
