// real-cli-worker — full `coven worker` cycles through the real Claude Code CLI (pinned,
// installed from the npm registry into a cache folder) against the scripted mock
// Messages API, and the same scenario through the fake claude; then the events coven
// consumed from each are compared: any difference is a bug in the fake.
//
// The scenario: two workers on one repository. Worker b dispatches (the model runs
// `coven issues` through the Bash tool and picks issues/b.md), and its agent starts,
// but the model takes its time. Meanwhile worker a runs a whole cycle: dispatch, an
// agent that changes the line of greeting.txt and commits it with git through the
// Bash tool, land. Then b's agent changes the same line and commits; its land stops on
// a rebase conflict; coven resumes b's session (same session id, same cwd), the model
// merges both lines and runs `git -c core.editor=true rebase --continue`, and coven
// lands it. Main ends with both commits and both lines.
//
//   env:  COVEN_REAL_CLI=1 to run (`npm run test:real-cli`); otherwise the real-CLI
//         tests are skipped with a message (the fake's run still runs). With it, they
//         are skipped only when the registry is unreachable, and fail when the CLI is
//         missing for any other reason (real-cli/gate.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseStreamLine } from '../scripts/lib/session/stream-json.js';
import { encodeProjectPath } from '../fakes/claude.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun } from './helpers/fake-claude.js';
import { coven, sh, tempDir, type Run } from './helpers/repo.js';
import { realCli, realCliTests } from './real-cli/gate.js';
import { bash, conversation, say, startMockMessagesApi, text, type MockApi, type Play, type Turn } from './real-cli/mock-messages-api.js';
import { claudeEnv } from './real-cli/run-claude.js';

// nothing from a real account may reach the workers (coven passes its env on to sessions)
for (const k of Object.keys(process.env)) if (/^(ANTHROPIC_|CLAUDE)/.test(k)) delete process.env[k];

// a check that was asked for (COVEN_REAL_CLI=1) fails unless the registry is unreachable (real-cli/gate.ts)
const cli = await realCli('claude', 'run a worker cycle through the real Claude Code CLI');
const realTest = realCliTests('real-cli-worker', cli);

// ---------------------------------------------------------------- the repository

const agents = {
  '.coven/agents/dispatch.md': `---
description: chooses the next job
claude_args: ["--allowedTools=Bash(coven issues *)"]
---
Choose the next job for this worker: run \`coven issues\`, take an issue no other worker has, answer with a <dispatch> block.
`,
  '.coven/agents/implement.md': `---
description: implements one issue
args:
  - name: issue
    description: path of the issue file
claude_args: ["--allowedTools=Bash(git *),Read,Edit,Write"]
---
Implement the issue in {{issue}}, then commit your work with git.
`,
};
const files = { ...agents, 'issues/a.md': issueFile('Greet from a'), 'issues/b.md': issueFile('Greet from b'), 'greeting.txt': 'hello\n' };

// ---------------------------------------------------------------- the scenario, for both

const DISPATCH = 'Choose the next job for this worker';
const IMPLEMENT = (issue: string) => `Implement the issue in ${issue}`;
const CONFLICT = 'stopped on a rebase conflict';
const LOOK = 'Looking at the issues.';
const choose = (issue: string) => `${issue} is free; taking it.\n<dispatch>\nagent: implement\nissue: ${issue}\n</dispatch>`;
const greet = (who: string) => `printf 'hello from ${who}\\n' > greeting.txt && git add greeting.txt && git commit -q -m '${who}: greeting'`;
const MERGE = "printf 'hello from a\\nhello from b\\n' > greeting.txt && git add greeting.txt && git -c core.editor=true rebase --continue";
const WRITING = 'Changing greeting.txt and committing it.';
const COMMITTED = 'Committed greeting.txt.';
const MERGING = 'Keeping both greetings, then finishing the rebase.';
const RESOLVED = 'Resolved; the rebase is finished.';

/** The mock's replies (the real CLI). b's agent answers only once `gate` exists. */
function plays(gate: string): Play[] {
  const dispatchOf = (worker: string) => (t: Turn) => t.prompt.includes(DISPATCH) && (t.cwd ?? '').endsWith(`/coven/${worker}`);
  // the model picks its issue only if `coven issues` really ran and listed it
  const pick = (issue: string) => (t: Turn) => {
    const listed = t.toolResults.some((r) => !r.isError && r.content.includes(issue));
    return listed ? say(text(choose(issue))) : say(text(`coven issues did not list ${issue}: ${JSON.stringify(t.toolResults)}`));
  };
  return [
    { when: dispatchOf('a'), replies: [say(text(LOOK), bash('coven issues', 'list the issues')), pick('issues/a.md')] },
    { when: dispatchOf('b'), replies: [say(text(LOOK), bash('coven issues', 'list the issues')), pick('issues/b.md')] },
    { when: IMPLEMENT('issues/a.md'), replies: [say(text(WRITING), bash(greet('a'), 'commit the greeting')), say(text(COMMITTED))] },
    {
      when: IMPLEMENT('issues/b.md'),
      replies: [
        async () => {
          await until(() => existsSync(gate), 240_000);
          return say(text(WRITING), bash(greet('b'), 'commit the greeting'));
        },
        say(text(COMMITTED)),
      ],
    },
    { when: CONFLICT, replies: [say(text(MERGING), bash(MERGE, 'merge and continue the rebase')), say(text(RESOLVED))] },
  ];
}

/** The same sessions for the fake. */
function fakeRuns(gate: string): FakeRun[] {
  const dispatchOf = (worker: string, issue: string): FakeRun => ({
    match: { promptIncludes: DISPATCH, cwdIncludes: `/coven/${worker}` },
    steps: [{ text: LOOK }, { bash: 'coven issues', description: 'list the issues' }, { text: choose(issue) }],
  });
  const greetSteps = (who: string) => [{ text: WRITING }, { bash: greet(who), description: 'commit the greeting' }, { text: COMMITTED }];
  return [
    dispatchOf('a', 'issues/a.md'),
    dispatchOf('b', 'issues/b.md'),
    { match: { promptIncludes: IMPLEMENT('issues/a.md') }, expect: { resume: false }, steps: greetSteps('a') },
    { match: { promptIncludes: IMPLEMENT('issues/b.md') }, expect: { resume: false }, steps: [{ wait_for_file: gate, timeout_ms: 240_000 }, ...greetSteps('b')] },
    {
      match: { promptIncludes: CONFLICT },
      expect: { resume: true, cwdIncludes: '/coven/b', historyIncludes: [IMPLEMENT('issues/b.md'), "git commit -q -m 'b: greeting'"] },
      steps: [{ text: MERGING }, { bash: MERGE, description: 'merge and continue the rebase' }, { text: RESOLVED }],
    },
  ];
}

// ---------------------------------------------------------------- running it

interface Side {
  repo: string;
  base: string;
  a: Run;
  b: Run;
  /** worker → its session logs (file name → raw lines), in order */
  logs: Record<string, Record<string, string[]>>;
}

async function until(ready: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) return false;
    await delay(50);
  }
  return true;
}

function phaseOf(repo: string, worker: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(repo, '.git', 'coven', 'workers', `${worker}.json`), 'utf8')) as { phase?: string }).phase ?? null;
  } catch {
    return null; // not written yet, or being replaced
  }
}

function sessionLogs(repo: string, worker: string): Record<string, string[]> {
  const dir = join(repo, '.git', 'coven', 'logs', worker);
  const out: Record<string, string[]> = {};
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).sort()) out[f] = readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l.trim());
  return out;
}

const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** b starts and dispatches; while its agent waits on `gate`, a runs a whole cycle; then b goes on. */
async function runScenario(env: NodeJS.ProcessEnv, gate: string): Promise<Side> {
  const repo = await covenRepo(files);
  const base = tempDir('coven-wt-');
  const workerEnv = { ...env, COVEN_WORKTREE_BASE: base };
  const worker = (name: string) => coven(['worker', '--once', '--name', name, '--timeout', '4'], { cwd: repo, env: workerEnv, timeoutMs: 300_000 });
  let bDone: Run | null = null;
  const b = worker('b').then((r) => (bDone = r));
  let a: Run;
  try {
    await until(() => bDone !== null || phaseOf(repo, 'b') === 'running', 120_000);
    assert.is(phaseOf(repo, 'b'), 'running', `worker b never reached its agent: ${bDone ? show(bDone) : 'still running'}`);
    a = await worker('a');
  } finally {
    writeFileSync(gate, ''); // b's model may answer now
  }
  return { repo, base, a, b: await b, logs: { a: sessionLogs(repo, 'a'), b: sessionLogs(repo, 'b') } };
}

/** What both runs must have done to the repository. */
async function assertLanded(side: Side, what: string): Promise<void> {
  const { repo, a, b } = side;
  assert.is(a.code, 0, `${what}: worker a\n${show(a)}`);
  assert.is(b.code, 0, `${what}: worker b\n${show(b)}`);
  assert.match(a.stdout, /landed 1 commit\(s\) on main/, `${what}: a`);
  assert.match(b.stdout, /conflict resolved in 1 round\(s\)/, `${what}: b`);
  assert.match(b.stdout, /landed 1 commit\(s\) on main/, `${what}: b`);
  assert.equal((await sh(repo, 'log', '--format=%s', 'main')).split('\n'), ['b: greeting', 'a: greeting', 'coven agents', 'initial commit'], `${what}: main's history`);
  assert.is(await sh(repo, 'show', 'main:greeting.txt'), 'hello from a\nhello from b', `${what}: main's greeting.txt`);
  // the user's checkout moved with main, and nothing is left behind
  assert.is(readFileSync(join(repo, 'greeting.txt'), 'utf8'), 'hello from a\nhello from b\n');
  assert.is(await sh(repo, 'status', '--porcelain'), '');
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
  assert.is(await sh(repo, 'worktree', 'list', '--porcelain').then((l) => l.split('\n').filter((x) => x.startsWith('worktree ')).length), 1);
  assert.equal(Object.keys(side.logs.a ?? {}), ['001-dispatch.jsonl', '002-implement.jsonl'], `${what}: a's sessions`);
  assert.equal(Object.keys(side.logs.b ?? {}), ['001-dispatch.jsonl', '002-implement.jsonl', '003-implement-resolve.jsonl'], `${what}: b's sessions`);
  // the resolution prompt (as the CLI echoed it) shows what main gained: a's commit
  const echoed = (side.logs.b?.['003-implement-resolve.jsonl'] ?? []).map((l) => JSON.parse(l) as { type: string; isReplay?: boolean; message?: { content?: unknown } }).find((e) => e.type === 'user' && e.isReplay);
  assert.match(String(echoed?.message?.content), /\(the other side\):\n- [0-9a-f]+ a: greeting\n/, `${what}: the resolution prompt`);
  // the resolution resumed b's agent session: same id from init to result
  const ids = (file: string) => [...new Set((side.logs.b?.[file] ?? []).map((l) => (JSON.parse(l) as { session_id?: string }).session_id))];
  assert.is(ids('002-implement.jsonl').length, 1);
  assert.equal(ids('003-implement-resolve.jsonl'), ids('002-implement.jsonl'), `${what}: the resolve session is b's agent session`);
}

function sessionIdOf(lines: string[] | undefined): string {
  const id = (JSON.parse(lines?.[0] ?? '{}') as { session_id?: string }).session_id;
  assert.type(id, 'string');
  return id!;
}

const worktreeOf = (side: Side, worker: string) => join(side.base, 'project', 'coven', worker);

// ---------------------------------------------------------------- what coven consumed

/**
 * What coven reads from one session log, event by event: the raw type/subtype, then
 * coven's own parse of the line (scripts/lib/stream-json.ts), with what differs between
 * any two runs replaced by its kind (ids → labels in order of appearance, times →
 * "number", paths → <wt>, free text that is not the model's → its first line). Costs
 * stay: the mock's usage and the fake's price per model call give the same figures.
 * Pass one `labels` map for all the sessions of a worker, so a resume shows as the same
 * session.
 */
function consumedEvents(lines: string[], worktree: string, labels = new Map<string, string>()): unknown[] {
  const label = (prefix: string, id: string | undefined) => {
    if (id === undefined) return 'absent';
    if (!labels.has(`${prefix}${id}`)) labels.set(`${prefix}${id}`, `${prefix}${[...labels.keys()].filter((k) => k.startsWith(prefix)).length + 1}`);
    return labels.get(`${prefix}${id}`);
  };
  const kind = (v: unknown) => (v === undefined ? 'absent' : v === null ? 'null' : typeof v);
  const scrub = (v: unknown): unknown => JSON.parse(JSON.stringify(v ?? null).replaceAll(worktree, '<wt>'));
  return lines.map((line) => {
    const raw = JSON.parse(line) as { type?: string; subtype?: string; session_id?: string; tools?: unknown };
    const head = `${raw.type}${raw.subtype ? `/${raw.subtype}` : ''}`;
    const parsed = parseStreamLine(line);
    if (!parsed.ok) return { head, parsed: parsed.reason };
    const e = parsed.event;
    const session = label('session-', raw.session_id);
    switch (e.kind) {
      case 'init':
        return { head, kind: e.kind, session, sessionId: label('session-', e.sessionId), cwd: scrub(e.cwd), model: e.model, permissionMode: e.permissionMode, tools: raw.tools };
      case 'assistant':
        return {
          head,
          kind: e.kind,
          session,
          message: label('message-', e.messageId),
          subagent: e.subagent,
          error: e.error ?? 'absent',
          blocks: e.blocks.map((b) => (b.type === 'tool_use' ? { type: b.type, id: kind(b.id), name: b.name, input: scrub(b.input) } : b)),
        };
      case 'tool-results':
        return { head, kind: e.kind, session, subagent: e.subagent, results: e.results.map((r) => ({ toolUseId: kind(r.toolUseId), isError: r.isError, text: kind(r.text) })) };
      case 'user':
        return { head, kind: e.kind, session, replay: e.replay, firstLine: e.text.split('\n')[0] };
      case 'result': {
        const r = e.result;
        return {
          head,
          kind: e.kind,
          session,
          subtype: r.subtype,
          isError: r.isError,
          sessionId: label('session-', r.sessionId),
          text: r.text ?? 'absent',
          errors: r.errors,
          costUsd: Math.round(r.costUsd * 1e8) / 1e8,
          turns: r.turns,
          durationMs: kind(r.durationMs),
          apiErrorStatus: r.apiErrorStatus ?? 'absent',
          permissionDenials: r.permissionDenials,
        };
      }
      default:
        return { head, kind: e.kind, session };
    }
  });
}

// ---------------------------------------------------------------- the tests

let real: Side | null = null;
let api: MockApi | null = null;
let configDir = '';
let fake: Side | null = null;

realTest('real CLI: worker a dispatches, commits through Bash and lands; worker b conflicts, resumes its session, resolves and lands', async () => {
    const gate = join(tempDir('coven-gate-'), 'open');
    api = await startMockMessagesApi(conversation(plays(gate)));
    try {
      const home = tempDir('coven-claude-home-');
      configDir = join(home, '.claude');
      real = await runScenario(claudeEnv(api.url, home, { COVEN_CLAUDE: cli.kind === 'run' ? cli.bin : '' }), gate);
    } finally {
      await api.close();
    }
    await assertLanded(real, 'real CLI');

    // the model saw `coven issues` list the issues (coven's shim was on the session's PATH)
    const turns = api.agentTurns();
    const listings = turns.filter((t) => t.prompt.includes(DISPATCH) && t.step === 1).flatMap((t) => t.toolResults);
    assert.is(listings.length, 2);
    for (const l of listings) assert.match(l.content, /issues\/a\.md[\s\S]*issues\/b\.md/);

    // the resolution is a resume of b's agent session: its id in the header, its history in the request
    const bSession = sessionIdOf(real.logs.b?.['002-implement.jsonl']);
    const resolve = turns.filter((t) => t.prompt.includes(CONFLICT));
    assert.is(resolve.length, 2, 'two model calls: the merge, then the final text');
    for (const t of resolve) {
      assert.is(t.sessionId, bSession, 'x-claude-code-session-id of the resumed session');
      assert.is(t.cwd, worktreeOf(real, 'b'));
    }
    const history = JSON.stringify(resolve[0]?.request.messages ?? []);
    assert.ok(history.includes(IMPLEMENT('issues/b.md')), 'the resumed request carries b\'s first prompt');
    assert.ok(history.includes(JSON.stringify(greet('b')).slice(1, -1)), 'the resumed request carries b\'s commit command');
    const implementB = turns.filter((t) => t.prompt.includes(IMPLEMENT('issues/b.md')));
    assert.ok(implementB.length === 2 && implementB.every((t) => t.sessionId === bSession));

    // the CLI kept one transcript for b's session, in the project folder of b's worktree
    const transcript = join(configDir, 'projects', encodeProjectPath(worktreeOf(real, 'b')), `${bSession}.jsonl`);
    assert.ok(existsSync(transcript), `no transcript at ${transcript}`);
    const kept = readFileSync(transcript, 'utf8');
    assert.ok(kept.includes(IMPLEMENT('issues/b.md')) && kept.includes(CONFLICT), 'the transcript holds both prompts');
});

test('fake claude: the same scenario lands both workers, b through a resumed session', async () => {
  const dir = tempDir('coven-fake-');
  const gate = join(dir, 'open');
  const env = fakeClaudeEnv(fakeRuns(gate), dir);
  fake = await runScenario({ ...process.env, ...env }, gate);
  await assertLanded(fake, 'fake');
  const calls = readFakeLog(env);
  assert.equal(calls.flatMap((c) => c.problems), []);
  const resolve = calls.find((c) => c.prompts.some((p) => p.includes(CONFLICT)));
  const implementB = calls.find((c) => c.prompts.some((p) => p.includes(IMPLEMENT('issues/b.md'))));
  assert.ok(resolve && implementB);
  assert.is(resolve.argv[resolve.argv.indexOf('--resume') + 1], implementB.sessionId);
  assert.is(resolve.cwd, implementB.cwd);
  assert.is(resolve.cwd, worktreeOf(fake, 'b'));
});

realTest('the fake gives coven the same events and fields as the real CLI, session by session', () => {
  assert.ok(real && fake, 'needs both runs');
  if (!real || !fake) return;
  for (const worker of ['a', 'b']) {
    const realLogs = real.logs[worker] ?? {};
    const fakeLogs = fake.logs[worker] ?? {};
    assert.equal(Object.keys(fakeLogs), Object.keys(realLogs), `worker ${worker}: sessions`);
    const realLabels = new Map<string, string>();
    const fakeLabels = new Map<string, string>();
    for (const [file, lines] of Object.entries(realLogs)) {
      const want = consumedEvents(lines, worktreeOf(real, worker), realLabels);
      const got = consumedEvents(fakeLogs[file] ?? [], worktreeOf(fake, worker), fakeLabels);
      assert.equal(got, want, `${worker}/${file}: what coven consumed (fake vs real)`);
    }
  }
});

test.run();
