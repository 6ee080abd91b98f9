// fake-codex — the fake Codex CLI behaves as the real 0.171.0 did (captures in
// test/fixtures/agent-cli-samples/codex/): argument rules, events and fields in order,
// sessions on disk and resume by thread id, the sandbox that cannot commit, refusals with
// the real retry lines, and an unreachable API waited for for ever.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codexAdapter } from '../scripts/lib/clis/codex.js';
import { shlexQuote } from '../fakes/codex.js';
import type { CliEvent } from '../scripts/lib/clis/adapter.js';
import { codexResume, codexStart, fakeCodexBin, fakeCodexEnv, readCodexLog, runFakeCodex } from './helpers/fake-codex.js';
import { sh, tempDir, tempRepo } from './helpers/repo.js';

const samples = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'test', 'fixtures', 'agent-cli-samples', 'codex');
const captured = (name: string): Record<string, unknown>[] => readFileSync(join(samples, name), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const events = (stdout: string): Record<string, unknown>[] => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const parsed = (stdout: string, stderr = '', code = 0): CliEvent[] => {
  const p = codexAdapter.parser();
  return [...stdout.split('\n').flatMap((l) => p.line(l)), ...stderr.split('\n').flatMap((l) => p.stderr(l)), ...p.end({ code, signal: null })];
};
const resultOf = (evs: CliEvent[]): Extract<CliEvent, { kind: 'result' }> | undefined => evs.find((e): e is Extract<CliEvent, { kind: 'result' }> => e.kind === 'result');
/** an event's shape: its type (and its item's type), its keys in order, its item's and usage's keys */
const shape = (e: Record<string, unknown>): string => {
  const item = e.item as Record<string, unknown> | undefined;
  const usage = e.usage as Record<string, unknown> | undefined;
  return `${String(e.type)}${item ? `/${String(item.type)}` : ''}: ${Object.keys(e).join(',')}${item ? ` item: ${Object.keys(item).join(',')}` : ''}${usage ? ` usage: ${Object.keys(usage).join(',')}` : ''}`;
};
/** The real CLI warned about the mock's model: the fake does for a model it does not know. */
const mockModel = ['-m', 'mock-model'];

test('a start prints the events of the real CLI, field for field and in the same order; the shell step ran', async () => {
  const repo = await tempRepo();
  const env = fakeCodexEnv([{ steps: [{ bash: 'echo hi > x.txt' }], result: { text: 'FINAL1: ran the command, x.txt written.' } }]);
  const r = await runFakeCodex(codexStart('Please create x.txt containing hi', mockModel), { cwd: repo, env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(events(r.stdout).map(shape), captured('start.jsonl').map(shape));
  assert.equal(readFileSync(join(repo, 'x.txt'), 'utf8'), 'hi\n');
  const cmd = events(r.stdout).find((e) => e.type === 'item.completed' && (e.item as { type: string }).type === 'command_execution')!.item as Record<string, unknown>;
  assert.equal([cmd.command, cmd.exit_code, cmd.status], ["/bin/bash -lc 'echo hi > x.txt'", 0, 'completed']);
  const result = resultOf(parsed(r.stdout))!;
  assert.equal([result.ok, result.text], [true, 'FINAL1: ran the command, x.txt written.']);
  assert.match(r.stderr, /Reading additional input from stdin\.\.\./);
});

test('a resume by thread id from the same folder: same thread, the history seen, usage as a running total; the rollout is where the real CLI keeps it', async () => {
  const repo = await tempRepo();
  const env = fakeCodexEnv([
    { match: { resume: false }, steps: [{ bash: 'echo hi > x.txt' }], result: { text: 'FINAL1' } },
    { match: { resume: true }, expect: { resume: true, historyIncludes: 'the first prompt' }, result: { text: 'FINAL2: I remember x.txt from before.' } },
  ]);
  const first = await runFakeCodex(codexStart('the first prompt', mockModel), { cwd: repo, env });
  const id = String(events(first.stdout)[0]!.thread_id);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const day = new Date().toISOString().slice(0, 10).split('-');
  assert.ok(existsSync(join(env.CODEX_HOME, 'sessions', ...day)) && readCodexLog(env)[0]!.sessionId === id);
  const second = await runFakeCodex(codexResume(id, 'what did you do?', mockModel), { cwd: repo, env });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(events(second.stdout).map(shape), captured('resume.jsonl').map(shape));
  assert.equal(events(second.stdout)[0]!.thread_id, id);
  const [u1, u2] = [first, second].map((r) => (events(r.stdout).at(-1)!.usage as { input_tokens: number }).input_tokens);
  assert.ok(u2! > u1!, `running total: ${u1} then ${u2}`);
  assert.equal(readCodexLog(env).map((c) => c.resumed), [false, true]);
});

test('a resume of an unknown id, or from another folder, fails as the real one does: exit 1, nothing on stdout', async () => {
  const repo = await tempRepo();
  const other = await tempRepo('other');
  const env = fakeCodexEnv([{ times: 'unlimited' }]);
  const first = await runFakeCodex(codexStart('hello'), { cwd: repo, env });
  const id = String(events(first.stdout)[0]!.thread_id);
  const unknown = await runFakeCodex(codexResume('01a24c70-0000-7411-906b-6c8a1eb55733', 'again'), { cwd: repo, env });
  assert.equal([unknown.code, unknown.stdout], [1, '']);
  const real = readFileSync(join(samples, 'resume-unknown.stderr.txt'), 'utf8').split('\n')[1]!;
  assert.ok(unknown.stderr.includes(real), unknown.stderr);
  const elsewhere = await runFakeCodex(codexResume(id, 'again'), { cwd: other, env });
  assert.equal([elsewhere.code, elsewhere.stdout], [1, '']);
  assert.match(elsewhere.stderr, new RegExp(`no rollout found for thread id ${id}`));
  const r = resultOf(parsed(elsewhere.stdout, elsewhere.stderr, 1))!;
  assert.equal(r.ok, false);
  assert.match(r.errors[0]!, /^Error: thread\/resume/);
});

test('usage errors: an unknown flag (--full-auto) and -C on a resume exit 2 with clap’s words; no prompt on stdin exits 1', async () => {
  const repo = await tempRepo();
  const env = fakeCodexEnv(null);
  const fullAuto = await runFakeCodex(['exec', '--json', '--full-auto', 'hi'], { cwd: repo, env });
  assert.equal(fullAuto.code, 2);
  const real = readFileSync(join(samples, 'full-auto.stderr.txt'), 'utf8').split('\n').slice(1).join('\n');
  assert.equal(fullAuto.stderr, real);
  const cd = await runFakeCodex(['exec', 'resume', '--json', '-C', repo, 'abc', 'hi'], { cwd: repo, env });
  assert.equal(cd.code, 2);
  assert.match(cd.stderr, /^error: unexpected argument '-C' found[\s\S]*Usage: codex exec resume \[OPTIONS\] \[SESSION_ID\] \[PROMPT\]/);
  const none = await runFakeCodex(['exec', '--json', '--skip-git-repo-check', '-'], { cwd: repo, env, input: '' });
  assert.equal([none.code, none.stderr], [1, 'Reading prompt from stdin...\nNo prompt provided via stdin.\n']);
  const notGit = await runFakeCodex(['exec', '--json', 'hi'], { cwd: tempDir(), env });
  assert.equal([notGit.code, notGit.stderr.trim().split('\n').at(-1)], [1, 'Not inside a trusted directory and --skip-git-repo-check was not specified.']);
  assert.equal((await runFakeCodex(['--version'], { cwd: repo, env })).stdout, 'codex-cli 0.171.0\n');
});

test('the prompt: from stdin with -, and an argument gets piped stdin appended as a <stdin> block', async () => {
  const repo = await tempRepo();
  const env = fakeCodexEnv([{ times: 'unlimited', result: { text: 'read' } }]);
  const big = 'p'.repeat(150 * 1024);
  const fromStdin = await runFakeCodex(codexStart('-'), { cwd: repo, env, input: big });
  assert.equal(fromStdin.code, 0, fromStdin.stderr);
  assert.equal(readCodexLog(env)[0]!.prompts, [big]);
  await runFakeCodex(codexStart('the arg'), { cwd: repo, env, input: 'extra stdin' });
  assert.equal(readCodexLog(env)[1]!.prompts, ['the arg\n\n<stdin>\nextra stdin\n</stdin>']);
});

test('the sandbox: without the bypass a commit fails (read-only git dir), as in a linked worktree; with it the commit is made', async () => {
  const repo = await tempRepo();
  const env = fakeCodexEnv([{ times: 'unlimited', steps: [{ write: { path: 'a.txt', content: 'a\n' } }, { commit: 'add a' }] }]);
  const before = await sh(repo, 'rev-parse', 'HEAD');
  const sandboxed = await runFakeCodex(['exec', '--json', '-s', 'workspace-write', '--', 'commit it'], { cwd: repo, env });
  const failed = events(sandboxed.stdout).find((e) => e.type === 'item.completed' && (e.item as { type: string }).type === 'command_execution')!.item as Record<string, unknown>;
  assert.equal([failed.exit_code, failed.status], [128, 'failed']);
  assert.match(String(failed.aggregated_output), /index\.lock': Read-only file system/);
  assert.equal(await sh(repo, 'rev-parse', 'HEAD'), before);
  const bypassed = await runFakeCodex(codexStart('commit it'), { cwd: repo, env });
  assert.equal(bypassed.code, 0, bypassed.stderr);
  assert.equal(await sh(repo, 'log', '-1', '--format=%s'), 'add a');
});

test('refusals print what the real CLI prints (retries included) and the adapter reads each one', async () => {
  const repo = await tempRepo();
  const cases = [
    ['quota', 'refused-quota.jsonl'],
    ['auth', 'refused-auth.jsonl'],
    ['rate-limit', 'refused-rate.jsonl'],
    ['overloaded', 'refused-overloaded.jsonl'],
  ] as const;
  for (const [reason, sample] of cases) {
    const env = { ...fakeCodexEnv([{ refuse: { reason } }]), FAKE_CODEX_RETRY_MS: '0' };
    const r = await runFakeCodex(codexStart('hello', mockModel), { cwd: repo, env });
    assert.equal(r.code, 1, reason);
    assert.equal(events(r.stdout).map(shape), captured(sample).map(shape), reason);
    const got = parsed(r.stdout, r.stderr, 1);
    assert.equal(got.filter((e) => e.kind === 'refused').map((e) => (e as { refusal: { reason: string } }).refusal.reason), [reason], reason);
    assert.equal(resultOf(got)!.ok, false, reason);
  }
});

test('a refusal comes at the model call after the steps: what the steps did stays', async () => {
  const repo = await tempRepo();
  const env = { ...fakeCodexEnv([{ steps: [{ bash: 'echo hi > x.txt' }], refuse: { reason: 'quota' } }]), FAKE_CODEX_RETRY_MS: '0' };
  const r = await runFakeCodex(codexStart('hello'), { cwd: repo, env });
  assert.equal(r.code, 1);
  assert.equal(events(r.stdout).map((e) => e.type).slice(-4), ['item.started', 'item.completed', 'error', 'turn.failed']);
  assert.equal(readFileSync(join(repo, 'x.txt'), 'utf8'), 'hi\n');
});

test('an API error (400) is an error and a turn.failed, as captured; exit 1', async () => {
  const repo = await tempRepo();
  const env = fakeCodexEnv([{ api_error: { status: 400, message: 'mock bad request (FAIL400)' } }]);
  const r = await runFakeCodex(codexStart('hello', mockModel), { cwd: repo, env });
  assert.equal(r.code, 1);
  assert.equal(events(r.stdout).map(shape), captured('fail-codex.jsonl').map(shape));
  assert.equal(parsed(r.stdout).filter((e) => e.kind === 'refused'), []);
});

test('with the API unreachable it waits for the network for ever, and SIGTERM ends it by the signal', async () => {
  const repo = await tempRepo();
  const env = { ...process.env, ...fakeCodexEnv(null), FAKE_CODEX_OFFLINE: '1', FAKE_CODEX_RETRY_MS: '30' };
  const child = spawn(fakeCodexBin, codexStart('hello'), { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('exit', (code, signal) => done({ code, signal })));
  const deadline = Date.now() + 15_000;
  while ((out.match(/waiting for network/g) ?? []).length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(child.exitCode, null, 'still retrying');
  child.kill('SIGTERM');
  assert.equal(await ended, { code: null, signal: 'SIGTERM' });
  const evs = parsed(out);
  assert.equal(evs.filter((e) => e.kind === 'refused' || e.kind === 'result'), [], 'no refusal, no result: only the timeout ends it');
  assert.equal(events(out).slice(-1)[0], { type: 'error', message: 'Reconnecting... waiting for network (Connection failed: error sending request)' });
});

test('commands are shown quoted as the real CLI quotes them (Rust shlex)', () => {
  assert.equal(shlexQuote('echo hi > x.txt'), "'echo hi > x.txt'");
  assert.equal(shlexQuote("printf 'a\\n' > a.txt && git commit -q -m 'add a'"), `"printf 'a\\\\n' > a.txt && git commit -q -m 'add a'"`);
  assert.equal(shlexQuote(`echo 'it s' "$HOME" && printf 'a\\nb'\necho two`), `"echo 'it s' \\""'$HOME" && printf '"'a\\\\nb'\necho two"`);
  assert.equal(shlexQuote('ls'), 'ls');
});

test.run();
