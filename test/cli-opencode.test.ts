// cli-opencode — coven's session runner driving opencode (the fake, fakes/opencode.ts):
// the session works in the worktree even when the parent's PWD names the main checkout
// (opencode takes its directory from $PWD), success is judged with no result event, a
// resume continues the same session from the same worktree, the wall-clock timeout holds,
// and a refusal stops the session at once with the outcome `refused`.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSession, type SessionOptions, type SessionOutcome } from '../scripts/lib/session/runner.js';
import type { FakeRun } from '../fakes/claude.js';
import { fakeOpencodeEnv, readOpencodeLog } from './helpers/fake-opencode.js';
import { sh, tempDir, tempRepo } from './helpers/repo.js';

/** A repository with a linked worktree on branch `job`: the main checkout and the worktree. */
async function worktreeSetup(script: FakeRun[]) {
  const repo = await tempRepo();
  await sh(repo, 'config', 'user.email', 'agent@example.com');
  await sh(repo, 'config', 'user.name', 'agent');
  const worktree = join(tempDir('coven-wt-'), 'w1');
  await sh(repo, 'worktree', 'add', '-q', '-b', 'job', worktree);
  const env = fakeOpencodeEnv(script);
  const lines: string[] = [];
  // the parent's PWD names the main checkout, as when coven runs from there
  const opts = (more: Partial<SessionOptions> = {}): SessionOptions => ({ cli: 'opencode', cwd: worktree, prompt: 'do the job', env: { ...process.env, ...env, PWD: repo }, display: (l) => lines.push(l), lingerMs: 500, killGraceMs: 1000, ...more });
  return { repo, worktree, env, lines, opts };
}

function kindOf<K extends SessionOutcome['kind']>(o: SessionOutcome, kind: K): Extract<SessionOutcome, { kind: K }> {
  assert.is(o.kind, kind, JSON.stringify(o));
  return o as Extract<SessionOutcome, { kind: K }>;
}

test('a session commits in the worktree, not the main checkout its parent stands in; success judged with no result event', async () => {
  const s = await worktreeSetup([{ expect: { promptIncludes: ['coven rules', 'do the job'] }, steps: [{ write: { path: 'a.txt', content: 'a\n' } }, { commit: 'add a' }, { text: 'Committed a.txt.' }] }]);
  const o = kindOf(await runSession(s.opts({ systemText: 'coven rules' })), 'success');
  assert.is(o.text, 'Committed a.txt.');
  assert.match(o.sessionId, /^ses_/);
  assert.equal(o.tokens, { input: 333, output: 66, cachedInput: 0 }, 'summed over the three model calls');
  assert.is(await sh(s.worktree, 'log', '-1', '--format=%s'), 'add a');
  assert.is(await sh(s.repo, 'log', '-1', '--format=%s', 'main'), 'initial commit', 'main untouched');
  assert.not.ok(existsSync(join(s.repo, 'a.txt')), 'nothing in the main checkout');
  const [call] = readOpencodeLog(s.env);
  assert.is(call!.cwd, s.worktree);
  assert.is(call!.env.PWD, s.worktree);
  assert.equal(call!.problems, []);
});

test('a resume continues the same session from the same worktree', async () => {
  const s = await worktreeSetup([
    { match: { resume: false }, steps: [{ text: 'FIRST done.' }] },
    { match: { resume: true }, expect: { historyIncludes: ['do the job', 'FIRST done.'], promptIncludes: 'now fix it' }, steps: [{ bash: 'touch fixed.txt' }, { text: 'Fixed.' }] },
  ]);
  const first = kindOf(await runSession(s.opts()), 'success');
  const second = kindOf(await runSession(s.opts({ prompt: 'now fix it', resume: first.sessionId })), 'success');
  assert.is(second.sessionId, first.sessionId);
  assert.is(second.text, 'Fixed.');
  assert.ok(existsSync(join(s.worktree, 'fixed.txt')));
  const calls = readOpencodeLog(s.env);
  assert.equal(calls.flatMap((c) => c.problems), []);
  const argv = calls[1]!.argv;
  assert.is(argv[argv.indexOf('--session') + 1], first.sessionId);
  assert.is(calls[1]!.cwd, s.worktree);
});

test('an error event makes an agent error with its words, though the work before it stays', async () => {
  const s = await worktreeSetup([{ steps: [{ text: 'trying' }], result: { subtype: 'error_during_execution', errors: ['boom'] } }]);
  const o = kindOf(await runSession(s.opts()), 'agent-error');
  assert.is(o.subtype, 'api_error');
  assert.match(o.errors.join(' '), /boom/);
  assert.is(o.text, 'trying');
});

test('the wall-clock timeout ends a session that never finishes', async () => {
  const s = await worktreeSetup([{ steps: [{ text: 'thinking' }], hang: 'before-result' }]);
  const started = Date.now();
  const o = kindOf(await runSession(s.opts({ timeoutMs: 1500 })), 'timed-out');
  assert.is(o.timeoutMs, 1500);
  assert.match(o.sessionId ?? '', /^ses_/);
  assert.ok(Date.now() - started < 8000, `took ${Date.now() - started} ms`);
});

for (const reason of ['quota', 'rate-limit', 'auth', 'overloaded'] as const) {
  test(`a ${reason} refusal: outcome refused at the first sign, not after opencode's minute of retries`, async () => {
    const s = await worktreeSetup([{ refuse: { reason } }]);
    const started = Date.now();
    const o = kindOf(await runSession(s.opts({ timeoutMs: 120_000 })), 'refused');
    assert.is(o.refusal.reason, reason);
    assert.ok(Date.now() - started < 5000, `stopped after ${Date.now() - started} ms`);
    assert.ok(s.lines.some((l) => l.includes(`refused (${reason})`)), s.lines.join('\n'));
  });
}

test('a refusal after some work: what the steps did stays (their events came first), the outcome is refused with the session id', async () => {
  const s = await worktreeSetup([{ steps: [{ write: { path: 'a.txt', content: 'a\n' } }, { commit: 'add a' }], refuse: { reason: 'overloaded' } }]);
  const o = kindOf(await runSession(s.opts({ timeoutMs: 120_000 })), 'refused');
  assert.is(o.refusal.reason, 'overloaded');
  assert.match(o.sessionId ?? '', /^ses_/);
  assert.is(await sh(s.worktree, 'log', '-1', '--format=%s'), 'add a');
});

test('a resume in another worktree would hang silently (as the real opencode): only the timeout ends it', async () => {
  const s = await worktreeSetup([{ steps: [{ text: 'one' }] }, { steps: [{ text: 'two' }] }]);
  const first = kindOf(await runSession(s.opts()), 'success');
  const elsewhere = await tempRepo('elsewhere');
  const o = await runSession(s.opts({ cwd: elsewhere, resume: first.sessionId, timeoutMs: 1500 }));
  assert.is(o.kind, 'timed-out');
  assert.ok(readFileSync(join(s.env.XDG_DATA_HOME, 'opencode', 'fake-sessions', `${first.sessionId}.json`), 'utf8').includes('"two"'), 'the work went to the session\'s own directory');
});

test.run();
