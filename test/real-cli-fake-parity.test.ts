// real-cli-fake-parity — the session runner driving the real Claude Code CLI (pinned,
// against the scripted mock Messages API) and driving the fake claude give the same
// outcome, the same sequence of events in the session log, and the same tool results,
// scenario by scenario: tool use and a commit, permission answers, file tools, error
// results, steering messages mid-turn and at the end of a turn, resume in the same and
// in another cwd, abort while a tool runs, a usage error, each refusal (quota, rate limit,
// auth, overloaded). This is what keeps the fake
// (fakes/claude.ts) faithful.
//
//   env:  COVEN_REAL_CLI=1 to run (`npm run test:real-cli`); otherwise skipped (see real-cli/gate.ts).
//         PARITY_DEBUG=<file>: append both sides of every scenario to <file> (JSON lines)

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSession, type SessionOptions, type SessionOutcome } from '../scripts/lib/session/runner.js';
import { fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { run, sh, tempDir, tempRepo } from './helpers/repo.js';
import { realCli, realCliTests } from './real-cli/gate.js';
import { apiError, bash, conversation, say, startMockMessagesApi, text, type MockApi, type Play, type Reply } from './real-cli/mock-messages-api.js';
import { claudeEnv } from './real-cli/run-claude.js';

// a check that was asked for (COVEN_REAL_CLI=1) fails unless the registry is unreachable (real-cli/gate.ts)
const cli = await realCli('claude', 'compare the fake with the real Claude Code CLI');
const realTest = realCliTests('real-cli-fake-parity', cli);

type Json = Record<string, unknown>;

interface Scenario {
  name: string;
  /** the mock's replies to this scenario's prompt (the real CLI) */
  replies: Play['replies'];
  /** the same session for the fake */
  run: FakeRun;
  opts?: Partial<SessionOptions>;
  /** drives the session while it runs (steering, abort) */
  drive?: (h: ReturnType<typeof startSession>, line: string) => void;
  /** sends a steering message as soon as the session id is known */
  steerAtInit?: string;
  /** text of a command line that must not be running once the session is over */
  leftover?: string;
}

const fileTool = (name: string, input: (cwd: string) => Json): ((turn: { cwd: string | null }) => Reply) => (turn) => say({ type: 'tool_use', name, input: input(turn.cwd ?? '') });

const scenarios: Scenario[] = [
  {
    name: 'tool use and a commit',
    replies: [say(text('Writing a.txt.'), bash("printf 'a\\n' > a.txt && git add -A && git commit -q -m 'add a'", 'commit a.txt')), say(text('Committed a.txt.'))],
    run: { steps: [{ text: 'Writing a.txt.' }, { bash: "printf 'a\\n' > a.txt && git add -A && git commit -q -m 'add a'", description: 'commit a.txt' }, { text: 'Committed a.txt.' }] },
    opts: { cliArgs: ['--allowedTools=Bash(git *)'] },
  },
  {
    name: 'permission answers',
    replies: ['git status --short', 'node -e 1', 'touch t.txt', 'echo a > /tmp/coven-parity-outside.txt', 'git push origin main', 'ls && node -e 1', 'cat README.md | wc -l'].map((c) => say(bash(c))).concat([say(text('Tried them all.'))]),
    run: { steps: ['git status --short', 'node -e 1', 'touch t.txt', 'echo a > /tmp/coven-parity-outside.txt', 'git push origin main', 'ls && node -e 1', 'cat README.md | wc -l'].map((c) => ({ bash: c, description: 'run a command' })), result: { text: 'Tried them all.' } },
    opts: { cliArgs: ['--allowedTools=Bash(git *)', '--disallowedTools=Bash(git push *)'] },
  },
  {
    name: 'file tools',
    replies: [
      fileTool('Write', (cwd) => ({ file_path: `${cwd}/b.txt`, content: 'one\ntwo\n' })),
      fileTool('Edit', (cwd) => ({ file_path: `${cwd}/README.md`, old_string: 'test', new_string: 'edited' })),
      fileTool('Read', (cwd) => ({ file_path: `${cwd}/README.md` })),
      fileTool('Edit', (cwd) => ({ file_path: `${cwd}/README.md`, old_string: 'test', new_string: 'edited' })),
      fileTool('Edit', (cwd) => ({ file_path: `${cwd}/b.txt`, old_string: 'two', new_string: 'three' })),
      say(text('Edited.')),
    ],
    run: {
      steps: [
        { write: { path: 'b.txt', content: 'one\ntwo\n' } },
        { edit: { path: 'README.md', old: 'test', new: 'edited' } },
        { read: 'README.md' },
        { edit: { path: 'README.md', old: 'test', new: 'edited' } },
        { edit: { path: 'b.txt', old: 'two', new: 'three' } },
        { text: 'Edited.' },
      ],
    },
  },
  {
    name: 'max turns',
    replies: [say(text('Running step 1.'), bash('echo 1', 'step 1')), say(text('never reached'))],
    run: { steps: [{ text: 'Running step 1.' }, { bash: 'echo 1', description: 'step 1' }, { text: 'never reached' }] },
    opts: { cliArgs: ['--allowedTools=Bash', '--max-turns', '1'] },
  },
  { name: 'api error', replies: [apiError(400, 'mock error 400')], run: { api_error: { status: 400, message: 'mock error 400' } } },
  {
    name: 'steering mid-turn',
    replies: [say(text('working on it'), bash('sleep 2', 'wait')), say(text('did both'))],
    run: { steps: [{ text: 'working on it' }, { wait_for_message: 20_000 }, { bash: 'sleep 2', description: 'wait' }, { text: 'did both' }] },
    opts: { cliArgs: ['--allowedTools=Bash'] },
    drive: (h, line) => {
      if (line.includes('working on it')) h.send('STEER mid-turn: use tabs');
    },
  },
  {
    name: 'steering at the end of a turn',
    replies: [{ ...say(text('first turn over')), delayMs: 1500 }],
    run: { steps: [{ wait_for_message: 20_000 }, { text: 'first turn over' }] },
    steerAtInit: 'STEER at the end: and spaces',
  },
  {
    name: 'abort while a tool runs',
    replies: [say(text('Sleeping.'), bash('sleep 31.5', 'sleep')), say(text('woke up'))],
    run: { steps: [{ text: 'Sleeping.' }, { bash: 'sleep 31.5', description: 'sleep' }, { text: 'woke up' }] },
    opts: { cliArgs: ['--allowedTools=Bash'] },
    drive: (h, line) => {
      if (line.includes('Bash: sleep 31.5')) setTimeout(() => h.abort(), 500);
    },
    leftover: 'sleep 31.5',
  },
  { name: 'usage error', replies: [], run: {}, opts: { cliArgs: ['--frobnicate'] } },
  // refusals: what the CLI prints for each, and the session stopped at the first sign (the real CLI would retry for minutes)
  { name: 'refused: rate limit', replies: [apiError(429, "This request would exceed your organization's rate limit of 50 requests per minute.", 'rate_limit_error')], run: { refuse: { reason: 'rate-limit' } } },
  { name: 'refused: overloaded', replies: [apiError(529, 'Overloaded', 'overloaded_error')], run: { refuse: { reason: 'overloaded' } } },
  { name: 'refused: auth', replies: [apiError(401, 'invalid x-api-key', 'authentication_error')], run: { refuse: { reason: 'auth' } } },
  { name: 'refused: quota', replies: [apiError(400, 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.')], run: { refuse: { reason: 'quota' } } },
];
const extraPlays: Play[] = [
  { when: 'STEER at the end', replies: [say(text('steered as asked'))] },
  { when: 'scenario: resume-first', replies: [say(text('ok'))] },
  { when: 'resume:', replies: [say(text('resumed'))] },
];

interface Side {
  outcome: unknown;
  events: string[];
  toolResults: unknown[];
  repo: string;
}

let api: MockApi | null = null;
let realEnv: NodeJS.ProcessEnv = {};

if (cli.kind === 'run') {
  const claude = cli.bin;
  test.before(async () => {
    const plays: Play[] = [...extraPlays, ...scenarios.map((s) => ({ when: `scenario: ${s.name}`, replies: s.replies }))];
    api = await startMockMessagesApi(conversation(plays));
    realEnv = claudeEnv(api.url, tempDir('coven-claude-home-'), { COVEN_CLAUDE: claude });
  });
  test.after(async () => {
    await api?.close();
  });
}

/** Event labels of a session log: `system/init`, `assistant/tool_use`, `user/replay`, `result/success`… */
function logEvents(file: string): { labels: string[]; toolResults: unknown[] } {
  const labels: string[] = [];
  const toolResults: unknown[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const e = JSON.parse(line) as Json;
    const content = (e.message as Json | undefined)?.content;
    if ((e.type === 'assistant' || e.type === 'user') && Array.isArray(content)) {
      labels.push(`${String(e.type)}/${(content as Json[]).map((b) => String(b.type)).join('+')}`);
      for (const b of content as Json[]) if (b.type === 'tool_result') toolResults.push({ content: b.content, is_error: b.is_error });
    } else if (e.type === 'user' && e.isReplay) labels.push('user/replay');
    else labels.push(`${String(e.type)}${e.subtype ? `/${String(e.subtype)}` : ''}`);
  }
  return { labels, toolResults };
}

/** The outcome without what differs between any two runs (ids, costs, times, temp paths). */
function comparable(o: SessionOutcome, repo: string): unknown {
  const scrub = (v: unknown): unknown => JSON.parse(JSON.stringify(v).replaceAll(repo, '<repo>').replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>'));
  switch (o.kind) {
    case 'success':
      return scrub({ kind: o.kind, text: o.text, sessionId: Boolean(o.sessionId) });
    case 'agent-error':
      return scrub({ kind: o.kind, subtype: o.subtype, errors: o.errors, text: o.text });
    case 'crashed':
      return scrub({ kind: o.kind, exitCode: o.exitCode, signal: o.signal, stderrTail: o.stderrTail, sessionId: Boolean(o.sessionId) });
    case 'aborted':
    case 'timed-out':
      return { kind: o.kind, sessionId: Boolean(o.sessionId) };
    case 'refused':
      return { kind: o.kind, refusal: o.refusal, sessionId: Boolean(o.sessionId), costUsd: o.costUsd };
    default:
      return o;
  }
}

async function runSide(env: NodeJS.ProcessEnv, s: Scenario, more: Partial<SessionOptions> = {}, repo?: string): Promise<Side & { sessionId?: string }> {
  const cwd = repo ?? (await tempRepo('parity'));
  const logFile = join(tempDir(), 'session.jsonl');
  let steered = false;
  const handle = startSession({
    cwd,
    prompt: `scenario: ${s.name}`,
    env,
    logFile,
    timeoutMs: 120_000,
    ...s.opts,
    ...more,
    display: (line) => s.drive?.(handle, line),
  });
  if (s.steerAtInit) {
    const text = s.steerAtInit;
    const poll = setInterval(() => {
      if (!steered && handle.sessionId()) {
        steered = true;
        handle.send(text);
        clearInterval(poll);
      }
    }, 10);
    void handle.outcome.then(() => clearInterval(poll));
  }
  const outcome = await handle.outcome;
  if (s.leftover) {
    const ps = await run('ps', ['-A', '-o', 'args=']);
    assert.not.ok(ps.stdout.split('\n').some((l) => l.includes(s.leftover!)), `${s.name}: "${s.leftover}" still runs`);
  }
  const { labels, toolResults } = logEvents(logFile);
  const scrub = (v: unknown): unknown => JSON.parse(JSON.stringify(v).replaceAll(cwd, '<repo>'));
  return { outcome: comparable(outcome, cwd), events: labels, toolResults: scrub(toolResults) as unknown[], repo: cwd, ...('sessionId' in outcome && outcome.sessionId ? { sessionId: outcome.sessionId } : {}) };
}

for (const s of scenarios) {
  realTest(`same outcome, events and tool results from the real CLI and the fake: ${s.name}`, async () => {
    const real = await runSide(realEnv, s);
    const fakeEnv = fakeClaudeEnv([s.run, { match: { promptIncludes: 'STEER at the end' }, steps: [{ text: 'steered as asked' }] }]);
    const fake = await runSide({ ...process.env, ...fakeEnv }, s);
    if (process.env.PARITY_DEBUG) appendFileSync(process.env.PARITY_DEBUG, `${JSON.stringify({ name: s.name, real, fake })}\n`);
    assert.equal(fake.outcome, real.outcome, `${s.name}: outcome`);
    assert.equal(fake.events, real.events, `${s.name}: events`);
    assert.equal(fake.toolResults, real.toolResults, `${s.name}: tool results`);
    assert.is(await sh(fake.repo, 'status', '--porcelain'), await sh(real.repo, 'status', '--porcelain'), `${s.name}: worktree`);
    assert.is(await sh(fake.repo, 'log', '--format=%s'), await sh(real.repo, 'log', '--format=%s'), `${s.name}: commits`);
  });
}

realTest('same resume behaviour: the same cwd keeps the session, another cwd finds nothing', async () => {
  const first: Scenario = { name: 'resume-first', replies: [], run: {} };
  const sides = [];
  for (const env of [realEnv, { ...process.env, ...fakeClaudeEnv([{ steps: [{ text: 'ok' }] }, { steps: [{ text: 'resumed' }] }]) }]) {
    const a = await runSide(env, { ...first, name: 'resume-first' });
    assert.ok(a.sessionId);
    const b = await runSide(env, { ...first, name: 'resume: again' }, { resume: a.sessionId }, a.repo);
    const c = await runSide(env, { ...first, name: 'resume: elsewhere' }, { resume: a.sessionId }, tempDir());
    sides.push({ b, c, same: b.sessionId === a.sessionId });
  }
  const [real, fake] = sides;
  assert.ok(real?.same, 'real: the resumed session keeps its id');
  assert.ok(fake?.same, 'fake: the resumed session keeps its id');
  assert.equal(fake?.b.outcome, real?.b.outcome);
  assert.equal(fake?.b.events, real?.b.events);
  assert.equal(fake?.c.outcome, real?.c.outcome);
  assert.equal(fake?.c.events, real?.c.events);
});

test.run();
