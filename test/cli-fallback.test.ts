// cli-fallback — agent files choose their CLI(s) (`cli: [claude, codex]`, per-CLI
// arguments), and a job moves to the next CLI when the vendor refuses.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAgentFile, formatFileProblem, type AgentFileResult } from '../scripts/lib/agents/registry.js';
import { newWorkerState, type WorkerState } from '../scripts/lib/worker/state.js';
import { refusedRetryWait } from '../scripts/lib/worker/policy.js';
import { headerLine } from '../scripts/lib/ui/worker-ui.js';
import { handoffPrompt } from '../scripts/lib/agents/cli-handoff.js';
import { renderStatus } from '../scripts/status.js';
import { commitFile, coven, tempRepo } from './helpers/repo.js';

const agentFile = (front: string) => `---\ndescription: Implements one issue\n${front}---\nImplement it.\n`;

function parsed(front: string): AgentFileResult {
  return parseAgentFile('implement.md', agentFile(front));
}

function problemsOf(r: AgentFileResult): string[] {
  if (r.kind !== 'invalid') throw new Error(`expected an invalid file, got agent ${r.agent.name} on ${r.agent.clis.join(', ')}`);
  return r.problems.map(formatFileProblem);
}

test('an agent file names its CLI or CLIs; without cli it runs on claude, and claude_args work as before', () => {
  const plain = parsed('claude_args: ["--allowedTools=Read"]\n');
  assert.is(plain.kind, 'agent');
  if (plain.kind !== 'agent') return;
  assert.equal(plain.agent.clis, ['claude']);
  assert.equal(plain.agent.cliArgs, { claude: ['--allowedTools=Read'] });
  assert.equal(plain.agent.claudeArgs, ['--allowedTools=Read']);

  const one = parsed('cli: codex\ncodex_args: ["--model=o4"]\n');
  assert.equal(one.kind === 'agent' ? [one.agent.clis, one.agent.cliArgs, one.agent.claudeArgs] : one, [['codex'], { codex: ['--model=o4'] }, []]);

  const list = parsed('cli: [claude, codex, gemini, opencode]\nclaude_args: ["--allowedTools=Read"]\nopencode_args: ["--model", "x/y"]\n');
  assert.equal(list.kind === 'agent' ? [list.agent.clis, list.agent.cliArgs] : list, [
    ['claude', 'codex', 'gemini', 'opencode'],
    { claude: ['--allowedTools=Read'], codex: [], gemini: [], opencode: ['--model', 'x/y'] },
  ]);
});

// [what, frontmatter, every expected `file: field: message`]
const invalid: [string, string, RegExp[]][] = [
  ['an unknown CLI', 'cli: cursor\n', [/^\.coven\/agents\/implement\.md: cli: unknown CLI 'cursor' \(known: claude, codex, gemini, opencode\)$/]],
  ['an unknown CLI in a list', 'cli: [claude, aider]\n', [/^\.coven\/agents\/implement\.md: cli\[1\]: unknown CLI 'aider'/]],
  ['an empty list', 'cli: []\n', [/^\.coven\/agents\/implement\.md: cli: is an empty list: name at least one CLI/]],
  ['a name twice', 'cli: [codex, codex]\n', [/^\.coven\/agents\/implement\.md: cli\[1\]: 'codex' is already in the list$/]],
  ['not a name', 'cli: {claude: 1}\n', [/^\.coven\/agents\/implement\.md: cli: must be a CLI name or a list of them/]],
  ['codex_args for an agent on claude only', 'codex_args: ["--model=o4"]\n', [/^\.coven\/agents\/implement\.md: codex_args: arguments for codex, which this agent does not use \(cli: claude\); add codex to cli, or remove codex_args$/]],
  ['claude_args for an agent on codex', 'cli: codex\nclaude_args: ["--allowedTools=Read"]\n', [/^\.coven\/agents\/implement\.md: claude_args: arguments for claude, which this agent does not use \(cli: codex\)/]],
  ['gemini_args not a list', 'cli: gemini\ngemini_args: --yolo\n', [/^\.coven\/agents\/implement\.md: gemini_args: must be a list of strings, got a string$/]],
  ['opencode_args with a number', 'cli: opencode\nopencode_args: ["--x", 3]\n', [/^\.coven\/agents\/implement\.md: opencode_args\[1\]: must be a string, got a number$/]],
];

for (const [what, front, expected] of invalid) {
  test(`a registry problem, named with its file: ${what}`, () => {
    const problems = problemsOf(parsed(front));
    assert.is(problems.length, expected.length, problems.join('\n'));
    expected.forEach((re, i) => assert.match(problems[i] ?? '', re));
  });
}

test('coven agents shows the CLIs of each agent, and a bad cli as a problem of its file', async () => {
  const repo = await tempRepo();
  await commitFile(repo, '.coven/agents/implement.md', agentFile('cli: [claude, codex]\n'));
  await commitFile(repo, '.coven/agents/review.md', agentFile('cli: gemini\n'));
  await commitFile(repo, '.coven/agents/typo.md', agentFile('cli: [claude, codx]\n'));
  const r = await coven(['agents'], { cwd: repo });
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stdout, /^implement — Implements one issue\n {4}\(no arguments\)\n {4}cli: claude → codex$/m);
  assert.match(r.stdout, /^review — Implements one issue\n {4}\(no arguments\)\n {4}cli: gemini$/m);
  assert.match(r.stdout, /^ {2}\.coven\/agents\/typo\.md: cli\[1\]: unknown CLI 'codx'/m);
  const json = await coven(['agents', '--json'], { cwd: repo });
  const agents = (JSON.parse(json.stdout) as { agents: { name: string; clis: string[] }[] }).agents;
  assert.equal(agents.map((a) => [a.name, a.clis]), [['implement', ['claude', 'codex']], ['review', ['gemini']]]);
});

const running = (over: Partial<WorkerState>): WorkerState => ({ ...newWorkerState({ name: 'w1', branch: 'coven/w1', worktree: '/wt/w1' }), phase: 'running', agent: 'implement', args: { issue: 'issues/a.md' }, ...over });
const statusOf = (s: WorkerState) => renderStatus({ at: Date.now(), main: { branch: 'main', tip: 'a'.repeat(40) }, workers: [{ kind: 'worker', file: 'w1.json', state: s, liveness: 'alive' }], locks: [] });

test('coven status and the worker\'s header say which CLI the job runs on and why it changed', () => {
  const s = running({ cli: 'codex', cli_note: 'claude refused: quota' });
  assert.match(statusOf(s), /^WORKER\s+PHASE\s+AGENT\s+SINCE\s+LANDED\s+COST\s+CLI$/m);
  assert.match(statusOf(s), /^w1\s+running\s+implement issue=issues\/a\.md\s+\S+\s+0\s+\$0\.00\s+codex \(claude refused: quota\)$/m);
  assert.match(headerLine(s), /^── w1 · running implement \(issue: issues\/a\.md\) on codex \(claude refused: quota\) · /);
  assert.match(headerLine(running({ cli: 'claude' })), /running implement \(issue: issues\/a\.md\) on claude · /);
  // an older state file has no cli: nothing is said about it
  assert.match(statusOf(running({})), /^w1\s+running\s+implement issue=issues\/a\.md\s+\S+\s+0\s+\$0\.00$/m);
});

test('coven status says until when a worker waits after every CLI of its agent refused', () => {
  const at = new Date(2026, 11, 6, 14, 32).toISOString();
  const s = running({ phase: 'sleeping', cli: 'claude', retry: { at, why: 'every CLI of agent implement refused (claude: quota)' } });
  assert.match(statusOf(s), /^w1 waits: every CLI of agent implement refused \(claude: quota\); trying again at 14:32$/m);
});

test('after refusals the wait doubles from the first (1 min by default) up to 30 min', () => {
  assert.equal([1, 2, 3, 4, 5, 6, 7, 50].map((n) => refusedRetryWait(n)), [60_000, 120_000, 240_000, 480_000, 960_000, 1_800_000, 1_800_000, 1_800_000]);
  assert.equal([1, 2, 3].map((n) => refusedRetryWait(n, 200)), [200, 400, 800]);
});

test('the handoff prompt is the job\'s prompt, then what each refused session did and left', () => {
  const text = handoffPrompt('Implement issues/a.md.\n', [
    { cli: 'claude', label: 'Claude Code', refusal: { reason: 'quota', message: 'API Error: 429 usage limit reached' }, commits: ['abc1234 half of a'], dirty: ['b.txt'] },
  ]);
  assert.ok(text.startsWith('Implement issues/a.md.\n'), text);
  assert.match(text, /A Claude Code session worked on this before and stopped because its quota ran out \(API Error: 429 usage limit reached\); its commits abc1234 half of a and its uncommitted changes \(b\.txt\) are kept in this worktree; go on from there\./);
  assert.match(handoffPrompt('x', [{ cli: 'codex', label: 'Codex', refusal: { reason: 'auth', message: '' }, commits: [], dirty: [] }]), /A Codex session worked on this before and stopped because its vendor refused its credentials; it left no commit and no change/);
  assert.is(handoffPrompt('x', []), 'x');
});

test.run();
