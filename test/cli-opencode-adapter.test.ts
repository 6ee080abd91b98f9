// cli-opencode-adapter — the opencode adapter against the streams the real CLI printed
// (test/fixtures/agent-cli-samples/opencode/, copies of shared/reference's captures and
// of those taken against test/real-cli/mock-chat-api.ts), and its command lines.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { opencodeAdapter, refusalOf } from '../scripts/lib/clis/opencode.js';
import type { CliEvent } from '../scripts/lib/clis/adapter.js';
import { projectRoot } from './helpers/repo.js';

const samples = join(projectRoot, 'test', 'fixtures', 'agent-cli-samples', 'opencode');
const lines = (file: string): string[] => readFileSync(join(samples, file), 'utf8').split('\n').filter(Boolean);

/** Feeds a capture (stdout lines, then stderr lines) and the exit; returns every event. */
function feed(stdout: string[], exit: { code: number | null; signal?: NodeJS.Signals | null }, stderr: string[] = []): CliEvent[] {
  const p = opencodeAdapter.parser();
  const events: CliEvent[] = [];
  for (const l of stderr) events.push(...p.stderr(l));
  for (const l of stdout) events.push(...p.line(l));
  events.push(...p.end({ code: exit.code, signal: exit.signal ?? null }));
  return events;
}
const resultOf = (events: CliEvent[]): Extract<CliEvent, { kind: 'result' }> => {
  const r = events.filter((e) => e.kind === 'result');
  assert.is(r.length, 1, 'one result, made up at the end');
  return r[0] as Extract<CliEvent, { kind: 'result' }>;
};

test('a start: the session id first, the tool, the text, and a success judged with no result event', () => {
  const events = feed(lines('start.jsonl'), { code: 0 });
  assert.equal(events[0], { kind: 'session', sessionId: 'ses_db4f5b2efffeWzzvF9v9QgcDGR' });
  assert.equal(
    events.filter((e) => e.kind === 'tool'),
    [{ kind: 'tool', summary: 'bash: echo hi > x.txt' }],
  );
  const r = resultOf(events);
  assert.ok(r.ok);
  assert.is(r.subtype, 'success');
  assert.is(r.text, 'FINAL1: ran the command, x.txt written.');
  assert.equal(r.tokens, { input: 222, output: 44, cachedInput: 0 }, 'summed over the two steps');
  assert.is(r.turns, 2);
  assert.is(r.costUsd, undefined, 'no prices in the config: no dollars');
});

test('the same stream with a non-zero exit, or cut before the last step, is a failure', () => {
  assert.not.ok(resultOf(feed(lines('start.jsonl'), { code: 1 })).ok);
  assert.not.ok(resultOf(feed(lines('start.jsonl'), { code: null, signal: 'SIGTERM' })).ok);
  const cut = resultOf(feed(lines('start.jsonl').slice(0, 3), { code: 0 }));
  assert.not.ok(cut.ok, 'the last step ended with tool-calls');
  assert.is(cut.subtype, 'unfinished');
  assert.match(cut.errors.join(' '), /tool-calls/);
  assert.not.ok(resultOf(feed([], { code: 0 })).ok, 'nothing at all');
});

test('a resume: the same session id, its text', () => {
  const r = resultOf(feed(lines('resume.jsonl'), { code: 0 }));
  assert.ok(r.ok);
  assert.is(r.text, 'FINAL2: I remember x.txt from before.');
});

test('a failed tool call (exit 3) and a rejected permission: tool-failed, and the session is not a success though opencode exits 0', () => {
  const events = feed(lines('tool-failures.jsonl'), { code: 0 }, lines('tool-failures.stderr'));
  const failed = events.filter((e) => e.kind === 'tool-failed').map((e) => (e as { summary: string }).summary);
  assert.equal(failed, ['bash: echo out; exit 3: exit 3', 'read: /tmp/oc/nonexistent.txt: The user rejected permission to use this specific tool call.']);
  assert.ok(events.some((e) => e.kind === 'notice' && /permission requested: external_directory/.test(e.text)));
  const r = resultOf(events);
  assert.not.ok(r.ok);
  assert.is(r.text, 'Let me try.');
});

test('an API error (400): a failed result with its words, no refusal', () => {
  const events = feed(lines('fail-opencode.jsonl'), { code: 1 });
  assert.not.ok(events.some((e) => e.kind === 'refused'));
  const r = resultOf(events);
  assert.not.ok(r.ok);
  assert.is(r.subtype, 'api_error');
  assert.equal(r.errors, ['APIError 400: mock bad request (FAIL400)']);
});

test('refusals: 401 → auth, 429 quota → quota, 503 → overloaded, from the final error event', () => {
  const reasonIn = (file: string): string | undefined => {
    const e = feed(lines(file), { code: 1 }).find((x) => x.kind === 'refused');
    return e?.kind === 'refused' ? e.refusal.reason : undefined;
  };
  assert.is(reasonIn('fail-401.jsonl'), 'auth');
  assert.is(reasonIn('fail-429-quota.jsonl'), 'quota');
  assert.is(reasonIn('fail-503.jsonl'), 'overloaded');
  assert.is(reasonIn('fail-429-rate-limit.jsonl'), 'rate-limit');
  const p = opencodeAdapter.parser();
  assert.equal(lines('fail-429-rate-limit.stderr').flatMap((l) => p.stderr(l)).map((e) => e.kind), ['refused'], 'the rate limit at its first retry line');
});

test('a refusal is seen on the first retry, in the stderr log line, long before opencode gives up', () => {
  const p = opencodeAdapter.parser();
  const events = lines('fail-429-quota.stderr').flatMap((l) => p.stderr(l));
  assert.equal(events, [{ kind: 'refused', refusal: { reason: 'quota', message: 'You exceeded your current quota, please check your plan and billing details.' } }]);
  assert.equal(p.stderr(lines('fail-429-quota.stderr')[0]!), [], 'said once');
  const other = opencodeAdapter.parser().stderr('timestamp=x level=ERROR run=1 message="stream error" providerID=mock error.error="AI_APICallError: mock bad request"');
  assert.is(other[0]?.kind, 'notice', 'an error that is no refusal is a notice');
});

test('refusalOf: the words and statuses of each vendor refusal', () => {
  assert.is(refusalOf(429, 'You exceeded your current quota'), 'quota');
  assert.is(refusalOf(429, 'Rate limit reached for requests'), 'rate-limit');
  assert.is(refusalOf(undefined, 'Too Many Requests'), 'rate-limit');
  assert.is(refusalOf(401, 'whatever'), 'auth');
  assert.is(refusalOf(undefined, 'Incorrect API key provided.'), 'auth');
  assert.is(refusalOf(529, 'x'), 'overloaded');
  assert.is(refusalOf(undefined, 'The server is overloaded'), 'overloaded');
  assert.is(refusalOf(400, 'mock bad request'), null);
  assert.is(refusalOf(500, 'internal error'), null);
});

test('an unknown session on resume: not ok, with opencode\'s words', () => {
  const r = resultOf(feed([], { code: 1 }, lines('resume-unknown.stderr')));
  assert.not.ok(r.ok);
  assert.equal(r.errors, ['Session not found']);
});

test('junk, unknown events and torn lines are ignored', () => {
  const p = opencodeAdapter.parser();
  assert.equal(p.line('not json'), []);
  assert.equal(p.line('{"type":"step_start"'), []);
  assert.equal(p.line('[1,2]'), []);
  assert.equal(p.line('{"type":"reasoning","sessionID":"ses_1","part":{}}'), [{ kind: 'session', sessionId: 'ses_1' }]);
  assert.equal(p.line('{"type":"text","sessionID":"ses_1","part":{"text":7}}'), []);
  assert.equal(p.stderr('some other log line'), []);
});

test('cost in dollars when the model config declares prices', () => {
  const priced = lines('start.jsonl').map((l) => l.replace('"cost":0', '"cost":0.25'));
  assert.is(resultOf(feed(priced, { code: 0 })).costUsd, 0.5);
});

test('command lines: start with the prompt on stdin and PWD = the worktree; resume by session id', () => {
  const start = opencodeAdapter.command({ cwd: '/w/t', prompt: 'do the job', systemText: 'coven rules', args: ['--model', 'p/m'] });
  assert.equal(start.args, ['run', '--format', 'json', '--print-logs', '--log-level', 'WARN', '--model', 'p/m']);
  assert.is(start.stdin, 'coven rules\n\ndo the job');
  assert.is(start.keepStdinOpen, false);
  assert.equal(start.env, { PWD: '/w/t' });
  const resume = opencodeAdapter.command({ cwd: '/w/t', prompt: 'fix it', systemText: 'coven rules', resume: 'ses_abc', args: [] });
  assert.equal(resume.args, ['run', '--format', 'json', '--print-logs', '--log-level', 'WARN', '--session', 'ses_abc']);
  assert.is(resume.stdin, 'fix it', 'the session\'s history already holds coven\'s text');
  assert.ok(opencodeAdapter.command({ cwd: '/w', prompt: 'p', args: [], permissionMode: 'bypassPermissions' }).args.includes('--auto'));
  assert.not.ok(opencodeAdapter.command({ cwd: '/w', prompt: 'p', args: [], permissionMode: 'acceptEdits' }).args.includes('--auto'));
  assert.is(opencodeAdapter.steering, false);
  assert.is(opencodeAdapter.envVar, 'COVEN_OPENCODE');
  assert.is(opencodeAdapter.argsKey, 'opencode_args');
});

test.run();
