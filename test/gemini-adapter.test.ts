// gemini-adapter — the Gemini CLI adapter against the captured streams of the real CLI
// (test/fixtures/agent-cli-samples/gemini/): events, verdicts, refusals; and its command lines.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { geminiAdapter, geminiRefusal, readStderrLine } from '../scripts/lib/clis/gemini.js';
import type { CliEvent } from '../scripts/lib/clis/adapter.js';

const samples = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'test', 'fixtures', 'agent-cli-samples', 'gemini');
const sample = (name: string): string[] => readFileSync(join(samples, name), 'utf8').split('\n').filter((l) => l !== '');

/** Feeds a capture (stdout, then stderr if given) and the exit to a fresh parser. */
function parse(stdout: string[], stderr: string[] = [], exit: { code: number | null; signal: NodeJS.Signals | null } = { code: 0, signal: null }): CliEvent[] {
  const p = geminiAdapter.parser();
  return [...stdout.flatMap((l) => p.line(l)), ...stderr.flatMap((l) => p.stderr(l)), ...p.end(exit)];
}
const resultOf = (events: CliEvent[]): Extract<CliEvent, { kind: 'result' }> | undefined => events.find((e): e is Extract<CliEvent, { kind: 'result' }> => e.kind === 'result');
const refusalsOf = (events: CliEvent[]): Extract<CliEvent, { kind: 'refused' }>[] => events.filter((e): e is Extract<CliEvent, { kind: 'refused' }> => e.kind === 'refused');

test('a start: session, the shell call, the text, a successful result with tokens', () => {
  const events = parse(sample('start.jsonl'));
  assert.equal(events[0], { kind: 'session', sessionId: 'f4ef571d-76fc-402f-bd93-d558a76c970f', model: 'auto' });
  assert.ok(events.some((e) => e.kind === 'tool' && e.summary === 'Shell: echo hi > x.txt'));
  assert.ok(events.some((e) => e.kind === 'text' && e.delta === true && e.text === 'FINAL1: ran the command, x.txt written.'));
  const r = resultOf(events)!;
  assert.equal(r.ok, true);
  assert.equal(r.subtype, 'success');
  assert.equal(r.text, 'FINAL1: ran the command, x.txt written.');
  assert.equal(r.tokens, { input: 333, output: 66, cachedInput: 0 });
  assert.equal(r.durationMs, 180);
  assert.equal(r.costUsd, undefined, 'Gemini CLI gives no dollars');
  assert.equal(refusalsOf(events), []);
});

test('a resume keeps the session id and gives its own final text', () => {
  const r = resultOf(parse(sample('resume.jsonl')))!;
  assert.equal(r.ok, true);
  assert.equal(r.text, 'FINAL2: I remember x.txt from before.');
  assert.equal(parse(sample('resume.jsonl'))[0], { kind: 'session', sessionId: 'f4ef571d-76fc-402f-bd93-d558a76c970f', model: 'auto' });
});

test('an HTTP 400 (exit 144) is a failed result judged by the event, not a refusal', () => {
  for (const name of ['fail-gemini.jsonl', 'fail-gemini2.jsonl']) {
    const events = parse(sample(name), [], { code: 144, signal: null });
    const r = resultOf(events)!;
    assert.equal(r.ok, false, name);
    assert.ok(r.errors[0]?.includes('mock bad request (FAIL400)'), name);
    assert.equal(refusalsOf(events), [], name);
  }
});

test('the exit code never decides alone: a success result is ok even with exit 144', () => {
  assert.equal(resultOf(parse(sample('start.jsonl'), [], { code: 144, signal: null }))!.ok, true);
});

test('text comes in chunks: concatenated, and the final text is what came after the last tool call', () => {
  const events = parse(sample('tool-failures.jsonl'));
  const r = resultOf(events)!;
  assert.equal(r.text, 'FINAL: the command failed with exit 3 and missing.txt is not there.');
  assert.equal(events.filter((e) => e.kind === 'text').length, 6);
});

test('a failed tool (read_file of a missing file) is tool-failed; a shell command that exits 3 is not (only the model sees its code)', () => {
  const events = parse(sample('tool-failures.jsonl'));
  const failed = events.filter((e) => e.kind === 'tool-failed');
  assert.equal(failed.length, 1);
  assert.ok(failed[0]!.kind === 'tool-failed' && failed[0]!.summary.startsWith('read_file: File not found: '), JSON.stringify(failed));
  assert.ok(events.some((e) => e.kind === 'tool' && e.summary === 'ReadFile: missing.txt'));
});

const refusals: [string, string, number | null][] = [
  ['auth', 'auth', 145],
  ['daily', 'quota', 173],
  ['quota', 'quota', null],
  ['rate', 'rate-limit', null],
  ['overloaded', 'overloaded', null],
];
for (const [name, reason, code] of refusals) {
  test(`the real CLI's ${name} failure is refused (${reason}), once, from ${code === null ? 'its first retry line on stderr' : 'its error result'}`, () => {
    const stdout = sample(`refused-${name}.jsonl`);
    const stderr = sample(`refused-${name}.stderr.txt`);
    const events = parse(stdout, stderr, { code, signal: code === null ? 'SIGKILL' : null });
    const refused = refusalsOf(events);
    assert.equal(refused.length, 1, JSON.stringify(events));
    assert.equal(refused[0]!.refusal.reason, reason);
    assert.ok(refused[0]!.refusal.message.length > 0 && !refused[0]!.refusal.message.includes('\n'));
    if (code !== null) assert.equal(resultOf(events)!.ok, false);
    // a retried one: the refusal comes from stderr alone, at the first retry line
    if (code === null) {
      const p = geminiAdapter.parser();
      stdout.forEach((l) => p.line(l));
      const firstRetry = stderr.findIndex((l) => l.startsWith('Attempt 1 failed'));
      const before = stderr.slice(0, firstRetry).flatMap((l) => p.stderr(l));
      assert.equal(refusalsOf(before), []);
      assert.equal(p.stderr(stderr[firstRetry]!)[0]?.kind, 'refused');
    }
  });
}

test('the ordinary stderr lines are no events', () => {
  const p = geminiAdapter.parser();
  for (const line of ['Warning: 256-color support not detected.', 'YOLO mode is enabled. All tool calls will be automatically approved.', 'Ripgrep is not available. Falling back to GrepTool.', '    at async Turn.run (file:///x.js:1:1) {', '  status: 429', '}']) assert.equal(p.stderr(line), [], line);
});

test('a retried 500 is a notice, not a refusal (another CLI would not do better)', () => {
  const found = readStderrLine('Attempt 1 failed with status 500. Retrying with backoff... _ApiError: {"error":{"code":500,"status":"INTERNAL","message":"internal"}}');
  assert.equal(found?.refusal, null);
  const events = geminiAdapter.parser().stderr('Attempt 1 failed with status 500. Retrying with backoff... _ApiError: {"error":{"code":500,"status":"INTERNAL","message":"internal"}}');
  assert.equal(events[0]?.kind, 'notice');
});

test('an error event about the quota is a refusal; a warning is a notice', () => {
  const p = geminiAdapter.parser();
  assert.equal(p.line(JSON.stringify({ type: 'error', timestamp: 't', severity: 'warning', message: 'Loop detected' }))[0]?.kind, 'notice');
  const refused = p.line(JSON.stringify({ type: 'error', timestamp: 't', severity: 'error', message: '[API Error: You have exhausted your daily quota on this model.]' }));
  assert.equal(refused, [{ kind: 'refused', refusal: { reason: 'quota', message: '[API Error: You have exhausted your daily quota on this model.]' } }]);
  const q = geminiAdapter.parser().line(JSON.stringify({ type: 'error', timestamp: 't', severity: 'error', message: 'Quota exceeded for quota metric generate_content_requests' }));
  assert.equal(q[0]?.kind === 'refused' && q[0].refusal.reason, 'quota');
});

test('geminiRefusal: statuses and words', () => {
  assert.equal(geminiRefusal(429, 'You exceeded your current quota, please check your plan and billing details.'), 'quota');
  assert.equal(geminiRefusal(429, 'Resource has been exhausted'), 'rate-limit');
  assert.equal(geminiRefusal(undefined, '{"error":{"code":401,"status":"UNAUTHENTICATED"}}'), 'auth');
  assert.equal(geminiRefusal(403, 'Permission denied'), 'auth');
  assert.equal(geminiRefusal(503, 'The model is overloaded.'), 'overloaded');
  assert.equal(geminiRefusal(400, 'mock bad request'), null);
  assert.equal(geminiRefusal(500, 'internal'), null);
});

test('a run that ends without a result fails with what it said on stderr (a resume from another folder, an untrusted folder)', () => {
  const other = resultOf(parse([], sample('resume-other-cwd.stderr.txt'), { code: 42, signal: null }))!;
  assert.equal(other.ok, false);
  assert.equal(other.errors, ['Error resuming session: No previous sessions found for this project.']);
  const untrusted = resultOf(parse([], sample('untrusted-folder.stderr.txt'), { code: 55, signal: null }))!;
  assert.ok(untrusted.errors[0]?.startsWith('Gemini CLI is not running in a trusted directory.'));
  // killed by coven: no made-up result
  assert.equal(resultOf(parse([], sample('resume-other-cwd.stderr.txt'), { code: null, signal: 'SIGKILL' })), undefined);
});

test('a prompt that starts with a dash or holds option-like lines stays one --prompt= value (yargs would read "-p", "- fix" as options)', () => {
  for (const prompt of ['- fix the bug\n--yolo', '--model=x', '--help please', '-v is broken']) {
    const c = geminiAdapter.command({ cwd: '/w', prompt, args: [] });
    assert.equal(c.args[0], `--prompt=${prompt}`, prompt);
    assert.not.ok(c.args.includes(prompt), 'never a bare argument');
  }
});

test('junk and unknown events are ignored', () => {
  const p = geminiAdapter.parser();
  for (const line of ['', 'not json', '{"type":"future_event","x":1}', '{"type":"init"}', '[1,2]']) assert.equal(p.line(line), [], line);
});

test('start: --prompt= with coven\'s text at the head of the prompt, stream-json, --yolo, --skip-trust, then the agent\'s args; stdin closed', () => {
  const c = geminiAdapter.command({ cwd: '/w', prompt: 'Do it.', systemText: 'PROTOCOL', args: ['-m', 'gemini-2.5-pro'] });
  assert.equal(c.args, ['--prompt=PROTOCOL\n\n---\n\nDo it.', '--output-format', 'stream-json', '--yolo', '--skip-trust', '-m', 'gemini-2.5-pro']);
  assert.equal(c.stdin, null);
  assert.equal(c.keepStdinOpen, false);
});

test('resume: --resume <id> first, the prompt with --prompt= (coven\'s text is already in the session\'s history)', () => {
  const c = geminiAdapter.command({ cwd: '/w', prompt: 'Fix the conflict.', systemText: 'PROTOCOL', resume: 'f4ef571d-76fc-402f-bd93-d558a76c970f', args: [] });
  assert.equal(c.args, ['--resume', 'f4ef571d-76fc-402f-bd93-d558a76c970f', '--prompt=Fix the conflict.', '--output-format', 'stream-json', '--yolo', '--skip-trust']);
  assert.equal(c.stdin, null);
});

test('a prompt over 100 KB goes on stdin with an empty --prompt= (the CLI puts piped stdin before the -p text)', () => {
  const big = 'x'.repeat(150 * 1024);
  const c = geminiAdapter.command({ cwd: '/w', prompt: big, systemText: 'PROTOCOL', args: [] });
  assert.equal(c.args.slice(0, 1), ['--prompt=']);
  assert.equal(c.stdin, `PROTOCOL\n\n---\n\n${big}`);
  assert.equal(c.keepStdinOpen, false);
  assert.ok(c.args.every((a) => a.length < 1000));
});

test('what it cannot do is said', () => {
  assert.equal(geminiAdapter.steering, false);
  assert.equal(geminiAdapter.costInDollars, false);
  assert.equal(geminiAdapter.steerLine, undefined);
  assert.ok(geminiAdapter.limits.length >= 3);
  assert.equal([geminiAdapter.envVar, geminiAdapter.argsKey, geminiAdapter.defaultCommand], ['COVEN_GEMINI', 'gemini_args', 'gemini']);
});

test.run();
