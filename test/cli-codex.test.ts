// cli-codex — coven's guarantees on Codex, with the fake Codex CLI (fakes/codex.ts), through
// the session runner: coven's text at the head of the prompt and the agent's codex_args;
// a resume of the same thread from the same folder; the wall-clock timeout ends a Codex
// that waits for the network for ever; a refusal is `refused` at once; success is judged
// by turn.completed, with the thread's tokens.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runSession } from '../scripts/lib/session/runner.js';
import type { SessionOptions, SessionOutcome } from '../scripts/lib/session/session-contract.js';
import type { FakeRun } from './helpers/fake-claude.js';
import { fakeCodexEnv, readCodexLog, type FakeCodexEnv } from './helpers/fake-codex.js';
import { tempRepo } from './helpers/repo.js';

async function codexSession(script: FakeRun[] | null, opts: Partial<SessionOptions> & { env?: Record<string, string>; repo?: string; fake?: FakeCodexEnv } = {}): Promise<{ outcome: SessionOutcome; ms: number; env: FakeCodexEnv; repo: string }> {
  const repo = opts.repo ?? (await tempRepo());
  const env = opts.fake ?? fakeCodexEnv(script);
  const t0 = Date.now();
  const outcome = await runSession({ cwd: repo, prompt: 'Do the job.', cli: 'codex', killGraceMs: 500, ...opts, env: { ...process.env, ...env, ...opts.env } });
  return { outcome, ms: Date.now() - t0, env, repo };
}

test("coven's text goes at the head of the prompt, the agent's codex_args on the command line, and a resume takes the same thread in the same folder", async () => {
  const first = await codexSession([
    { expect: { resume: false, argvIncludes: ['-m', 'gpt-5.5'], promptIncludes: ['PROTOCOL TEXT', 'Do the job.'] }, steps: [{ bash: 'echo hi > x.txt' }], result: { text: 'did it' } },
    { expect: { resume: true, historyIncludes: 'Do the job.', promptIncludes: 'And now?' }, result: { text: 'again' } },
  ], { systemText: 'PROTOCOL TEXT', cliArgs: ['-m', 'gpt-5.5'] });
  assert.is(first.outcome.kind, 'success', JSON.stringify(first.outcome));
  const id = first.outcome.kind === 'success' ? first.outcome.sessionId : '';
  assert.ok(readCodexLog(first.env)[0]!.prompts[0]!.startsWith('PROTOCOL TEXT'), 'at the head');
  const second = await codexSession(null, { repo: first.repo, fake: first.env, prompt: 'And now?', resume: id });
  assert.is(second.outcome.kind, 'success', JSON.stringify(second.outcome));
  assert.is(second.outcome.kind === 'success' && second.outcome.sessionId, id);
  assert.equal(readCodexLog(first.env).map((c) => [c.resumed, c.exitCode, c.problems]), [[false, 0, []], [true, 0, []]]);
});

test('the wall-clock timeout ends a Codex that waits for the network for ever (no refusal, no result)', async () => {
  const { outcome, ms } = await codexSession(null, { timeoutMs: 1500, env: { FAKE_CODEX_OFFLINE: '1', FAKE_CODEX_RETRY_MS: '100' } });
  assert.is(outcome.kind, 'timed-out', JSON.stringify(outcome));
  assert.ok(ms < 6000, `ended after ${ms} ms`);
  assert.ok(outcome.kind === 'timed-out' && outcome.sessionId !== undefined, 'the thread id was known before the timeout');
});

for (const reason of ['quota', 'rate-limit', 'overloaded', 'auth'] as const) {
  test(`a ${reason} refusal of Codex is the outcome refused, at once (the CLI would retry for seconds)`, async () => {
    const { outcome, ms } = await codexSession([{ refuse: { reason } }], { env: { FAKE_CODEX_RETRY_MS: '3000' } });
    assert.is(outcome.kind, 'refused', JSON.stringify(outcome));
    assert.is(outcome.kind === 'refused' && outcome.refusal.reason, reason);
    assert.ok(ms < 3000, `refused after ${ms} ms`);
  });
}

test('success is judged by turn.completed, with the tokens; a failed turn is an agent error whatever the exit', async () => {
  const ok = await codexSession([{ steps: [{ bash: 'echo hi > x.txt' }, { text: 'all done' }], exit: 1 }]);
  assert.is(ok.outcome.kind, 'success', JSON.stringify(ok.outcome));
  assert.is(ok.outcome.kind === 'success' && ok.outcome.text, 'all done');
  assert.ok(ok.outcome.kind === 'success' && ok.outcome.tokens && ok.outcome.tokens.input > 0, 'tokens from turn.completed');
  const failed = await codexSession([{ api_error: { status: 400, message: 'bad request' } }]);
  assert.is(failed.outcome.kind, 'agent-error', JSON.stringify(failed.outcome));
  assert.ok(failed.outcome.kind === 'agent-error' && failed.outcome.errors.join(' ').includes('bad request'));
});

test.run();
