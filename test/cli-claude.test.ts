// cli-claude — the Claude Code adapter: its command lines (start, resume, a system text
// too big for one argument), its parser on every captured sample of the real CLI, and
// its refusals (quota, rate limit, auth, overloaded) from the CLI's own signals.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { claudeAdapter, claudeRefusal } from '../scripts/lib/clis/claude.js';
import { adapterFor } from '../scripts/lib/clis/index.js';
import { CLI_NAMES, type CliEvent } from '../scripts/lib/clis/adapter.js';
import { MAX_ARG_BYTES } from '../scripts/lib/clis/limits.js';
import { cliSamplesDir } from './helpers/fake-claude.js';

const base = ['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json', '--replay-user-messages'];
const stdinOf = (text: string): string => `${JSON.stringify({ type: 'user', message: { role: 'user', content: text } })}\n`;

test('a start: today\'s arguments, the prompt as the first stream-json message, stdin kept open for steering', () => {
  const cmd = claudeAdapter.command({ cwd: '/w', prompt: 'do it', args: ['--allowedTools=Bash', '--model', 'x'], systemText: 'coven protocol' });
  assert.equal(cmd.args, [...base, '--permission-mode', 'acceptEdits', '--allowedTools=Bash', '--model', 'x', '--append-system-prompt', 'coven protocol']);
  assert.is(cmd.stdin, stdinOf('do it'));
  assert.is(cmd.keepStdinOpen, true);
  assert.equal(cmd.env, {});
  assert.ok(claudeAdapter.steering && claudeAdapter.costInDollars);
  assert.is(claudeAdapter.steerLine?.('more'), stdinOf('more'));
});

test('a resume: --resume <id> last, the permission mode given', () => {
  const cmd = claudeAdapter.command({ cwd: '/w', prompt: 'fix the conflict', args: [], resume: 'abc-123', permissionMode: 'plan' });
  assert.equal(cmd.args, [...base, '--permission-mode', 'plan', '--resume', 'abc-123']);
  assert.is(cmd.stdin, stdinOf('fix the conflict'));
});

test('a system text over one argument\'s limit goes at the head of the first message, not on the command line', () => {
  const big = `catalog ${'x'.repeat(MAX_ARG_BYTES)}`;
  const cmd = claudeAdapter.command({ cwd: '/w', prompt: 'Choose the next job.', args: [], systemText: big });
  assert.not.ok(cmd.args.includes('--append-system-prompt'));
  assert.ok(cmd.args.every((a) => a.length < MAX_ARG_BYTES));
  assert.is(cmd.stdin, stdinOf(`${big}\n\n---\n\nChoose the next job.`));
  const atLimit = 'y'.repeat(MAX_ARG_BYTES);
  assert.equal(claudeAdapter.command({ cwd: '/w', prompt: 'p', args: [], systemText: atLimit }).args.slice(-2), ['--append-system-prompt', atLimit]);
});

test('adapterFor: claude is there; a CLI with no adapter yet is a typed answer, not a throw', () => {
  const c = adapterFor('claude');
  assert.is(c.kind, 'adapter');
  if (c.kind === 'adapter') assert.is(c.adapter, claudeAdapter);
  for (const name of CLI_NAMES) {
    const a = adapterFor(name);
    if (a.kind === 'not-available') assert.match(a.message, new RegExp(`no adapter for the CLI '${name}'`));
  }
});

function eventsOf(text: string): CliEvent[] {
  const p = claudeAdapter.parser();
  const out = text.split('\n').flatMap((l) => p.line(l));
  return [...out, ...p.end({ code: 0, signal: null })];
}

const expected: Record<string, { sessionId: string; ok: boolean; subtype: string; text?: string; costUsd: number; tools: number; failed: number }> = {
  'tool-use-success.jsonl': { sessionId: 'e8f23fc8-5786-40cc-ba03-5c30b095d035', ok: true, subtype: 'success', text: 'DONE. last=', costUsd: 0.00168, tools: 2, failed: 0 },
  'resume-same-cwd.jsonl': { sessionId: 'e8f23fc8-5786-40cc-ba03-5c30b095d035', ok: true, subtype: 'success', text: 'DONE. last=second prompt', costUsd: 0.0005600000000000001, tools: 0, failed: 0 },
  'resume-wrong-cwd.jsonl': { sessionId: 'e8f23fc8-5786-40cc-ba03-5c30b095d035', ok: false, subtype: 'error_during_execution', costUsd: 0, tools: 0, failed: 0 },
  'error-max-turns.jsonl': { sessionId: 'e16d965c-14b7-4520-b080-4d1c28b828b4', ok: false, subtype: 'error_max_turns', costUsd: 0.0005600000000000001, tools: 1, failed: 0 },
  'api-error-400.jsonl': { sessionId: 'b44ddbfc-6585-4d3c-b383-076d4946bde5', ok: false, subtype: 'success', text: 'API Error: 400 mock error 400', costUsd: 0, tools: 0, failed: 0 },
  'permission-denied.jsonl': { sessionId: 'fec6aaa7-ef75-40de-944b-be7a2c0ac355', ok: true, subtype: 'success', text: 'DONE. last=', costUsd: 0.0011200000000000001, tools: 1, failed: 1 },
};

test('the parser on every captured sample: the session id first, the tools, one result that judges, no refusal', () => {
  const samples = readdirSync(cliSamplesDir()).filter((f) => f.endsWith('.jsonl'));
  assert.ok(samples.length >= 6);
  for (const name of samples) {
    const want = expected[name];
    assert.ok(want, `no expectation for sample ${name}`);
    const events = eventsOf(readFileSync(join(cliSamplesDir(), name), 'utf8'));
    const session = events.find((e) => e.kind === 'session');
    assert.is(session?.kind === 'session' && session.sessionId, want.sessionId, `${name}: session id`);
    assert.ok(events.findIndex((e) => e.kind === 'session') < events.findIndex((e) => e.kind === 'result'), `${name}: the session is known before the result`);
    const results = events.filter((e): e is Extract<CliEvent, { kind: 'result' }> => e.kind === 'result');
    assert.is(results.length, 1, name);
    const r = results[0]!;
    assert.is(r.ok, want.ok, `${name}: ok`);
    assert.is(r.subtype, want.subtype, `${name}: subtype`);
    assert.is(r.text, want.text, `${name}: text`);
    assert.is(r.costUsd, want.costUsd, `${name}: cost`);
    assert.ok(r.tokens && r.tokens.input >= 0 && r.tokens.output >= 0, `${name}: tokens`);
    assert.is(events.filter((e) => e.kind === 'tool').length, want.tools, `${name}: tool calls`);
    assert.is(events.filter((e) => e.kind === 'tool-failed').length, want.failed, `${name}: failed tool calls`);
    assert.is(events.filter((e) => e.kind === 'refused').length, 0, `${name}: a 400 or a lost session is not a refusal`);
    if (name !== 'resume-wrong-cwd.jsonl') assert.ok(events.some((e) => e.kind === 'turn-start'), `${name}: init starts a turn`);
  }
});

test('the parser: tool calls by their key input, a steering message taken, a retry as a notice, junk shown at most 3 times', () => {
  const p = claudeAdapter.parser();
  const line = (o: unknown): CliEvent[] => p.line(JSON.stringify(o));
  line({ type: 'system', subtype: 'init', session_id: 's1', model: 'm' });
  assert.equal(line({ type: 'assistant', message: { content: [{ type: 'tool_use', id: 't', name: 'Bash', input: { command: 'npm test' } }] }, parent_tool_use_id: null }), [{ kind: 'tool', summary: 'Bash: npm test' }]);
  assert.equal(line({ type: 'assistant', message: { content: [{ type: 'text', text: 'inner' }] }, parent_tool_use_id: 'toolu_1' }), [], 'a subagent is not shown');
  assert.equal(line({ type: 'user', message: { content: 'first' }, isReplay: true }), [{ kind: 'replay' }]);
  assert.equal(line({ type: 'user', message: { content: 'STEER: tabs\nmore' }, isReplay: true }), [{ kind: 'replay' }, { kind: 'notice', text: '» STEER: tabs' }]);
  assert.equal(line({ type: 'system', subtype: 'api_retry', attempt: 1, error_status: 500, error: 'server_error' }), [{ kind: 'notice', text: '… API error, the CLI is retrying' }]);
  const junk = ['a', 'b', 'c', 'd'].flatMap((l) => p.line(l));
  assert.is(junk.length, 3);
});

test('refusals: Claude Code\'s statuses and words for quota, rate limit, auth and overload; a 400 or a 500 is none', () => {
  assert.is(claudeRefusal(429, 'API Error: 429 {"type":"error","error":{"type":"rate_limit_error"}}'), 'rate-limit');
  assert.is(claudeRefusal(undefined, 'rate_limit'), 'rate-limit');
  assert.is(claudeRefusal(401, 'API Error: 401 invalid x-api-key'), 'auth');
  assert.is(claudeRefusal(403, ''), 'auth');
  assert.is(claudeRefusal(undefined, 'Not logged in · Please run /login'), 'auth');
  assert.is(claudeRefusal(529, 'API Error: 529 Overloaded'), 'overloaded');
  assert.is(claudeRefusal(undefined, 'overloaded_error'), 'overloaded');
  assert.is(claudeRefusal(429, 'Claude AI usage limit reached|1760000000'), 'quota');
  assert.is(claudeRefusal(400, 'API Error: 400 Your credit balance is too low to access the Anthropic API.'), 'quota');
  assert.is(claudeRefusal(400, 'Credit balance is too low'), 'quota', 'the real CLI\'s words for a 400 about credit (observed)');
  assert.is(claudeRefusal(403, 'Failed to authenticate. API Error: 403 forbidden'), 'auth');
  assert.is(claudeRefusal(undefined, 'Failed to authenticate. API Error: 401 invalid x-api-key'), 'auth');
  assert.is(claudeRefusal(529, 'overloaded'), 'overloaded');
  assert.is(claudeRefusal(503, 'server_error'), null, 'a 503 is retried as a server error, not a refusal');
  assert.is(claudeRefusal(400, 'API Error: 400 mock error 400'), null);
  assert.is(claudeRefusal(500, 'API Error: 500 Internal server error'), null);

  const p = claudeAdapter.parser();
  p.line(JSON.stringify({ type: 'system', subtype: 'init', session_id: 's1' }));
  const retry = p.line(JSON.stringify({ type: 'system', subtype: 'api_retry', attempt: 1, max_retries: 10, retry_delay_ms: 500, error_status: 529, error: 'overloaded_error', session_id: 's1' }));
  assert.equal(retry.map((e) => e.kind), ['refused']);
  const r = retry[0]!;
  assert.ok(r.kind === 'refused' && r.refusal.reason === 'overloaded' && /529/.test(r.refusal.message));
  const result = p.line(JSON.stringify({ type: 'result', subtype: 'success', is_error: true, api_error_status: 529, result: 'API Error: 529 Overloaded', session_id: 's1', total_cost_usd: 0 }));
  assert.equal(result.map((e) => e.kind), ['result'], 'one refusal per session');

  const q = claudeAdapter.parser();
  const quota = q.line(JSON.stringify({ type: 'result', subtype: 'success', is_error: true, api_error_status: 429, result: 'API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"usage limit reached"}}', session_id: 's2', total_cost_usd: 0 }));
  assert.equal(quota.map((e) => e.kind), ['session', 'refused', 'result']);
  assert.ok(quota[1]!.kind === 'refused' && quota[1]!.refusal.reason === 'quota');
});

test.run();
