// cli-fallback — agent files choose their CLI(s) (`cli: [claude, codex]`, per-CLI
// arguments), and a job moves to the next CLI when the vendor refuses.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAgentFile, formatFileProblem, type AgentFileResult } from '../scripts/lib/agents/registry.js';
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

test.run();
