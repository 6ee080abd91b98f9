#!/usr/bin/env node
// demo-stand-in — the "thinking" of the scripted stand-in for claude in `coven demo`.
// The stand-in (the test fake, fakes/claude.ts) runs this where a model would think,
// and says what it prints (its `text_from_command` step).
//
//   demo-stand-in dispatch
//       Chooses the next job as .coven/agents/dispatch.md tells the dispatch agent to:
//       reads the issues of the worktree it runs in and, from the prompt
//       ($FAKE_CLAUDE_PROMPT), what the other workers are doing. Prints two sentences of
//       reasoning, then a <dispatch> block.
//   demo-stand-in wait-for-job ISSUE TEXT
//       Waits (at most 20 s) until a worker has been given ISSUE, then prints TEXT. The
//       French implementer uses it so that the German one starts from the same main
//       commit, as two workers of a busy repository would: their lands then conflict.
//   exit: 0 · 64 bad usage

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { IssueEntry } from '../scripts/list-issues.js';
import { gitOut } from '../scripts/lib/git/runner.js';
import { runAsEntry } from '../scripts/lib/ui/entry.js';

export type Choice = { kind: 'run'; agent: 'plan' | 'implement'; issue: string; why: string } | { kind: 'sleep'; reason: string };

const kindOrder = { revise: 0, plan: 1, implement: 2 } as const;
type Kind = keyof typeof kindOrder;

function kindOf(state: string): Kind | null {
  if (state === 'changes-requested' || state === 'needs-replan') return 'revise';
  if (state === 'new') return 'plan';
  if (state === 'approved') return 'implement';
  return null;
}

const fileName = (path: string) => path.slice(path.lastIndexOf('/') + 1);
const rank = (priority: string) => ({ P0: 0, P1: 1 } as Record<string, number>)[priority] ?? 2;

/**
 * The dispatch rules of the template, for issues listed as `coven issues` lists them and
 * `taken`: issue file name → the worker that has it.
 */
export function chooseJob(list: IssueEntry[], taken: ReadonlyMap<string, string>): Choice {
  const inReview = list.filter((i) => i.state === 'review').map((i) => i.path);
  const throttled = inReview.length >= 3;
  const ready = list
    .map((issue, order) => ({ issue, order, kind: kindOf(issue.state) }))
    .filter((c): c is { issue: IssueEntry; order: number; kind: Kind } => c.kind !== null && !taken.has(fileName(c.issue.path)))
    .filter((c) => !(throttled && c.kind === 'plan' && rank(c.issue.priority) > 0))
    .sort((a, b) => rank(a.issue.priority) - rank(b.issue.priority) || kindOrder[a.kind] - kindOrder[b.kind] || a.order - b.order);
  const first = ready[0];
  if (first) {
    const { issue, kind } = first;
    const verb = kind === 'implement' ? 'implementing' : kind === 'plan' ? 'planning' : 'revising the plan of';
    return { kind: 'run', agent: kind === 'implement' ? 'implement' : 'plan', issue: issue.path, why: `${issue.path} is ${issue.state} (${issue.priority}) and no other worker has it: ${verb} it.` };
  }
  const busy = list.filter((i) => taken.has(fileName(i.path))).map((i) => `${i.path} is with ${taken.get(fileName(i.path))}`);
  const waiting = inReview.length > 0 ? `${inReview.length} plan${inReview.length > 1 ? 's wait' : ' waits'} for human review (${inReview.join(', ')})` : '';
  const reason = [waiting, ...busy].filter(Boolean).join('; ');
  return { kind: 'sleep', reason: list.length === 0 ? 'no open issues' : reason ? `${reason}; nothing else is ready` : 'nothing is ready' };
}

/** issue file name → worker, from the "other workers" part of a dispatch prompt. */
export function takenIssues(prompt: string): Map<string, string> {
  const taken = new Map<string, string>();
  const section = prompt.split('## The other workers right now')[1] ?? '';
  for (const line of section.split('\n')) {
    const m = /^- ([a-z][a-z0-9-]*): .*?\bissue: ([^,)]+)/.exec(line);
    if (m) taken.set(fileName(m[2]!.trim()), m[1]!);
  }
  return taken;
}

export function dispatchAnswer(c: Choice): string {
  if (c.kind === 'sleep') return `Nothing is ready for an idle worker: sleep until main moves.\n\n<dispatch>\nsleep: ${c.reason}\n</dispatch>`;
  return `${c.why}\n\n<dispatch>\nagent: ${c.agent}\nissue: ${c.issue}\n</dispatch>`;
}

async function waitForJob(issue: string, text: string): Promise<void> {
  const workers = join(await git('rev-parse', '--path-format=absolute', '--git-common-dir'), 'coven', 'workers');
  for (const until = Date.now() + 20_000; Date.now() < until; await delay(50)) {
    const names = await readdir(workers).catch(() => [] as string[]);
    const states = await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => readFile(join(workers, n), 'utf8').catch(() => '')));
    if (states.some((s) => issueOf(s) === issue)) break;
  }
  process.stdout.write(`${text}\n`);
}

/**
 * The issues as `coven issues` lists them (priority, then path), read the simple way:
 * the demo's issue files have plain `key: value` frontmatter, and this runs once per
 * dispatch, so it does without the YAML parser.
 */
async function readIssues(top: string): Promise<IssueEntry[]> {
  const found: IssueEntry[] = [];
  for (const dir of ['issues', 'review']) {
    for (const name of (await readdir(join(top, dir)).catch(() => [] as string[])).filter((n) => n.endsWith('.md'))) {
      const text = await readFile(join(top, dir, name), 'utf8');
      const front = /^---\n([\s\S]*?)\n---/.exec(text)?.[1] ?? '';
      const field = (key: string) => new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(front)?.[1] ?? '?';
      found.push({ path: `${dir}/${name}`, state: field('state'), priority: field('priority'), title: /^# (.+)$/m.exec(text)?.[1] ?? name, note: null });
    }
  }
  return found.sort((a, b) => rank(a.priority) - rank(b.priority) || (a.path < b.path ? -1 : 1));
}

/** `git <args>` in the cwd, through coven's git runner. */
async function git(...args: string[]): Promise<string> {
  return (await gitOut(process.cwd(), args)).trim();
}

/** The issue argument in a worker state file's text, or null. */
function issueOf(stateJson: string): string | null {
  try {
    const issue = (JSON.parse(stateJson) as { args?: Record<string, unknown> }).args?.issue;
    return typeof issue === 'string' ? issue : null;
  } catch {
    return null; // being replaced right now: read again
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'dispatch' && rest.length === 0) {
    const top = await git('rev-parse', '--show-toplevel');
    process.stdout.write(`${dispatchAnswer(chooseJob(await readIssues(top), takenIssues(process.env.FAKE_CLAUDE_PROMPT ?? '')))}\n`);
    return 0;
  }
  if (command === 'wait-for-job' && rest.length === 2) {
    await waitForJob(rest[0]!, rest[1]!);
    return 0;
  }
  process.stderr.write('usage: demo-stand-in dispatch | demo-stand-in wait-for-job ISSUE TEXT\n');
  return 64;
}

runAsEntry(import.meta.url, main);
