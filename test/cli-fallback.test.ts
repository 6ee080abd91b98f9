// cli-fallback — agent files choose their CLI(s) (`cli: [claude, codex]`, per-CLI
// arguments), and a job moves to the next CLI when the vendor refuses.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAgentFile, formatFileProblem, type AgentFileResult } from '../scripts/lib/agents/registry.js';
import { newWorkerState, type WorkerState } from '../scripts/lib/worker/state.js';
import { refusedRetryWait } from '../scripts/lib/worker/policy.js';
import { headerLine } from '../scripts/lib/ui/worker-ui.js';
import { handoffPrompt } from '../scripts/lib/agents/cli-handoff.js';
import { addHandoff } from '../scripts/lib/agents/cli-fallback.js';
import { renderStatus } from '../scripts/status.js';
import { cliOfRecord, SessionRecordSchema } from '../scripts/lib/steps/session-record.js';
import { commitFile, coven, sh, tempDir, tempRepo } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun } from './helpers/fake-claude.js';
import { fakeCodexEnv, readCodexLog } from './helpers/fake-codex.js';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';

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
  assert.match(r.stdout, /^what the CLIs in use cannot do \(docs\/agent-clis\.md\):\n {2}codex: no steering/m);
  assert.match(r.stdout, /^ {2}gemini: /m);
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
  assert.match(headerLine(running({ cli: 'codex' })), /running implement \(issue: issues\/a\.md\) on codex · /);
  // claude, the default, is named only when it is not the agent's first
  assert.match(headerLine(running({ cli: 'claude' })), /running implement \(issue: issues\/a\.md\) · /);
  assert.match(headerLine(running({ cli: 'claude', cli_note: 'codex refused: auth' })), /running implement \(issue: issues\/a\.md\) on claude \(codex refused: auth\) · /);
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

// ---- the worker: a job goes on with the next CLI --------------------------------

const choose = (...lines: string[]): FakeRun => ({ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: `<dispatch>\n${lines.join('\n')}\n</dispatch>` }] });
const implementOn = (cli: string) => `---
description: implements one issue
args:
  - name: issue
    description: path of the issue file
cli: ${cli}
claude_args: ["--allowedTools=Bash(git *),Read,Edit,Write"]
---
Implement the issue in {{issue}}.
`;

/** A repository whose implement agent runs on `cli`, the fakes of Claude and Codex scripted, a worker --once run. */
async function workerOnce(cli: string, claude: FakeRun[], codex: FakeRun[] | null, env: NodeJS.ProcessEnv = {}, files: Record<string, string> = {}, args = ['--once']) {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a'), 'greeting.txt': 'hello\n', '.coven/agents/implement.md': implementOn(cli), ...files });
  const base = tempDir('coven-wt-');
  const claudeEnv = fakeClaudeEnv(claude);
  const codexEnv = fakeCodexEnv(codex);
  const r = await coven(['worker', ...args, '--name', 'w1'], { cwd: repo, env: { ...claudeEnv, ...codexEnv, COVEN_WORKTREE_BASE: base, MAIN_REPO: repo, ...env } });
  return { repo, worktree: join(base, 'project', 'coven', 'w1'), r, claude: () => readFakeLog(claudeEnv), codex: () => readCodexLog(codexEnv) };
}

const halfDone: FakeRun = {
  match: { promptIncludes: 'Implement the issue in issues/a.md' },
  steps: [{ write: { path: 'a.txt', content: 'half\n' } }, { commit: 'half of a' }, { write: { path: 'b.txt', content: 'not committed yet\n' } }],
  refuse: { reason: 'quota' },
};

test('quota from claude: the job goes on with codex in the same worktree, told what claude did, and lands both sessions\' work', async () => {
  const o = await workerOnce('[claude, codex]', [choose('agent: implement', 'issue: issues/a.md'), halfDone], [
    {
      expect: { promptIncludes: ['Implement the issue in issues/a.md', 'A Claude Code session worked on this before and stopped because its quota ran out', 'half of a', 'its uncommitted changes (b.txt)', 'go on from there'] },
      steps: [{ bash: 'test "$(cat b.txt)" = "not committed yet" && git log -1 --format=%s | grep -qx "half of a"' }, { write: { path: 'a.txt', content: 'whole\n' } }, { commit: 'rest of a' }, { text: 'Done.' }],
    },
  ]);
  assert.is(o.r.code, 0, o.r.stderr + o.r.stdout + JSON.stringify(o.codex()));
  assert.is(await sh(o.repo, 'log', '--format=%s', '-2', 'main'), 'rest of a\nhalf of a');
  assert.is(readFileSync(join(o.repo, 'b.txt'), 'utf8'), 'not committed yet\n', 'the uncommitted change claude left landed through codex');
  const [claudeRun, codexRun] = [o.claude()[1]!, o.codex()[0]!];
  assert.equal(o.codex().map((c) => c.problems), [[]], 'codex saw the handoff prompt and found the worktree as claude left it');
  assert.is(codexRun.cwd, claudeRun.cwd, 'the same worktree');
  assert.is(codexRun.cwd, o.worktree);
  assert.match(o.r.stdout, /coven: claude refused the implement session \(quota: .*\); implement goes on with codex in the same worktree, its commits and changes kept/);
  assert.match(o.r.stdout, /── w1 · running implement \(issue: issues\/a\.md\) on codex \(claude refused: quota\)/);
});

test('a conflict after a fallback is resolved by resuming the codex session that ran last, in the same worktree', async () => {
  const o = await workerOnce('[claude, codex]', [choose('agent: implement', 'issue: issues/a.md'), halfDone], [
    {
      match: { promptIncludes: 'worked on this before' },
      steps: [
        { write: { path: 'greeting.txt', content: 'bonjour\n' } },
        { commit: 'a: greet in French' },
        // meanwhile main changes the same line (as another worker's land would)
        { bash: 'cd "$MAIN_REPO" && printf "hallo\\n" > greeting.txt && git commit -qam "b: greet in German"' },
        { text: 'Done.' },
      ],
    },
    {
      match: { promptIncludes: 'rebase conflict' },
      expect: { resume: true, promptIncludes: ['greeting.txt'] },
      steps: [{ write: { path: 'greeting.txt', content: 'bonjour\nhallo\n' } }, { bash: 'git add greeting.txt && git -c core.editor=true rebase --continue' }, { text: 'Kept both.' }],
    },
  ]);
  assert.is(o.r.code, 0, o.r.stderr + o.r.stdout + JSON.stringify(o.codex()));
  assert.is(await sh(o.repo, 'show', 'main:greeting.txt'), 'bonjour\nhallo');
  const [job, resolve] = o.codex();
  assert.equal(o.codex().map((c) => c.problems), [[], []]);
  assert.is(resolve!.resumed, true);
  assert.ok(resolve!.argv.includes(job!.sessionId!), `the resume names codex's own session ${job!.sessionId}: ${resolve!.argv.join(' ')}`);
  assert.is(resolve!.cwd, job!.cwd);
  assert.is(o.claude().length, 2, 'claude ran dispatch and the refused session only');
  assert.match(o.r.stdout, /conflict resolved in 1 round/);
});

test('a conflict resolution whose vendor refuses (quota) is not a failed round: nothing is parked, the rebase is undone and the branch keeps its commit', async () => {
  const o = await workerOnce('[claude, codex]', [choose('agent: implement', 'issue: issues/a.md'), halfDone], [
    {
      match: { promptIncludes: 'worked on this before' },
      steps: [
        { write: { path: 'greeting.txt', content: 'bonjour\n' } },
        { commit: 'a: greet in French' },
        { bash: 'cd "$MAIN_REPO" && printf "hallo\\n" > greeting.txt && git commit -qam "b: greet in German"' },
        { text: 'Done.' },
      ],
    },
    { match: { promptIncludes: 'rebase conflict' }, times: 'unlimited', refuse: { reason: 'quota' } },
  ]);
  const out = o.r.stderr + o.r.stdout;
  assert.match(out, /coven: the codex session resolving the conflict was refused \(quota: [^)]*\): the rebase is undone and coven\/w1 keeps its 2 commit\(s\)/, out);
  assert.not.match(out, /parked|did not fix|resolution rounds?/i, 'a refusal is not a failed round');
  assert.is(o.codex().filter((c) => c.resumed).length, 1, 'one resolution session, refused; not three rounds');
  assert.is(await sh(o.repo, 'log', '-1', '--format=%s', 'main'), 'b: greet in German');
  assert.is(await sh(o.repo, 'log', '-1', '--format=%s', 'coven/w1'), 'a: greet in French', 'the branch keeps its commits for the next land');
  assert.is(await sh(o.worktree, 'status', '--porcelain'), '', 'no rebase left open');
});

test('claude refused, then codex not installed: the job counts as refused (the worker waits and tries again), not as a missing CLI', async () => {
  const o = await workerOnce('[claude, codex]', [choose('agent: implement', 'issue: issues/a.md'), halfDone], null, { COVEN_CODEX: '/nonexistent/codex' });
  const out = o.r.stderr + o.r.stdout;
  assert.match(out, /agent implement has no fallback on codex: the agent CLI '\/nonexistent\/codex' does not exist/, out);
  assert.match(out, /coven: every CLI of agent implement refused \(claude: quota\); with --once the worker does not wait to try again/, out);
  assert.is(await sh(o.repo, 'log', '-1', '--format=%s', 'main'), 'half of a', 'what the refused session committed lands');
});

test('a CLI refused on several tries is one paragraph of the next prompt, with the commits of every try', () => {
  const h = (commits: string[], dirty: string[]) => ({ cli: 'claude' as const, label: 'Claude Code', refusal: { reason: 'quota' as const, message: 'out' }, commits, dirty });
  const list: Parameters<typeof addHandoff>[0] = [];
  addHandoff(list, h(['a1 first'], ['b.txt']));
  addHandoff(list, { ...h([], []), cli: 'codex', label: 'Codex' });
  addHandoff(list, h(['a2 second'], ['c.txt']));
  assert.equal(list.map((x) => x.cli), ['codex', 'claude']);
  assert.equal(list[1]!.commits, ['a1 first', 'a2 second']);
  assert.equal(list[1]!.dirty, ['c.txt'], 'what is uncommitted now');
  assert.is(handoffPrompt('x', list).match(/A Claude Code session worked on this before/g)?.length, 1);
});

test('an agent on one CLI only: every CLI refused, the worker says when it tries again, and the job is done after the wait', async () => {
  const o = await workerOnce(
    'claude',
    [
      choose('agent: implement', 'issue: issues/a.md'),
      halfDone,
      { match: { promptIncludes: 'worked on this before' }, expect: { promptIncludes: ['Implement the issue in issues/a.md', 'its quota ran out', 'half of a', 'b.txt'] }, steps: [{ commit: 'rest of a' }, { text: 'Done.' }] },
    ],
    null,
    { COVEN_REFUSED_RETRY_MS: '400' },
    {},
    ['--max-cycles', '1'],
  );
  assert.is(o.r.code, 0, o.r.stderr + o.r.stdout);
  assert.match(o.r.stderr, /coven: every CLI of agent implement refused \(claude: quota\); trying again at \d\d:\d\d \(in 400ms\)\. Nothing is lost/);
  assert.match(o.r.stdout, /coven: trying implement again/);
  assert.is(await sh(o.repo, 'log', '--format=%s', '-2', 'main'), 'rest of a\nhalf of a');
  assert.is(readFileSync(join(o.repo, 'b.txt'), 'utf8'), 'not committed yet\n', 'the change left uncommitted by the refused session was kept for the retry');
  assert.equal(o.claude().map((c) => c.problems), [[], [], []]);
});

test('dispatch on [claude, codex]: claude refused (overloaded), codex chooses the job, which runs on claude', async () => {
  const o = await workerOnce(
    'claude',
    [{ match: { promptIncludes: 'Choose the next job' }, refuse: { reason: 'overloaded' } }, { match: { promptIncludes: 'Implement the issue' }, steps: [{ write: { path: 'a.txt', content: 'a\n' } }, { commit: 'a' }] }],
    [{ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: implement\nissue: issues/a.md\n</dispatch>' }] }],
    {},
    { '.coven/agents/dispatch.md': '---\ndescription: chooses the next job\ncli: [claude, codex]\n---\nChoose the next job. Run coven issues.\n' },
  );
  assert.is(o.r.code, 0, o.r.stderr + o.r.stdout);
  assert.match(o.r.stdout, /coven: claude refused the dispatch session \(overloaded: .*\); dispatch goes on with codex in the same worktree\n/, o.r.stdout);
  assert.is(await sh(o.repo, 'log', '-1', '--format=%s', 'main'), 'a');
  assert.equal(o.codex().map((c) => c.problems), [[]]);
});

test('with --once the worker does not wait after every CLI refused: the cycle ends (exit 5) and what was committed lands', async () => {
  const o = await workerOnce('claude', [choose('agent: implement', 'issue: issues/a.md'), halfDone], null);
  assert.is(o.r.code, 0, o.r.stderr + o.r.stdout);
  assert.match(o.r.stderr, /coven: every CLI of agent implement refused \(claude: quota\); with --once the worker does not wait to try again/);
  assert.is(await sh(o.repo, 'log', '-1', '--format=%s', 'main'), 'half of a');
  const o2 = await workerOnce('claude', [choose('agent: implement', 'issue: issues/a.md'), { match: { promptIncludes: 'Implement the issue' }, refuse: { reason: 'auth' } }], null);
  assert.is(o2.r.code, 5, o2.r.stderr + o2.r.stdout);
  assert.match(o2.r.stderr, /every CLI of agent implement refused \(claude: auth\)/);
});

test('the steps by hand: run-agent records the CLI that ran last (codex after claude refused), and coven resolve resumes that codex session', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a'), 'greeting.txt': 'hello\n', '.coven/agents/implement.md': implementOn('[claude, codex]').replace('cli: [claude, codex]', 'cli: [claude, codex]\ncodex_args: ["-c", "model_reasoning_effort=low"]') });
  const claudeEnv = fakeClaudeEnv([{ ...halfDone, match: { promptIncludes: 'Implement the issue' } }]);
  const codexEnv = fakeCodexEnv([
    { match: { promptIncludes: 'worked on this before' }, steps: [{ write: { path: 'greeting.txt', content: 'bonjour\n' } }, { commit: 'a: greet in French' }] },
    { match: { promptIncludes: 'rebase conflict' }, expect: { resume: true }, steps: [{ write: { path: 'greeting.txt', content: 'bonjour\nhallo\n' } }, { bash: 'git add greeting.txt && git -c core.editor=true rebase --continue' }] },
  ]);
  const env = { ...claudeEnv, ...codexEnv, COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const wt = (await coven(['spawn', 'coven/w1'], { cwd: repo, env })).stdout.trim().split('\n').pop()!;
  const dir = tempDir('coven-steps-');
  const decision = join(dir, 'decision.json');
  const record = join(dir, 'session.json');
  writeFileSync(decision, JSON.stringify({ coven: 'decision/1', kind: 'run', agent: 'implement', args: { issue: 'issues/a.md' }, reasoning: '', worktree: wt, worker: 'w1', main_tip: '', session_id: null, cost_usd: 0, corrections: 0, at: new Date().toISOString() }));
  const ran = await coven(['run-agent', '--decision', decision, '--out', record], { cwd: wt, env });
  assert.is(ran.code, 0, ran.stderr + ran.stdout);
  const rec = JSON.parse(readFileSync(record, 'utf8')) as { cli: string; cli_args: string[]; session_id: string; detail: string };
  const [job] = readCodexLog(codexEnv);
  assert.equal([rec.cli, rec.cli_args, rec.session_id], ['codex', ['-c', 'model_reasoning_effort=low'], job!.sessionId]);
  assert.match(rec.detail, /^refused: claude \(quota\)/);

  await commitFile(repo, 'greeting.txt', 'hallo\n', 'b: greet in German');
  const land = await coven(['land', '--keep'], { cwd: wt, env });
  assert.is(land.code, 3, land.stderr + land.stdout);
  const resolved = await coven(['resolve', '--session', record], { cwd: wt, env });
  assert.is(resolved.code, 0, resolved.stderr + resolved.stdout);
  assert.match(resolved.stdout, /resuming codex session /);
  const [, resume] = readCodexLog(codexEnv);
  assert.equal(resume!.problems, []);
  assert.ok(resume!.resumed && resume!.argv.includes(job!.sessionId!), resume!.argv.join(' '));
  assert.is(resume!.cwd, wt);
  assert.is(await sh(repo, 'show', 'main:greeting.txt'), 'bonjour\nhallo');
});

test('every CLI of the dispatch agent refused: the worker says when it tries again, and dispatches then', async () => {
  const o = await workerOnce(
    'claude',
    [
      { match: { promptIncludes: 'Choose the next job' }, refuse: { reason: 'rate-limit' } },
      choose('agent: implement', 'issue: issues/a.md'),
      { match: { promptIncludes: 'Implement the issue' }, steps: [{ write: { path: 'a.txt', content: 'a\n' } }, { commit: 'a' }] },
    ],
    null,
    { COVEN_REFUSED_RETRY_MS: '300' },
    {},
    ['--max-cycles', '1'],
  );
  assert.is(o.r.code, 0, o.r.stderr + o.r.stdout);
  assert.match(o.r.stderr, /coven: every CLI of agent dispatch refused \(claude: rate-limit\); trying again at \d\d:\d\d \(in 300ms\)/);
  assert.is(await sh(o.repo, 'log', '-1', '--format=%s', 'main'), 'a');
});

test('a session record names the CLI that ran last; one without it, or with the command as older ones have, means claude', () => {
  const record = { coven: 'session/1', agent: 'implement', args: {}, session_id: 's1', cwd: '/wt', branch: 'coven/w1', worker: 'w1', outcome: 'success', started_at: 'a', ended_at: 'b' };
  assert.is(cliOfRecord(SessionRecordSchema.parse({ ...record, cli: 'codex' })), 'codex');
  assert.is(cliOfRecord(SessionRecordSchema.parse(record)), 'claude');
  assert.is(cliOfRecord(SessionRecordSchema.parse({ ...record, cli: '/usr/local/bin/claude' })), 'claude');
});

test('the worker does not start when none of the dispatch agent\'s CLIs is there; it names each, its env var and install command', async () => {
  const repo = await covenRepo({ '.coven/agents/dispatch.md': '---\ndescription: chooses\ncli: [codex, claude]\n---\nChoose the next job.\n' });
  const base = tempDir('coven-wt-');
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env: { COVEN_CLAUDE: '/nowhere/claude', COVEN_CODEX: '/nowhere/codex', COVEN_WORKTREE_BASE: base } });
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /none of the dispatch agent's CLIs \(codex, claude\) can run/);
  assert.match(r.stderr, /the agent CLI '\/nowhere\/codex' does not exist/);
  assert.match(r.stderr, /COVEN_CODEX=\/path\/to\/codex coven worker/);
  assert.match(r.stderr, /COVEN_CLAUDE=\/path\/to\/claude coven worker/);
  assert.match(r.stderr, /npm install -g @openai\/codex/);
  assert.match(r.stderr, /Nothing was created or changed/);
});

test('a missing first CLI with a later one there is a warning; the job starts on the later one', async () => {
  const o = await workerOnce(
    '[codex, claude]',
    [choose('agent: implement', 'issue: issues/a.md'), { match: { promptIncludes: 'Implement the issue' }, steps: [{ write: { path: 'a.txt', content: 'a\n' } }, { commit: 'a' }] }],
    null,
    { COVEN_CODEX: '/nowhere/codex' },
  );
  assert.is(o.r.code, 0, o.r.stderr + o.r.stdout);
  assert.match(o.r.stderr, /coven: agent implement starts on claude: the agent CLI '\/nowhere\/codex' does not exist/);
  assert.is(await sh(o.repo, 'log', '-1', '--format=%s', 'main'), 'a');
});

test.run();
