// dispatch-decision — the `<dispatch>` protocol, pure: the text coven appends to the
// dispatch prompt, parsing the last block of a session's final text, validating it
// against the agent registry, and the corrective message sent when it is invalid.
//
// Inputs: the final text of a dispatch session; the loaded agents. Outputs: a typed
// decision or a list of problems. Nothing here runs anything.

import { z } from 'zod';
import { DISPATCH_AGENT, formatAgentCatalog } from './registry.js';
import { NOT_PLAIN, escapeNotPlain } from '../ui/plain-text.js';

/** The part of an agent definition the protocol needs (see agent-registry). */
export interface DispatchableAgent {
  name: string;
  description: string;
  args: { name: string; description: string; required: boolean }[];
  maxConcurrency?: number;
}

export type Decision =
  | { kind: 'run'; agent: string; args: Record<string, string>; reasoning: string }
  | { kind: 'sleep'; reason: string; reasoning: string };

export type DecisionCheck = { kind: 'valid'; decision: Decision } | { kind: 'invalid'; problems: string[] };

export const MAX_VALUE_LENGTH = 1000;
export { DISPATCH_AGENT }; // one name, kept in the registry

const OPEN = '<dispatch>';
/** a block: the last `<dispatch>` before a `</dispatch>` (one named in prose before it is not its start) */
const BLOCK = /<dispatch>((?:(?!<dispatch>)[\s\S])*?)<\/dispatch>/g;

/**
 * Finds the last `<dispatch>…</dispatch>` block; the text before it is the reasoning.
 * `unclosed`: a `<dispatch>` follows it (or, with no block, appears at all) that is never
 * closed, so the block that would count is not there.
 */
export function lastDispatchBlock(text: string): { body: string; reasoning: string; count: number; unclosed: boolean } | null {
  let last: RegExpExecArray | null = null;
  let count = 0;
  for (const m of text.matchAll(BLOCK)) {
    last = m;
    count++;
  }
  if (!last || last.index === undefined) return text.includes(OPEN) ? { body: '', reasoning: '', count: 0, unclosed: true } : null;
  const unclosed = text.slice(last.index + last[0].length).includes(OPEN);
  return { body: last[1] ?? '', reasoning: text.slice(0, last.index).trim(), count, unclosed };
}

const charNames: Record<number, string> = { 0x00: 'NUL', 0x09: 'tab', 0x0b: 'vertical tab', 0x0c: 'form feed', 0x1b: 'ESC', 0x7f: 'DEL', 0x85: 'NEL (next line)', 0x9b: 'CSI', 0x2028: 'line separator', 0x2029: 'paragraph separator', 0x202e: 'right-to-left override' };

/** The first character of `text` that is not plain single-line text, described with where it is; null when there is none. */
export function notPlainCharacter(text: string): string | null {
  const m = NOT_PLAIN.exec(text);
  if (!m) return null;
  const code = m[0].codePointAt(0)!;
  const name = charNames[code];
  return `${codePoint(code)}${name ? ` (${name})` : ''} at character ${[...text.slice(0, m.index)].length + 1}`;
}

/** Splits the block body into `key: value` pairs (split at the first colon). */
export function parseBlockLines(body: string): { pairs: [string, string][]; problems: string[] } {
  const pairs: [string, string][] = [];
  const problems: string[] = [];
  const lines = body.replace(/\r\n?/g, '\n').replace(/^\n/, '').split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      problems.push(`line ${i + 1} of the block is not "key: value": ${quoted(line)} (values must fit on one line)`);
      return;
    }
    pairs.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  });
  return { pairs, problems };
}

const valueSchema = z
  .string()
  .min(1, 'is empty')
  .max(MAX_VALUE_LENGTH, `is longer than ${MAX_VALUE_LENGTH} characters`)
  .superRefine((v, ctx) => {
    const where = notPlainCharacter(v);
    if (where) ctx.addIssue({ code: 'custom', message: `has ${where} of ${quoted(v)}: values are plain single-line text, with no control or line-breaking character (not even a tab)` });
  });

/** Parses and validates the last `<dispatch>` block of `finalText` against `agents`. */
export function checkDispatchOutput(finalText: string, agents: readonly DispatchableAgent[]): DecisionCheck {
  const block = lastDispatchBlock(finalText);
  if (!block) return invalid(['your answer has no <dispatch>…</dispatch> block; it must end with exactly one']);
  if (block.unclosed) return invalid([`your answer ends with a <dispatch> that is never closed; the last block is the one that counts, so end it with </dispatch>${block.count > 0 ? ' (the complete block before it was not used)' : ''}`]);
  const { pairs, problems } = parseBlockLines(block.body);
  if (problems.length > 0) return invalid(problems);
  if (pairs.length === 0) return invalid(['the <dispatch> block is empty']);

  const seen = new Set<string>();
  for (const [key] of pairs) {
    if (seen.has(key)) problems.push(`${quoted(key)} appears more than once`);
    seen.add(key);
  }
  if (problems.length > 0) return invalid(problems);
  const fields = Object.fromEntries(pairs);

  if ('sleep' in fields) {
    const extra = Object.keys(fields).filter((k) => k !== 'sleep');
    if (extra.length > 0) return invalid([`a sleep block has only "sleep: <reason>"; remove ${extra.map(quoted).join(', ')}`]);
    const reason = valueSchema.safeParse(fields.sleep);
    if (!reason.success) return invalid([`sleep reason ${reason.error.issues[0]?.message ?? 'is invalid'}`]);
    return { kind: 'valid', decision: { kind: 'sleep', reason: reason.data, reasoning: block.reasoning } };
  }

  const { agent: agentName, ...given } = fields;
  if (agentName === undefined) return invalid(['the block names no agent: add "agent: <name>", or answer "sleep: <reason>"']);
  return checkRunChoice(agentName, given, agents, block.reasoning);
}

/**
 * Checks a run decision's agent and arguments against the agents: a known agent other
 * than dispatch, only its declared arguments, each plain single-line text (also used
 * by run-agent on a decision file, which anyone may have written).
 */
export function checkRunChoice(agentName: string, given: Record<string, string>, agents: readonly DispatchableAgent[], reasoning = ''): DecisionCheck {
  if (agentName === DISPATCH_AGENT) return invalid(['"dispatch" cannot choose itself; name one of the agents listed below']);
  const agent = agents.find((a) => a.name === agentName && a.name !== DISPATCH_AGENT);
  if (!agent) return invalid([`there is no agent named ${quoted(agentName)}; name one of the agents listed below`]);

  const shape: Record<string, z.ZodType<string | undefined>> = {};
  for (const arg of agent.args) shape[arg.name] = arg.required ? valueSchema : valueSchema.optional();
  const parsed = z.strictObject(shape).safeParse(given);
  if (!parsed.success) {
    return invalid(parsed.error.issues.map((issue) => describeIssue(issue, agent)));
  }
  const args: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed.data)) if (typeof v === 'string') args[k] = v;
  return { kind: 'valid', decision: { kind: 'run', agent: agent.name, args, reasoning } };
}

function describeIssue(issue: z.core.$ZodIssue, agent: DispatchableAgent): string {
  if (issue.code === 'unrecognized_keys') {
    const declared = agent.args.map((a) => a.name).join(', ') || 'none';
    return `agent "${agent.name}" has no argument ${issue.keys.map(quoted).join(', ')} (its arguments: ${declared})`;
  }
  const key = String(issue.path[0] ?? '');
  if (issue.code === 'invalid_type') return `agent "${agent.name}" needs argument "${key}" (required)`;
  return `argument "${key}" ${issue.message}`;
}

/** The catalog of agents dispatch may choose, as shown in its prompt and in corrections. */
export function agentCatalog(agents: readonly DispatchableAgent[]): string {
  const choosable = agents.filter((a) => a.name !== DISPATCH_AGENT);
  return choosable.length > 0 ? formatAgentCatalog(choosable) : '(no agents besides dispatch are defined)';
}

/** One valid example block, built from the first agent with its arguments. */
export function exampleBlock(agents: readonly DispatchableAgent[]): string {
  const a = agents.find((x) => x.name !== DISPATCH_AGENT);
  if (!a) return '<dispatch>\nsleep: no agents are defined\n</dispatch>';
  const args = a.args.filter((x) => x.required).map((x) => `${x.name}: <${x.description || x.name}>`);
  return ['<dispatch>', `agent: ${a.name}`, ...args, '</dispatch>'].join('\n');
}

/** The protocol coven appends to the dispatch agent's system prompt. */
export function dispatchProtocol(agents: readonly DispatchableAgent[]): string {
  return `# coven dispatch protocol

You choose what this worker does next. End your final answer with exactly one block:

<dispatch>
agent: <agent name>
<argument>: <value>
</dispatch>

or, when nothing should be done now:

<dispatch>
sleep: <one-line reason a human can act on>
</dispatch>

Rules: one "key: value" per line, split at the first colon (values may contain colons).
"agent" must be one of the agents below (never "dispatch"). Every other key must be a
declared argument of that agent; all required arguments must be present. Values are
single lines of at most ${MAX_VALUE_LENGTH} characters, taken as plain text (no tabs or other
control characters). Text before the block is shown to the human as your reasoning; keep
it short. The last block of your answer is the one that counts.

Agents you can choose:
${agentCatalog(agents)}

Example:
${exampleBlock(agents)}`;
}

/** What coven says, resuming the session, when the block was invalid. */
export function correctiveMessage(problems: string[], agents: readonly DispatchableAgent[]): string {
  return `Your <dispatch> block could not be used:
${problems.map((p) => `- ${p}`).join('\n')}

Answer again, ending with exactly one valid block. Agents you can choose:
${agentCatalog(agents)}

Example:
${exampleBlock(agents)}

Or, if nothing should be done now:
<dispatch>
sleep: <reason>
</dispatch>`;
}

function invalid(problems: string[]): DecisionCheck {
  return { kind: 'invalid', problems };
}

function clip(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** `s` clipped, in quotes, each character that is not plain text written as \uXXXX: agent text never reaches a terminal raw. */
function quoted(s: string): string {
  return `"${escapeNotPlain(clip(s))}"`;
}

function codePoint(code: number): string {
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}
