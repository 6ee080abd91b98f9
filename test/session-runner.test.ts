// session-runner — each outcome of a session, with the fake claude really running in a
// temp repository: missing CLI, usage error, error results, crash, abort, timeout (no
// orphan left), a late result after an abort or a timeout, a signal from outside, junk
// and split lines, a huge stream, steering, and resume.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reserveLogFile, runSession, sessionArgs, startSession, type SessionOptions, type SessionOutcome } from '../scripts/lib/session/runner.js';
import { fakeClaudeEnv, readFakeLog, readFakeTranscript, type FakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { sh, tempDir, tempRepo } from './helpers/repo.js';
import { alive } from './helpers/alive.js';

interface Setup {
  repo: string;
  env: FakeClaudeEnv;
  lines: string[];
  opts: (more?: Partial<SessionOptions>) => SessionOptions;
}

async function setup(script: FakeRun[] | null): Promise<Setup> {
  const repo = await tempRepo();
  const env = fakeClaudeEnv(script);
  const lines: string[] = [];
  return {
    repo,
    env,
    lines,
    opts: (more = {}) => ({ cwd: repo, prompt: 'do the task', env: { ...process.env, ...env }, display: (l) => lines.push(l), lingerMs: 500, killGraceMs: 1000, ...more }),
  };
}

function expectKind<K extends SessionOutcome['kind']>(o: SessionOutcome, kind: K): Extract<SessionOutcome, { kind: K }> {
  assert.is(o.kind, kind, `outcome: ${JSON.stringify(o)}`);
  return o as Extract<SessionOutcome, { kind: K }>;
}


async function waitForFile(path: string): Promise<string> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8').trim();
      if (text) return text;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${path} never appeared`);
}

/** A bash step that leaves a grandchild `sleep` behind (its pid in sleep.pid) and notes the fake's pid. */
const grandchild: FakeRun['steps'] = [{ bash: 'sleep 300 > /dev/null 2>&1 & echo $! > sleep.pid; echo $PPID > fake.pid' }];

test('the CLI is run with the documented arguments, in the cwd, without CLAUDECODE', async () => {
  const s = await setup([{ steps: [{ text: 'hi' }] }]);
  const opts = s.opts({ cliArgs: ['--allowedTools', 'Bash', 'Read'], extraArgs: ['--model', 'claude-x'], systemText: 'coven protocol', env: { ...process.env, ...s.env, CLAUDECODE: '1' } });
  expectKind(await runSession(opts), 'success');
  assert.equal(sessionArgs(opts), ['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json', '--replay-user-messages', '--permission-mode', 'acceptEdits', '--allowedTools', 'Bash', 'Read', '--model', 'claude-x', '--append-system-prompt', 'coven protocol']);
  const [inv] = readFakeLog(s.env);
  assert.ok(inv);
  assert.equal(inv.argv, sessionArgs(opts));
  assert.is(inv.cwd, s.repo);
  assert.is(inv.env.CLAUDECODE, null);
  assert.is(inv.stdin, '{"type":"user","message":{"role":"user","content":"do the task"}}\n');
  assert.equal(sessionArgs({ permissionMode: 'plan', resume: 'abc' }).slice(-4), ['--permission-mode', 'plan', '--resume', 'abc']);
});

test('a successful session: real work in the worktree, the raw stream logged, a live view', async () => {
  const s = await setup([
    {
      steps: [{ text: 'I will add a file.' }, { write: { path: 'a.txt', content: 'a\n' } }, { bash: 'cat a.txt', description: 'show it' }, { commit: 'add a' }, { text: 'Added a.txt.' }],
      result: { cost_usd: 0.0123 },
    },
  ]);
  const logFile = join(tempDir(), 'logs', 'w1', '001-implement.jsonl');
  const o = expectKind(await runSession(s.opts({ cliArgs: ['--allowedTools=Bash'], logFile })), 'success');
  const [inv] = readFakeLog(s.env);
  assert.is(o.text, 'Added a.txt.');
  assert.is(o.sessionId, inv?.sessionId);
  assert.is(o.costUsd, 0.0123);
  assert.is(o.turns, 4);
  assert.is(await sh(s.repo, 'log', '-1', '--format=%s'), 'add a');
  const logged = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; subtype?: string });
  assert.is(logged[0]?.subtype, 'init');
  assert.is(logged.at(-1)?.type, 'result');
  assert.is(logged.length, 11); // init, the replayed prompt, 5 assistant blocks, 3 tool results, result
  assert.ok(s.lines.includes('  I will add a file.'), s.lines.join('\n'));
  assert.ok(s.lines.includes('  ▸ Write: a.txt'));
  assert.ok(s.lines.includes('  ▸ Bash: cat a.txt'));
  assert.ok(s.lines.includes("  ▸ Bash: git add -A && git commit -m 'add a'"));
  assert.match(s.lines.at(-1)!, /^ {2}✓ done · \$0\.0123 · 4 turns · /);
});

test('a missing CLI is cli-not-found, with how to install it or set COVEN_CLAUDE', async () => {
  const s = await setup(null);
  const byPath = expectKind(await runSession(s.opts({ env: { ...process.env, COVEN_CLAUDE: '', PATH: tempDir() } })), 'cli-not-found');
  assert.is(byPath.command, 'claude');
  assert.match(byPath.message, /'claude' was not found on PATH/);
  assert.match(byPath.message, /npm install -g @anthropic-ai\/claude-code/);
  assert.match(byPath.message, /COVEN_CLAUDE/);
  const byEnv = expectKind(await runSession(s.opts({ env: { ...process.env, COVEN_CLAUDE: '/nonexistent/claude' } })), 'cli-not-found');
  assert.is(byEnv.command, '/nonexistent/claude');
  assert.match(s.lines.at(-1)!, /does not exist/);
});

test('a usage error (unknown flag in claude_args) is a crash with the CLI\'s message', async () => {
  const s = await setup(null);
  const o = expectKind(await runSession(s.opts({ cliArgs: ['--frobnicate'] })), 'crashed');
  assert.is(o.exitCode, 1);
  assert.equal(o.stderrTail, ["error: unknown option '--frobnicate'"]);
  assert.is(o.sessionId, undefined);
  assert.match(s.lines.at(-1)!, /exit 1\): error: unknown option '--frobnicate'/);
});

test('an error result is agent-error with its subtype and errors', async () => {
  const s = await setup([{ steps: [{ text: 'step 1' }, { bash: 'true' }, { text: 'step 2' }] }]);
  const o = expectKind(await runSession(s.opts({ cliArgs: ['--allowedTools=Bash', '--max-turns', '1'] })), 'agent-error');
  assert.is(o.subtype, 'error_max_turns');
  assert.equal(o.errors, ['Reached maximum number of turns (1)']);
  assert.is(o.text, undefined);
  assert.is(o.sessionId, readFakeLog(s.env)[0]?.sessionId);
  assert.ok(o.costUsd > 0);
});

test('subtype success with is_error true is an agent-error, not a success', async () => {
  const s = await setup([{ api_error: { status: 400 } }]);
  const o = expectKind(await runSession(s.opts()), 'agent-error');
  assert.is(o.subtype, 'success');
  assert.is(o.text, 'API Error: 400 mock error 400');
  assert.equal(o.errors, []);
  assert.match(s.lines.at(-1)!, /agent error \(success\): API Error: 400/);
});

test('an exit without a result is a crash that still knows the session id', async () => {
  const s = await setup([{ steps: [{ text: 'working' }, { text: 'more' }], crashAfterStep: 1 }]);
  const o = expectKind(await runSession(s.opts()), 'crashed');
  assert.is(o.exitCode, 1);
  assert.is(o.sessionId, readFakeLog(s.env)[0]?.sessionId);
  assert.ok(o.stderrTail.some((l) => l.includes('crashing as scripted')));
});

test('abort() ends the CLI and its grandchildren; the outcome is aborted', async () => {
  const s = await setup([{ steps: grandchild, hang: 'before-result' }]);
  const handle = startSession(s.opts({ cliArgs: ['--allowedTools=Bash'] }));
  const sleepPid = Number(await waitForFile(join(s.repo, 'sleep.pid')));
  assert.ok(alive(sleepPid));
  handle.abort();
  const o = expectKind(await handle.outcome, 'aborted');
  assert.is(o.sessionId, readFakeLog(s.env)[0]?.sessionId);
  assert.is(readFakeLog(s.env)[0]?.signal, 'SIGTERM');
  assert.is(alive(sleepPid), false, 'the grandchild sleep is gone');
  assert.is(handle.send('too late'), false);
});

test('abort() also ends a tool command running in a session of its own (the real CLI runs Bash that way)', async () => {
  // a node that waits on a detached child: the child (sh → sleep) leads a new session, out of the CLI's group
  const detached = `${JSON.stringify(process.execPath)} -e "require('child_process').spawn('sh', ['-c', 'echo \\$\\$ > sleep.pid; exec sleep 300'], { detached: true, stdio: 'ignore' })"`;
  const s = await setup([{ steps: [{ bash: detached }, { text: 'never' }] }]);
  const handle = startSession(s.opts({ cliArgs: ['--allowedTools=Bash'] }));
  const sleepPid = Number(await waitForFile(join(s.repo, 'sleep.pid')));
  assert.ok(alive(sleepPid));
  handle.abort();
  expectKind(await handle.outcome, 'aborted');
  assert.is(alive(sleepPid), false, 'the sleep in its own session is gone');
});

// The real CLI, sent SIGTERM while a Bash tool runs, kills the tool and finishes the turn
// with a result (reference §1): abort() and the timeout must still win over that result.
const lateResult: FakeRun[] = [{ steps: [{ bash: 'echo $$ > tool.pid; sleep 300' }, { text: 'finished after all' }], sigtermDuringTool: 'finish-turn' }];

/** The result the CLI wrote to the session log after it was told to stop, and the killed tool's output. */
function lateResultOf(logFile: string): { result: unknown; toolOutput: string } {
  const events = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; result?: unknown; message?: unknown });
  return { result: events.find((e) => e.type === 'result')?.result, toolOutput: JSON.stringify(events.filter((e) => e.type === 'user' && JSON.stringify(e.message).includes('tool_result'))) };
}

test('abort() during a tool: the CLI still finishes its turn with a result, and the outcome is aborted', async () => {
  const s = await setup(lateResult);
  const logFile = join(tempDir(), 'session.jsonl');
  const handle = startSession(s.opts({ cliArgs: ['--allowedTools=Bash'], logFile }));
  await waitForFile(join(s.repo, 'tool.pid'));
  handle.abort();
  const o = expectKind(await handle.outcome, 'aborted');
  assert.is(o.sessionId, readFakeLog(s.env)[0]?.sessionId);
  const late = lateResultOf(logFile);
  assert.is(late.result, 'finished after all', 'the result came after the abort');
  assert.match(late.toolOutput, /Exit code 137/);
  assert.is(readFakeLog(s.env)[0]?.exitCode, 0);
  assert.is(s.lines.at(-1), '  ✗ stopped (aborted)');
});

test('the timeout during a tool: the CLI still finishes its turn with a result, and the outcome is timed-out', async () => {
  const s = await setup(lateResult);
  const logFile = join(tempDir(), 'session.jsonl');
  // long enough for the fake to be in its tool when the limit comes (else there is no late result to ignore)
  const o = expectKind(await runSession(s.opts({ cliArgs: ['--allowedTools=Bash'], logFile, timeoutMs: 4000 })), 'timed-out');
  assert.ok(existsSync(join(s.repo, 'tool.pid')), 'the tool ran');
  assert.is(o.sessionId, readFakeLog(s.env)[0]?.sessionId);
  assert.is(lateResultOf(logFile).result, 'finished after all', 'the result came after the timeout');
  assert.is(readFakeLog(s.env)[0]?.exitCode, 0);
});

for (const [signal, exitCode, exitSignal] of [['SIGTERM', 143, null], ['SIGKILL', null, 'SIGKILL']] as const) {
  test(`a ${signal} sent to the CLI from outside (not abort()) is a crash with its ${exitCode === null ? 'signal' : 'exit code'}, and nothing it started is left`, async () => {
    const s = await setup([{ steps: grandchild, hang: 'before-result' }]);
    const handle = startSession(s.opts({ cliArgs: ['--allowedTools=Bash'] }));
    const sleepPid = Number(await waitForFile(join(s.repo, 'sleep.pid')));
    assert.ok(alive(sleepPid));
    process.kill(handle.pid!, signal); // the CLI alone, not its group
    const o = expectKind(await handle.outcome, 'crashed');
    assert.is(o.exitCode, exitCode);
    assert.is(o.signal, exitSignal);
    assert.ok(o.sessionId, 'the session id from init is kept');
    assert.is(alive(sleepPid), false, 'the grandchild sleep is gone');
    assert.match(s.lines.at(-1)!, signal === 'SIGTERM' ? /without a result \(exit 143\)/ : /without a result \(killed by SIGKILL\)/);
  });
}

test('past the timeout the whole group is ended, SIGKILL when SIGTERM is ignored', async () => {
  const s = await setup([{ steps: grandchild, hang: 'before-result', ignoreSigterm: true }]);
  const o = expectKind(await runSession(s.opts({ cliArgs: ['--allowedTools=Bash'], timeoutMs: 1500, killGraceMs: 500 })), 'timed-out');
  assert.is(o.timeoutMs, 1500);
  assert.ok(o.sessionId);
  const fakePid = Number(readFileSync(join(s.repo, 'fake.pid'), 'utf8'));
  const sleepPid = Number(readFileSync(join(s.repo, 'sleep.pid'), 'utf8'));
  assert.is(alive(fakePid), false, 'the fake is gone');
  assert.is(alive(sleepPid), false, 'the grandchild sleep is gone');
  assert.equal(readFakeLog(s.env), [], 'SIGKILL: the fake could not even log');
});

test('a CLI that lingers after its result is stopped, and the result still counts', async () => {
  const s = await setup([{ steps: [{ text: 'done here' }], hang: 'after-result' }]);
  const o = expectKind(await runSession(s.opts({ lingerMs: 200 })), 'success');
  assert.is(o.text, 'done here');
  assert.is(readFakeLog(s.env)[0]?.signal, 'SIGTERM');
});

test('lines split across chunks, junk lines and unknown events are tolerated', async () => {
  const s = await setup([
    {
      steps: [
        { raw: '{"type":"assistant","message":{"id":"m1","content":[{"type":"te' },
        { sleep_ms: 100 },
        { raw: 'xt","text":"split across chunks"}]},"session_id":"x","parent_tool_use_id":null}\n' },
        { raw: 'not json at all\n' },
        { raw: '{"type":"mystery_event","payload":{"a":1}}\n\n' },
        { text: 'final words' },
      ],
    },
  ]);
  const logFile = join(tempDir(), 'session.jsonl');
  const o = expectKind(await runSession(s.opts({ logFile })), 'success');
  assert.is(o.text, 'final words');
  assert.ok(s.lines.includes('  split across chunks'), s.lines.join('\n'));
  assert.ok(s.lines.includes('  (ignored a line that is not a JSON event: not json at all)'));
  assert.match(readFileSync(logFile, 'utf8'), /\nnot json at all\n/);
});

test('a 50 MB stream goes through to the log and the outcome', async () => {
  const s = await setup([{ steps: [{ text: 'noisy' }, { noise: { events: 5000, bytes: 10_000 } }, { text: 'survived' }] }]);
  const logFile = join(tempDir(), 'big.jsonl');
  const o = expectKind(await runSession(s.opts({ logFile })), 'success');
  assert.is(o.text, 'survived');
  assert.ok(statSync(logFile).size > 50_000_000, `log is ${statSync(logFile).size} bytes`);
});

test('send() mid-turn: the message reaches the running turn at its next model call, like the real CLI', async () => {
  const s = await setup([
    { steps: [{ text: 'working on it' }, { wait_for_message: 20_000 }, { bash: 'true' }, { text: 'did both' }] },
    { match: { promptIncludes: 'STEER' }, steps: [{ text: 'a turn of its own' }] },
  ]);
  let sent = false;
  const handle = startSession(
    s.opts({
      cliArgs: ['--allowedTools=Bash'],
      display: (l) => {
        s.lines.push(l);
        if (l.includes('working on it')) sent = handle.send('STEER: use tabs');
      },
    }),
  );
  const o = expectKind(await handle.outcome, 'success');
  assert.ok(sent);
  assert.is(o.text, 'did both');
  assert.ok(s.lines.includes('  » STEER: use tabs'), s.lines.join('\n'));
  const [inv] = readFakeLog(s.env);
  assert.ok(inv);
  assert.equal(inv.messages.map((m) => m.takenBy), [{ turn: 1, how: 'turn' }, { turn: 1, how: 'injected' }]);
  assert.is(inv.messages[1]?.duringTurn, 1);
  assert.equal(inv.runs, [0], 'no second turn');
  const transcript = readFakeTranscript(s.env, s.repo, o.sessionId);
  assert.ok(transcript.some((l) => JSON.stringify(l).includes('STEER: use tabs')));
});

test('send() during the last model call: the message gets a turn of its own, and the session ends after it', async () => {
  const s = await setup([
    { steps: [{ text: 'working on it' }, { wait_for_message: 20_000 }, { text: 'first turn over' }] },
    { match: { promptIncludes: 'STEER' }, steps: [{ text: 'steered as asked' }] },
  ]);
  const handle = startSession(
    s.opts({
      display: (l) => {
        s.lines.push(l);
        if (l.includes('working on it')) handle.send('STEER: use tabs');
      },
    }),
  );
  const o = expectKind(await handle.outcome, 'success');
  assert.is(o.text, 'steered as asked');
  assert.is(o.turns, 2);
  const [inv] = readFakeLog(s.env);
  assert.ok(inv);
  assert.equal(inv.prompts, ['do the task', 'STEER: use tabs']);
  assert.equal(inv.messages[1]?.takenBy, { turn: 2, how: 'turn' });
  assert.equal(inv.runs, [0, 1]);
});

test('resume keeps the session id in the same cwd; from another cwd it fails like the real CLI', async () => {
  const s = await setup([
    { expect: { resume: false }, steps: [{ text: 'planned' }] },
    { expect: { resume: true, historyIncludes: 'first prompt', promptIncludes: 'second prompt' }, steps: [{ text: 'resumed' }] },
  ]);
  const first = expectKind(await runSession(s.opts({ prompt: 'first prompt' })), 'success');
  const second = expectKind(await runSession(s.opts({ prompt: 'second prompt', resume: first.sessionId })), 'success');
  assert.is(second.sessionId, first.sessionId);
  assert.is(second.text, 'resumed');
  const [a, b] = readFakeLog(s.env);
  assert.is(b?.cwd, a?.cwd);
  assert.equal(b?.argv.slice(-2), ['--resume', first.sessionId]);
  assert.is(b?.sessionId, first.sessionId);

  const elsewhere = tempDir();
  const wrong = expectKind(await runSession(s.opts({ cwd: elsewhere, prompt: 'third', resume: first.sessionId })), 'agent-error');
  assert.is(wrong.subtype, 'error_during_execution');
  assert.equal(wrong.errors, [`No conversation found with session ID: ${first.sessionId}`]);
  assert.is(wrong.sessionId, first.sessionId);
  assert.is(readFakeLog(s.env)[2]?.exitCode, 1);
});

test('session logs are numbered per worker: <n>-<agent>.jsonl, never reused', () => {
  const stateDir = tempDir();
  const a = reserveLogFile(stateDir, 'brave-otter', 'dispatch');
  const b = reserveLogFile(stateDir, 'brave-otter', 'implement');
  assert.is(a, join(stateDir, 'logs', 'brave-otter', '001-dispatch.jsonl'));
  assert.is(b, join(stateDir, 'logs', 'brave-otter', '002-implement.jsonl'));
  writeFileSync(join(stateDir, 'logs', 'brave-otter', '041-plan.jsonl'), '');
  assert.is(reserveLogFile(stateDir, 'brave-otter', 'plan'), join(stateDir, 'logs', 'brave-otter', '042-plan.jsonl'));
  assert.is(reserveLogFile(stateDir, 'other', 'plan'), join(stateDir, 'logs', 'other', '001-plan.jsonl'));
});

test.run();
