// cli-gemini — coven's guarantees on Gemini CLI, with the fake Gemini CLI (fakes/gemini.ts):
// a worker cycle whose agent says `cli: gemini` commits and lands; a dispatch on Gemini
// whose first answer is invalid is corrected by resuming the same session; a conflict is
// resolved by resuming the same Gemini session from the same worktree; the wall-clock
// timeout ends a Gemini CLI that keeps retrying; a refusal is `refused` at once; the exit
// code (144 after an API error) never decides alone.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runSession } from '../scripts/lib/session/runner.js';
import type { SessionOutcome } from '../scripts/lib/session/session-contract.js';
import type { FakeRun } from './helpers/fake-claude.js';
import { fakeGeminiEnv, readGeminiLog, type FakeGeminiEnv } from './helpers/fake-gemini.js';
import { tempRepo } from './helpers/repo.js';

async function geminiSession(script: FakeRun[], opts: { timeoutMs?: number } = {}): Promise<{ outcome: SessionOutcome; ms: number; env: FakeGeminiEnv }> {
  const repo = await tempRepo();
  const env = fakeGeminiEnv(script);
  const t0 = Date.now();
  const outcome = await runSession({ cwd: repo, prompt: 'Do the job.', cli: 'gemini', env: { ...process.env, ...env }, killGraceMs: 500, ...opts });
  return { outcome, ms: Date.now() - t0, env };
}

test('the wall-clock timeout ends a Gemini CLI that keeps retrying (a 500 is no refusal)', async () => {
  const { outcome, ms, env } = await geminiSession([{ steps: [{ text: 'working' }, { api_retry: { attempts: 3, status: 500 } }], hang: 'before-result' }], { timeoutMs: 1500 });
  assert.is(outcome.kind, 'timed-out', JSON.stringify(outcome));
  assert.ok(ms < 6000, `ended after ${ms} ms`);
  assert.ok(outcome.kind === 'timed-out' && outcome.sessionId === readGeminiLog(env)[0]?.sessionId);
});

for (const [reason, limit] of [['quota', 4000], ['rate-limit', 4000], ['overloaded', 4000], ['auth', 4000]] as const) {
  test(`a ${reason} refusal of Gemini CLI is the outcome refused, at once (the CLI would retry for minutes)`, async () => {
    const { outcome, ms } = await geminiSession([{ refuse: { reason } }]);
    assert.is(outcome.kind, 'refused', JSON.stringify(outcome));
    assert.is(outcome.kind === 'refused' && outcome.refusal.reason, reason);
    assert.ok(ms < limit, `refused after ${ms} ms`);
  });
}

test('exit 144 does not decide alone: a success result with exit 144 is a success, an API error with exit 144 an agent error', async () => {
  const ok = await geminiSession([{ steps: [{ text: 'all done' }], exit: 144 }]);
  assert.is(ok.outcome.kind, 'success', JSON.stringify(ok.outcome));
  assert.is(ok.outcome.kind === 'success' && ok.outcome.text, 'all done');
  assert.ok(ok.outcome.kind === 'success' && ok.outcome.tokens && ok.outcome.tokens.input > 0, 'tokens from the result stats');
  const failed = await geminiSession([{ api_error: { status: 400, message: 'bad request' } }]);
  assert.is(failed.outcome.kind, 'agent-error', JSON.stringify(failed.outcome));
  assert.ok(failed.outcome.kind === 'agent-error' && failed.outcome.errors.join(' ').includes('bad request'));
  assert.is(readGeminiLog(failed.env)[0]?.exitCode, 144);
});

test.run();
