// codex-adapter — the Codex adapter against the captured streams of the real CLI
// (test/fixtures/agent-cli-samples/codex/): events, verdicts, refusals; and its command lines.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codexAdapter, codexRefusal, innerCommand, resumeArgs } from '../scripts/lib/clis/codex.js';
import { adapterFor } from '../scripts/lib/clis/index.js';
import type { CliEvent } from '../scripts/lib/clis/adapter.js';

const samples = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'test', 'fixtures', 'agent-cli-samples', 'codex');
const sample = (name: string): string[] => readFileSync(join(samples, name), 'utf8').split('\n').filter((l) => l !== '');

type Exit = { code: number | null; signal: NodeJS.Signals | null };
/** Feeds a capture (stdout, then stderr if given) and the exit to a fresh parser. */
function parse(stdout: string[], stderr: string[] = [], exit: Exit = { code: 0, signal: null }): CliEvent[] {
  const p = codexAdapter.parser();
  return [...stdout.flatMap((l) => p.line(l)), ...stderr.flatMap((l) => p.stderr(l)), ...p.end(exit)];
}
const resultOf = (events: CliEvent[]): Extract<CliEvent, { kind: 'result' }> | undefined => events.find((e): e is Extract<CliEvent, { kind: 'result' }> => e.kind === 'result');
const refusalsOf = (events: CliEvent[]): Extract<CliEvent, { kind: 'refused' }>[] => events.filter((e): e is Extract<CliEvent, { kind: 'refused' }> => e.kind === 'refused');
const kinds = (events: CliEvent[], kind: CliEvent['kind']): CliEvent[] => events.filter((e) => e.kind === kind);

test('a start: the thread is the session, the shell call, the text, a successful result with tokens', () => {
  const events = parse(sample('start.jsonl'));
  assert.equal(events[0], { kind: 'session', sessionId: '01a24b0a-29c5-7f83-8fa9-b5f8f994853f' });
  assert.equal(kinds(events, 'tool'), [{ kind: 'tool', summary: 'Shell: echo hi > x.txt' }], 'shown once, at item.started, without the bash -lc wrapper');
  assert.equal(kinds(events, 'tool-failed'), []);
  assert.ok(events.some((e) => e.kind === 'notice' && e.text.startsWith('warning: Model metadata')), 'an error item is a warning');
  const r = resultOf(events)!;
  assert.equal(r, { kind: 'result', ok: true, subtype: 'success', text: 'FINAL1: ran the command, x.txt written.', errors: [], tokens: { input: 222, output: 44, cachedInput: 0 } });
  assert.equal(r.costUsd, undefined, 'Codex gives no dollars');
  assert.equal(refusalsOf(events), []);
});

test("a resume keeps the thread id; its tokens are the thread's running total", () => {
  const events = parse(sample('resume.jsonl'));
  assert.equal(events[0], { kind: 'session', sessionId: '01a24b0a-29c5-7f83-8fa9-b5f8f994853f' });
  const r = resultOf(events)!;
  assert.equal(r.ok, true);
  assert.equal(r.text, 'FINAL2: I remember x.txt from before.');
  assert.equal(r.tokens, { input: 333, output: 66, cachedInput: 0 }, 'the start (222) and this run (111) together');
});

test('an HTTP 400 is a failed turn judged by turn.failed, not a refusal', () => {
  const events = parse(sample('fail-codex.jsonl'), [], { code: 1, signal: null });
  const r = resultOf(events)!;
  assert.equal(r.ok, false);
  assert.equal(r.subtype, 'turn.failed');
  assert.ok(r.errors[0]?.includes('mock bad request (FAIL400)'));
  assert.equal(refusalsOf(events), []);
  assert.ok(events.some((e) => e.kind === 'notice' && e.text.startsWith('error: ')), 'the error event before it is shown');
});

test('the exit code never decides alone: turn.completed is ok whatever the exit', () => {
  assert.equal(resultOf(parse(sample('start.jsonl'), [], { code: 1, signal: null }))!.ok, true);
});

test('a failed shell command is a tool failure with its exit code and first line; the final text is the last message', () => {
  const events = parse(sample('tool-failures.jsonl'));
  assert.equal(
    kinds(events, 'tool').map((e) => (e as { summary: string }).summary),
    ['Shell: ls missing-dir', "Shell: printf 'it''s\\n' > a.txt && git add a.txt && git commit -qm 'add a' && echo committed"],
  );
  assert.equal(kinds(events, 'tool-failed'), [{ kind: 'tool-failed', summary: "Shell: ls missing-dir → exit 2: ls: cannot access 'missing-dir': No such file or directory" }]);
  assert.equal(kinds(events, 'text').length, 2);
  assert.equal(resultOf(events)!.text, 'FINAL: committed a.txt');
});

test('refusals: quota and a usage limit at once; auth, rate limit and overload at the first retry', () => {
  const cases: [string, string, RegExp][] = [
    ['refused-quota.jsonl', 'quota', /^Quota exceeded/],
    ['refused-usage-limit.jsonl', 'quota', /hit your usage limit/],
    ['refused-auth.jsonl', 'auth', /401 Unauthorized.*Codex would retry \(1\/5\)/],
    ['refused-rate.jsonl', 'rate-limit', /429 Too Many Requests.*Codex would retry \(1\/5\)/],
    ['refused-overloaded.jsonl', 'overloaded', /503 Service Unavailable.*Codex would retry \(1\/5\)/],
  ];
  for (const [name, reason, message] of cases) {
    const lines = sample(name);
    const events = parse(lines, [], { code: 1, signal: null });
    const refusals = refusalsOf(events);
    assert.equal(refusals.length, 1, `${name}: one refusal for the whole run`);
    assert.equal(refusals[0]!.refusal.reason, reason, name);
    assert.match(refusals[0]!.refusal.message, message, name);
    // the refusal comes with the first error line, before any retry is waited for
    const firstError = lines.findIndex((l) => l.startsWith('{"type":"error"'));
    const p = codexAdapter.parser();
    const early = lines.slice(0, firstError + 1).flatMap((l) => p.line(l));
    assert.equal(refusalsOf(early).length, 1, `${name}: refused at the first error line`);
    assert.equal(resultOf(events)!.ok, false, name);
  }
});

test('an unreachable API is waited for: notices, never a refusal, no result', () => {
  const events = parse(sample('network-retry.jsonl'), [], { code: null, signal: 'SIGKILL' });
  assert.equal(refusalsOf(events), []);
  assert.equal(resultOf(events), undefined);
  assert.ok(events.some((e) => e.kind === 'notice' && /waits for the network/.test(e.text)));
});

test('a run that ends before its turn fails with what stderr said (unknown thread id, unknown flag)', () => {
  const unknown = resultOf(parse([], readFileSync(join(samples, 'resume-unknown.stderr.txt'), 'utf8').split('\n'), { code: 1, signal: null }))!;
  assert.equal(unknown.ok, false);
  assert.match(unknown.errors[0]!, /^Error: thread\/resume: .*no rollout found for thread id 01a24c70-0000/);
  const flag = resultOf(parse([], readFileSync(join(samples, 'full-auto.stderr.txt'), 'utf8').split('\n'), { code: 2, signal: null }))!;
  assert.equal(flag.errors, ["error: unexpected argument '--full-auto' found"]);
  assert.equal(resultOf(parse([], [], { code: null, signal: 'SIGTERM' })), undefined, 'a killed run is the runner’s to judge');
});

test('codexRefusal reads the status Codex names, and its own words', () => {
  const table: [string, string | null][] = [
    ['Quota exceeded. Check your plan and billing details.', 'quota'],
    ['unexpected status 401 Unauthorized: Incorrect API key provided', 'auth'],
    ['unexpected status 403 Forbidden: nope', 'auth'],
    ['exceeded retry limit, last status: 429 Too Many Requests, request id: req_1', 'rate-limit'],
    ['unexpected status 503 Service Unavailable: The server is overloaded or not ready yet.', 'overloaded'],
    ['Missing environment variable: `OPENAI_API_KEY`.', 'auth'],
    ['Rate limit reached for gpt-5 in organization org-x. Please try again in 2s.', 'rate-limit'],
    ['We’re currently experiencing high demand, which may cause temporary errors.', null],
    ['unexpected status 500 Internal Server Error: boom', null],
    ['{"error":{"message":"mock bad request","type":"invalid_request_error"}}', null],
    ['Connection failed: error sending request', null],
  ];
  for (const [words, reason] of table) assert.equal(codexRefusal(words), reason, words);
});

test('start: exec --json without sandbox, the agent args, then -- and the prompt with coven text at its head; stdin closed', () => {
  const cmd = codexAdapter.command({ cwd: '/w', prompt: '-do it', systemText: 'RULES', args: ['-m', 'gpt-5'] });
  assert.equal(cmd.args, ['exec', '--json', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', '-m', 'gpt-5', '--', 'RULES\n\n---\n\n-do it']);
  assert.equal(cmd.stdin, null);
  assert.equal(cmd.keepStdinOpen, false);
  assert.equal(cmd.env, {});
  assert.not.ok(cmd.args.includes('--full-auto'), 'gone from Codex (exit 2)');
});

test('resume: exec resume … -- <thread id> <prompt> without coven\'s text (the thread holds it); the options resume refuses are dropped, -s becomes -c sandbox_mode', () => {
  const cmd = codexAdapter.command({ cwd: '/w', prompt: 'fix it', systemText: 'RULES', resume: 'T-1', args: ['-s', 'danger-full-access', '-C', '/elsewhere', '--add-dir=/x', '--oss', '-m', 'gpt-5', '-c', 'a=1'] });
  assert.equal(cmd.args, ['exec', 'resume', '--json', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', '-c', 'sandbox_mode="danger-full-access"', '-m', 'gpt-5', '-c', 'a=1', '--', 'T-1', 'fix it']);
  assert.equal(resumeArgs(['--sandbox=read-only', '-p', 'prof', '--', '-s']), ['-c', 'sandbox_mode="read-only"', '--', '-s']);
});

test('a prompt over 100 KB goes on stdin, with - in its place (start and resume)', () => {
  const big = 'x'.repeat(150 * 1024);
  const start = codexAdapter.command({ cwd: '/w', prompt: big, systemText: 'RULES', args: [] });
  assert.equal(start.args.at(-1), '-');
  assert.equal(start.stdin, `RULES\n\n---\n\n${big}`);
  assert.equal(start.keepStdinOpen, false);
  const resume = codexAdapter.command({ cwd: '/w', prompt: big, resume: 'T-1', args: [] });
  assert.equal(resume.args.slice(-3), ['--', 'T-1', '-']);
  assert.equal(resume.stdin, big);
});

test('innerCommand undoes the bash -lc quoting Codex shows', () => {
  assert.equal(innerCommand("/bin/bash -lc 'echo hi > x.txt'"), 'echo hi > x.txt');
  assert.equal(innerCommand(`/bin/bash -lc "echo 'it s' \\""'$HOME" && printf '"'a\\\\nb'\necho two"`), `echo 'it s' "$HOME" && printf 'a\\nb'\necho two`);
  assert.equal(innerCommand('git status'), 'git status');
});

test('the adapter says what Codex cannot do', () => {
  assert.equal(codexAdapter.steering, false);
  assert.equal(codexAdapter.costInDollars, false);
  assert.equal(codexAdapter.envVar, 'COVEN_CODEX');
  assert.equal(codexAdapter.argsKey, 'codex_args');
  assert.ok(codexAdapter.limits.some((l) => /steering/.test(l)));
  assert.ok(codexAdapter.limits.some((l) => /running token total/.test(l)));
  assert.equal(adapterFor('codex'), { kind: 'adapter', adapter: codexAdapter }, 'registered under its name');
});

test.run();
