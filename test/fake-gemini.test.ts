// fake-gemini — the fake Gemini CLI behaves as the real 0.61.0 did (captures in
// test/fixtures/agent-cli-samples/gemini/): argument and trust rules, event fields in
// order, sessions per folder, exit codes after an API error, refusals that keep retrying.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { geminiAdapter } from '../scripts/lib/clis/gemini.js';
import type { CliEvent } from '../scripts/lib/clis/adapter.js';
import { fakeGeminiBin, fakeGeminiEnv, GEMINI_FLAGS, readGeminiLog, runFakeGemini, type FakeGeminiEnv } from './helpers/fake-gemini.js';
import { sh, tempDir, tempRepo } from './helpers/repo.js';

const samples = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'test', 'fixtures', 'agent-cli-samples', 'gemini');
const captured = (name: string): Record<string, unknown>[] => readFileSync(join(samples, name), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const events = (stdout: string): Record<string, unknown>[] => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const parsed = (stdout: string, stderr = '', code = 0): CliEvent[] => {
  const p = geminiAdapter.parser();
  return [...stdout.split('\n').flatMap((l) => p.line(l)), ...stderr.split('\n').flatMap((l) => p.stderr(l)), ...p.end({ code, signal: null })];
};
const resultOf = (evs: CliEvent[]): Extract<CliEvent, { kind: 'result' }> | undefined => evs.find((e): e is Extract<CliEvent, { kind: 'result' }> => e.kind === 'result');
/** the shape of an event: its type (and role), its keys in order, and those of its stats */
const shape = (e: Record<string, unknown>): string => `${String(e.type)}${e.role ? `/${String(e.role)}` : ''}: ${Object.keys(e).join(',')}${e.stats ? ` stats: ${Object.keys(e.stats as object).join(',')}` : ''}`;

const session = (prompt: string, extra: string[] = []): string[] => [...extra, '-p', prompt, ...GEMINI_FLAGS];

test('a start prints the events of the real CLI, field for field and in the same order', async () => {
  const repo = await tempRepo();
  const env = fakeGeminiEnv([{ steps: [{ bash: 'echo hi > x.txt', description: 'write x.txt' }], result: { text: 'FINAL1: ran the command, x.txt written.' } }]);
  const r = await runFakeGemini(session('Please create x.txt containing hi'), { cwd: repo, env });
  assert.equal(r.code, 0, r.stderr);
  const real = captured('start.jsonl').map(shape);
  assert.equal(events(r.stdout).map(shape), real);
  assert.equal(readFileSync(join(repo, 'x.txt'), 'utf8'), 'hi\n', 'the shell step ran in the cwd');
  const result = resultOf(parsed(r.stdout))!;
  assert.equal([result.ok, result.text], [true, 'FINAL1: ran the command, x.txt written.']);
});

test('tool failures look like the real ones: a failing command is a success, a missing file an error', async () => {
  const repo = await tempRepo();
  const env = fakeGeminiEnv([{ steps: [{ text: 'Let me look. ' }, { bash: 'echo out; echo boom >&2; exit 3' }, { read: 'missing.txt' }], result: { text: 'FINAL' } }]);
  const r = await runFakeGemini(session('TOOLS please'), { cwd: repo, env });
  const got = events(r.stdout);
  const real = captured('tool-failures.jsonl');
  for (const type of ['tool_result']) {
    assert.equal(got.filter((e) => e.type === type).map(shape), real.filter((e) => e.type === type).map(shape));
  }
  const results = got.filter((e) => e.type === 'tool_result');
  assert.equal([results[0]!.status, results[0]!.output], ['success', 'out\nboom']);
  assert.equal(results[1]!.status, 'error');
  assert.ok(parsed(r.stdout).some((e) => e.kind === 'tool-failed'));
});

test('without --skip-trust a fresh folder is untrusted: exit 55, nothing on stdout', async () => {
  const repo = await tempRepo();
  const env = fakeGeminiEnv([{}]);
  const r = await runFakeGemini(['-p', 'hello', '--output-format', 'stream-json', '--yolo'], { cwd: repo, env });
  assert.equal(r.code, 55);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /Gemini CLI is not running in a trusted directory/);
  assert.equal(resultOf(parsed(r.stdout, r.stderr, 55))?.errors[0]?.startsWith('Gemini CLI is not running in a trusted directory'), true);
});

test('an unknown option is a usage error (exit 1)', async () => {
  const r = await runFakeGemini(['--bogus-flag', ...session('x')], { cwd: await tempRepo(), env: fakeGeminiEnv([{}]) });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Unknown arguments: bogus-flag, bogusFlag/);
});

test('sessions are per folder: a resume keeps the id and the history; from another folder it fails as the real one (42)', async () => {
  const repo = await tempRepo();
  const other = join(tempDir(), 'other');
  mkdirSync(other);
  const env = fakeGeminiEnv([
    { match: { resume: false }, steps: [{ text: 'FIRST answer' }] },
    { match: { resume: true }, expect: { resume: true, historyIncludes: ['FIRST prompt', 'FIRST answer'] }, steps: [{ text: 'SECOND answer' }] },
  ]);
  const first = await runFakeGemini(session('FIRST prompt'), { cwd: repo, env });
  const id = String(events(first.stdout)[0]!.session_id);
  const elsewhere = await runFakeGemini(session('again', ['--resume', id]), { cwd: other, env });
  assert.equal([elsewhere.code, elsewhere.stdout], [42, '']);
  assert.match(elsewhere.stderr, /Error resuming session: No previous sessions found for this project\./);
  const unknown = await runFakeGemini(session('again', ['--resume', '00000000-0000-0000-0000-000000000000']), { cwd: repo, env });
  assert.equal(unknown.code, 42);
  assert.match(unknown.stderr, /Invalid session identifier "00000000-0000-0000-0000-000000000000"/);
  const again = await runFakeGemini(session('again', ['--resume', id]), { cwd: repo, env });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(events(again.stdout)[0]!.session_id, id);
  assert.equal(resultOf(parsed(again.stdout))!.text, 'SECOND answer');
  const projects = JSON.parse(readFileSync(join(env.GEMINI_CLI_HOME, '.gemini', 'projects.json'), 'utf8')) as { projects: Record<string, string> };
  assert.equal(Object.keys(projects.projects).sort(), [other, repo].sort());
  assert.ok(readdirSync(join(env.GEMINI_CLI_HOME, '.gemini', 'tmp', projects.projects[repo]!, 'chats')).every((f) => f.startsWith('session-')));
});

test('an HTTP 400 from the API: an error result, exit 144, no refusal', async () => {
  const env = fakeGeminiEnv([{ api_error: { status: 400, message: 'mock bad request (FAIL400)' } }]);
  const r = await runFakeGemini(session('FAIL400 please'), { cwd: await tempRepo(), env });
  assert.equal(r.code, 144);
  assert.equal(events(r.stdout).map(shape), captured('fail-gemini.jsonl').map(shape));
  const evs = parsed(r.stdout, r.stderr, 144);
  assert.equal(resultOf(evs)!.ok, false);
  assert.equal(evs.filter((e) => e.kind === 'refused'), []);
});

test('an auth refusal: the error result at once, exit 145, refused (auth)', async () => {
  const env = fakeGeminiEnv([{ refuse: { reason: 'auth' } }]);
  const r = await runFakeGemini(session('hello'), { cwd: await tempRepo(), env });
  assert.equal(r.code, 145);
  assert.equal(events(r.stdout).map(shape), captured('refused-auth.jsonl').map(shape));
  const refused = parsed(r.stdout, r.stderr, 145).find((e) => e.kind === 'refused');
  assert.equal(refused?.kind === 'refused' && refused.refusal.reason, 'auth');
});

/** Starts the fake and resolves with the first stderr line matching `re` (and when), then kills it. */
function firstStderrLine(env: FakeGeminiEnv, cwd: string, args: string[], re: RegExp): Promise<{ line: string; ms: number; stillRunningAfterMs: number }> {
  const started = Date.now();
  const child = spawn(fakeGeminiBin, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((done) => {
    let buffered = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      buffered += d;
      const line = buffered.split('\n').find((l) => re.test(l));
      if (!line) return;
      child.stderr.removeAllListeners('data');
      const ms = Date.now() - started;
      setTimeout(() => {
        const alive = child.exitCode === null;
        child.kill('SIGKILL');
        done({ line, ms, stillRunningAfterMs: alive ? Date.now() - started : -1 });
      }, 1000);
    });
  });
}

for (const [reason, re, refusal] of [
  ['quota', /^Attempt 1 failed with status 429\. Retrying with backoff\.\.\. _ApiError: .*RESOURCE_EXHAUSTED/, 'quota'],
  ['rate-limit', /^Attempt 1 failed: Resource has been exhausted/, 'rate-limit'],
  ['overloaded', /^Attempt 1 failed with status 503\. Retrying with backoff\.\.\. _ApiError: .*UNAVAILABLE/, 'overloaded'],
] as const) {
  test(`a ${reason} refusal prints the real CLI's retry line at once and keeps retrying; the adapter refuses on it`, async () => {
    const env = fakeGeminiEnv([{ refuse: { reason } }]);
    const seen = await firstStderrLine(env, await tempRepo(), session('hello'), re);
    assert.ok(seen.ms < 5000, `first retry line after ${seen.ms} ms`);
    assert.ok(seen.stillRunningAfterMs > 0, 'still retrying a second later');
    const found = geminiAdapter.parser().stderr(seen.line);
    assert.equal(found[0]?.kind === 'refused' && found[0].refusal.reason, refusal);
  });
}

test('a refusal ends after 10 attempts with an error result (FAKE_GEMINI_RETRY_MS scales the backoff)', async () => {
  const env = { ...fakeGeminiEnv([{ refuse: { reason: 'quota' } }]), FAKE_GEMINI_RETRY_MS: '5' };
  const r = await runFakeGemini(session('hello'), { cwd: await tempRepo(), env });
  assert.equal(r.code, 173);
  assert.equal((r.stderr.match(/^Attempt \d+ failed/gm) ?? []).length, 10);
  assert.equal(resultOf(parsed(r.stdout))!.ok, false);
});

test('a prompt on stdin comes before the -p text; -p "" takes stdin alone', async () => {
  const repo = await tempRepo();
  const env = fakeGeminiEnv([{ times: 'unlimited' }]);
  const big = `BIG ${'x'.repeat(200_000)} END`;
  await runFakeGemini(session(''), { cwd: repo, env, input: big });
  await runFakeGemini(session('TAIL'), { cwd: repo, env, input: 'HEAD' });
  const log = readGeminiLog(env);
  assert.equal(log[0]!.prompts[0], big);
  assert.equal(log[1]!.prompts[0], 'HEAD\n\nTAIL');
  const none = await runFakeGemini(session(''), { cwd: repo, env });
  assert.equal(none.code, 42);
  assert.match(none.stderr, /No input provided via stdin/);
});

test('a SIGTERM ends it with exit 0 and no result, as the real CLI', async () => {
  const env = fakeGeminiEnv([{ steps: [{ text: 'working' }], hang: 'before-result' }]);
  const child = spawn(fakeGeminiBin, session('hello'), { cwd: await tempRepo(), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  await new Promise<void>((ready) => child.stdout.on('data', (d: string) => ((out += d), out.includes('working') && ready())));
  child.kill('SIGTERM');
  assert.is(await exited, 0);
  assert.not.match(out, /"type":"result"/);
});

test('a commit step really commits in the cwd', async () => {
  const repo = await tempRepo();
  const env = fakeGeminiEnv([{ steps: [{ write: { path: 'a.txt', content: 'A\n' } }, { commit: 'add a' }] }]);
  const r = await runFakeGemini(session('commit it'), { cwd: repo, env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await sh(repo, 'log', '-1', '--format=%s'), 'add a');
  assert.ok(existsSync(join(repo, 'a.txt')));
});

test.run();
