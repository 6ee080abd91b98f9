// real-cli — the real Claude Code CLI (pinned, installed from the npm registry into a
// cache folder) against a scripted mock of the Messages API, in temp git repos: one
// session commits a file through the Bash tool, a resume in the same cwd keeps the
// session and resolves a rebase conflict, a resume from elsewhere finds nothing.
//
//   env:  COVEN_REAL_CLI=1 to run (`npm run test:real-cli` sets it); otherwise every
//         test is skipped with a message. With it, they are skipped only when the
//         registry cannot be reached, and fail when the CLI is missing for any other
//         reason (real-cli/gate.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitFile, run, sh, tempDir, tempRepo } from './helpers/repo.js';
import { realCli, realCliTests } from './real-cli/gate.js';
import { bash, conversation, say, startMockMessagesApi, text, type MockApi } from './real-cli/mock-messages-api.js';
import { claudeEnv, runClaude, transcriptPath, type ClaudeRun, type StreamEvent } from './real-cli/run-claude.js';

// coven's own session flags (reference §1): edits accepted, Bash limited to git
const COVEN_ARGS = ['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json', '--permission-mode', 'acceptEdits', '--allowedTools=Bash(git *),Read,Edit,Write'];

const ADD_PROMPT = 'Add hello.txt containing "hello" and commit it.';
const RESOLVE_PROMPT = 'The rebase onto main stopped on a conflict in hello.txt. Keep your side, then finish the rebase.';

// a check that was asked for (COVEN_REAL_CLI=1) fails unless the registry is unreachable (real-cli/gate.ts)
const cli = await realCli('claude', 'run these against the real Claude Code CLI');
const realTest = realCliTests('real-cli', cli);

interface Shared {
  claude: string;
  api: MockApi;
  env: NodeJS.ProcessEnv;
  configDir: string;
  repo: string;
  sessionId: string | null;
}
let shared: Shared | null = null;

function setup(): Shared {
  if (!shared) throw new Error('setup did not run');
  return shared;
}

if (cli.kind === 'run') {
  test.before(async () => {
    const api = await startMockMessagesApi(
      conversation([
        {
          when: ADD_PROMPT,
          replies: [
            say(text('Writing hello.txt and committing it.'), bash(`printf 'hello\\n' > hello.txt && git add hello.txt && git commit -q -m "Add hello.txt"`, 'write and commit hello.txt')),
            say(text('Committed hello.txt.')),
          ],
        },
        {
          when: RESOLVE_PROMPT,
          replies: [
            say(text('Taking my side of hello.txt.'), bash('git checkout --theirs hello.txt && git add hello.txt && git -c core.editor=true rebase --continue', 'resolve and continue the rebase')),
            say(text('Resolved; the rebase is complete.')),
          ],
        },
      ]),
    );
    const home = tempDir('coven-claude-home-');
    const repo = await tempRepo('wt1');
    await sh(repo, 'checkout', '-q', '-b', 'work');
    shared = { claude: cli.bin, api, env: claudeEnv(api.url, home), configDir: join(home, '.claude'), repo, sessionId: null };
  });
  test.after(async () => {
    await shared?.api.close();
  });
}

function session(prompt: string, cwd: string, args: string[] = []): Promise<ClaudeRun> {
  const s = setup();
  return runClaude({ claude: s.claude, cwd, env: s.env, prompt, sessionArgs: COVEN_ARGS, args, timeoutMs: 120_000 });
}

function describe(r: ClaudeRun): string {
  return `exit ${r.code}, events ${r.events.map((e) => e.subtype ?? e.type).join(' ')}, result ${JSON.stringify(r.result?.result ?? r.result?.errors)}, stderr ${JSON.stringify(r.stderr.slice(0, 300))}`;
}

function transcriptLines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
}

function toolResults(r: ClaudeRun): { content: unknown; is_error?: boolean }[] {
  return r.events
    .filter((e) => e.type === 'user')
    .flatMap((e) => ((e.message as { content?: unknown }).content as { type: string; content: unknown; is_error?: boolean }[]) ?? [])
    .filter((b) => b.type === 'tool_result');
}

function assertOneSession(r: ClaudeRun, id: string): void {
  for (const e of r.events) assert.is(e.session_id, id, `${e.type} event carries another session id`);
}

realTest('a real claude session writes and commits a file through the Bash tool, under one session id', async () => {
  const s = setup();
  const r = await session(ADD_PROMPT, s.repo);
  assert.is(r.code, 0, describe(r));
  assert.ok(!r.timedOut);
  const init = r.events[0] as StreamEvent;
  assert.is(`${init.type}/${init.subtype}`, 'system/init', describe(r));
  assert.is(init.cwd, s.repo);
  assert.is(init.permissionMode, 'acceptEdits');
  const id = init.session_id;
  assert.type(id, 'string');
  assertOneSession(r, id!);
  const kinds = r.events.map((e) => e.type);
  assert.ok(kinds.includes('assistant') && kinds.includes('user'), describe(r));
  assert.is(kinds[kinds.length - 1], 'result');
  assert.equal([r.result?.subtype, r.result?.is_error, r.result?.result], ['success', false, 'Committed hello.txt.']);
  assert.equal(
    toolResults(r).map((b) => b.is_error),
    [false],
  );

  // the Bash tool really ran git in the repo
  assert.is(await sh(s.repo, 'log', '-1', '--format=%s'), 'Add hello.txt');
  assert.is(readFileSync(join(s.repo, 'hello.txt'), 'utf8'), 'hello\n');
  assert.is(await sh(s.repo, 'status', '--porcelain'), '');

  // the mock saw the prompt, then the tool result of the commit
  const turns = s.api.agentTurns();
  assert.is(turns.length, 2);
  assert.is(turns[0]?.prompt, ADD_PROMPT);
  assert.equal(turns[1]?.toolResults.map((t) => t.isError), [false]);
  assert.is(turns[0]?.sessionId, id);
  assert.is(turns[0]?.cwd, s.repo);
  s.sessionId = id!;
});

realTest('a resume in the same cwd keeps the session id, sees the history, appends to the transcript and resolves a rebase conflict', async () => {
  const s = setup();
  const id = s.sessionId;
  assert.ok(id, 'needs the session of the first test');
  const transcript = transcriptPath(s.configDir, s.repo, id);
  assert.ok(existsSync(transcript), `no transcript at ${transcript}`);
  const before = transcriptLines(transcript);

  // main moves under the worker: a rebase of `work` onto it conflicts on hello.txt
  await sh(s.repo, 'checkout', '-q', 'main');
  const mainTip = await commitFile(s.repo, 'hello.txt', 'main side\n', 'main adds hello.txt');
  await sh(s.repo, 'checkout', '-q', 'work');
  const rebase = await run('git', ['rebase', 'main'], { cwd: s.repo });
  assert.is.not(rebase.code, 0, 'the rebase should stop on a conflict');

  const turnsBefore = s.api.agentTurns().length;
  const r = await session(RESOLVE_PROMPT, s.repo, ['--resume', id]);
  assert.is(r.code, 0, describe(r));
  assert.is(r.events[0]?.subtype, 'init');
  assertOneSession(r, id);
  assert.equal([r.result?.subtype, r.result?.is_error], ['success', false], describe(r));
  assert.equal(
    toolResults(r).map((b) => b.is_error),
    [false],
  );

  // the resumed request carried the earlier conversation
  const resumed = s.api.agentTurns()[turnsBefore];
  assert.is(resumed?.prompt, RESOLVE_PROMPT);
  const history = (resumed?.request.messages ?? []).flatMap((m) => (typeof m.content === 'string' ? [m.content] : m.content.map((b) => (b.type === 'text' ? String(b.text) : ''))));
  assert.ok(history.includes(ADD_PROMPT), 'the history sent to the model lacks the first prompt');

  // the transcript grew, and what was there stayed
  const after = transcriptLines(transcript);
  assert.ok(after.length > before.length, `transcript did not grow (${before.length} → ${after.length} lines)`);
  assert.equal(after.slice(0, before.length), before);

  // the rebase is finished: the worker's commit sits on top of main, its side kept
  assert.not.ok(existsSync(join(s.repo, '.git', 'rebase-merge')), 'the rebase is still in progress');
  assert.is(await sh(s.repo, 'status', '--porcelain'), '');
  assert.is(await sh(s.repo, 'log', '--format=%s', 'main..work'), 'Add hello.txt');
  assert.is(await sh(s.repo, 'rev-parse', 'work~1'), mainTip);
  assert.is(readFileSync(join(s.repo, 'hello.txt'), 'utf8'), 'hello\n');
});

realTest('a resume from another directory finds no conversation (resume-wrong-cwd)', async () => {
  const s = setup();
  const id = s.sessionId;
  assert.ok(id, 'needs the session of the first test');
  const elsewhere = await tempRepo('elsewhere');
  const turnsBefore = s.api.agentTurns().length;
  const r = await session('anything', elsewhere, ['--resume', id]);
  assert.is(r.code, 1, describe(r));
  const message = `No conversation found with session ID: ${id}`;
  assert.is(r.stderr.trim(), message);
  // no init: the error result is the only event
  assert.equal(
    r.events.map((e) => `${e.type}/${e.subtype}`),
    ['result/error_during_execution'],
  );
  const result = r.result!;
  assert.is(result.is_error, true);
  assert.is(result.session_id, id);
  assert.equal(result.errors, [message]);
  assert.is(result.num_turns, 0);
  assert.not.ok('result' in result, 'an error result has no `result` field');
  for (const key of ['duration_ms', 'duration_api_ms', 'stop_reason', 'total_cost_usd', 'usage', 'modelUsage', 'permission_denials', 'uuid']) assert.ok(key in result, `missing ${key}`);
  assert.is(s.api.agentTurns().length, turnsBefore, 'a failed resume must not call the model');
});

test.run();
