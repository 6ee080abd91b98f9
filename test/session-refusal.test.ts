// session-refusal — when the vendor refuses (quota, rate limit, auth, overloaded), the
// session runner stops the whole session at once (the real CLI would retry for minutes)
// and the outcome is `refused`, with the fake Claude printing what the real CLI prints.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { runSession, startSession, type SessionOptions, type SessionOutcome } from '../scripts/lib/session/runner.js';
import { fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { tempRepo } from './helpers/repo.js';
import { alive } from './helpers/alive.js';

async function setup(script: FakeRun[]): Promise<{ repo: string; lines: string[]; opts: (more?: Partial<SessionOptions>) => SessionOptions }> {
  const repo = await tempRepo();
  const env = fakeClaudeEnv(script);
  const lines: string[] = [];
  return { repo, lines, opts: (more = {}) => ({ cwd: repo, prompt: 'do the task', env: { ...process.env, ...env }, display: (l) => lines.push(l), lingerMs: 500, killGraceMs: 1000, cliArgs: ['--allowedTools=Bash'], ...more }) };
}

function refused(o: SessionOutcome): Extract<SessionOutcome, { kind: 'refused' }> {
  assert.is(o.kind, 'refused', JSON.stringify(o));
  return o as Extract<SessionOutcome, { kind: 'refused' }>;
}

test('an API error 429 in the result: refused (rate-limit), the session id kept, said as the vendor refusing', async () => {
  const s = await setup([{ steps: [{ text: 'working' }], api_error: { status: 429, message: '{"type":"error","error":{"type":"rate_limit_error","message":"rate limited"}}' } }]);
  const o = refused(await runSession(s.opts()));
  assert.is(o.refusal.reason, 'rate-limit');
  assert.match(o.refusal.message, /API Error: 429/);
  assert.ok(o.sessionId);
  assert.is(o.costUsd, 0);
  assert.match(s.lines.at(-1)!, /^ {2}✗ the vendor refused \(rate-limit\): API Error: 429/);
});

test('an api_retry with 529 stops the session at once: the CLI is not left to retry, nothing after it runs', async () => {
  const s = await setup([{ steps: [{ bash: 'echo $PPID > fake.pid' }, { api_retry: { status: 529 } }, { sleep_ms: 30_000 }, { text: 'late' }] }]);
  const started = Date.now();
  const handle = startSession(s.opts({ timeoutMs: 60_000 }));
  const o = refused(await handle.outcome);
  assert.ok(Date.now() - started < 10_000, `stopped after ${Date.now() - started} ms`);
  assert.is(o.refusal.reason, 'overloaded');
  assert.match(o.refusal.message, /529/);
  assert.not.ok(s.lines.includes('  late'), 'nothing after the refusal');
  assert.ok(s.lines.some((l) => /the vendor refused \(overloaded\); stopping the session/.test(l)), s.lines.join('\n'));
  assert.is(alive(Number(readFileSync(join(s.repo, 'fake.pid'), 'utf8'))), false, 'the CLI is gone');
});

for (const [reason, retried] of [['quota', false], ['rate-limit', true], ['auth', true], ['overloaded', true]] as const) {
  for (const when of ['first call', 'after some work'] as const) {
    test(`the fake's ${reason} refusal at the ${when} (${retried ? 'retried for minutes by the CLI' : 'not retried'}): outcome refused (${reason}) within seconds`, async () => {
      const s = await setup([{ ...(when === 'after some work' ? { steps: [{ text: 'working' }] } : {}), refuse: { reason } }]);
      const started = Date.now();
      const o = refused(await runSession(s.opts({ timeoutMs: 120_000 })));
      assert.is(o.refusal.reason, reason);
      assert.ok(Date.now() - started < 10_000, `stopped after ${Date.now() - started} ms`);
      assert.ok(o.sessionId);
    });
  }
}

test('an API error 400 is no refusal: an agent error as before', async () => {
  const s = await setup([{ api_error: { status: 400 } }]);
  const o = await runSession(s.opts());
  assert.is(o.kind, 'agent-error');
});

test.run();
