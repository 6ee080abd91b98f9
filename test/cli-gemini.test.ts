// cli-gemini — coven's guarantees on Gemini CLI, with the fake Gemini CLI (fakes/gemini.ts):
// a worker cycle whose agent says `cli: gemini` commits and lands; a dispatch on Gemini
// whose first answer is invalid is corrected by resuming the same session; a conflict is
// resolved by resuming the same Gemini session from the same worktree; the wall-clock
// timeout ends a Gemini CLI that keeps retrying; a refusal is `refused` at once, and in a
// worker the job goes on with the agent's next CLI; the exit code (144 after an API
// error) never decides alone.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSession } from '../scripts/lib/session/runner.js';
import type { SessionOutcome } from '../scripts/lib/session/session-contract.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { assertFakeRunsOk, fakeClaudeEnv, readFakeLog, type FakeRun } from './helpers/fake-claude.js';
import { fakeGeminiEnv, readGeminiLog, type FakeGeminiEnv } from './helpers/fake-gemini.js';
import { coven, sh, tempDir, tempRepo } from './helpers/repo.js';
import { A_SUBJECT, B_SUBJECT, MERGED, ORIGINAL, resolvingRun, runBoth, sameLineRuns, type SameLine } from './helpers/same-line.js';

const geminiAgent = (name: string, body: string, extra = ''): string => `---
description: ${name} on Gemini CLI
args:
  - name: issue
    description: path of the issue file
cli: gemini
${extra}---
${body}
`;

const choose = (...lines: string[]): FakeRun => ({ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: `<dispatch>\n${lines.join('\n')}\n</dispatch>` }] });

/** Every fake Gemini run ended as scripted (its expectations met): exit 0 unless `exitOf` says otherwise. */
function assertGeminiRunsOk(env: FakeGeminiEnv, exitOf: (i: number) => number = () => 0): ReturnType<typeof readGeminiLog> {
  const calls = readGeminiLog(env);
  assert.ok(calls.length > 0, 'the fake Gemini CLI was never run');
  calls.forEach((c, i) => assert.equal([c.exitCode, c.problems], [exitOf(i), []], `gemini run ${i + 1}: ${JSON.stringify(c.prompts[0]?.slice(0, 120))}`));
  return calls;
}

test('a worker cycle whose agent says cli: gemini: the Gemini session commits in the worktree and the commit lands', async () => {
  const repo = await covenRepo({
    'issues/a.md': issueFile('Fix a'),
    '.coven/agents/implement.md': geminiAgent('implement', 'Implement the issue in {{issue}}.', 'gemini_args: ["-m", "gemini-2.5-pro"]\n'),
  });
  const base = tempDir('coven-wt-');
  const claude = fakeClaudeEnv([choose('agent: implement', 'issue: issues/a.md')]);
  const gemini = fakeGeminiEnv([
    {
      expect: { promptIncludes: 'Implement the issue in issues/a.md', argvIncludes: ['--yolo', '--skip-trust', '-m', 'gemini-2.5-pro'], cwdIncludes: '/coven/w1' },
      steps: [{ write: { path: 'a.txt', content: 'fixed\n' } }, { commit: 'fix a' }, { text: 'Fixed a.' }],
    },
  ]);
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env: { ...claude, ...gemini, COVEN_WORKTREE_BASE: base } });
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'fix a');
  assert.is(readFileSync(join(repo, 'a.txt'), 'utf8'), 'fixed\n');
  assertFakeRunsOk(claude);
  const [job] = assertGeminiRunsOk(gemini);
  assert.is(job!.cwd, join(base, 'project', 'coven', 'w1'));
  assert.ok(job!.argv.some((a) => a.startsWith('--prompt=')), 'the prompt goes as one --prompt= value');
});

test('a dispatch on Gemini CLI whose first answer is invalid is corrected by resuming the same session in the same folder', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a'), '.coven/agents/dispatch.md': '---\ndescription: chooses the next job\ncli: gemini\n---\nChoose the next job. Run coven issues.\n' });
  const gemini = fakeGeminiEnv([
    { expect: { resume: false }, steps: [{ text: 'I looked.\n<dispatch>\nagent: deploy\n</dispatch>' }] },
    { expect: { resume: true, promptIncludes: 'no agent named "deploy"', historyIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  ]);
  const out = join(tempDir(), 'decision.json');
  const r = await coven(['dispatch', '--out', out, '--worker', 'w1'], { cwd: repo, env: gemini });
  assert.is(r.code, 0, r.stderr + r.stdout);
  const decision = JSON.parse(readFileSync(out, 'utf8')) as { agent: string; args: Record<string, string>; corrections: number };
  assert.equal([decision.agent, decision.args, decision.corrections], ['plan', { issue: 'issues/a.md' }, 1]);
  const [first, second] = assertGeminiRunsOk(gemini);
  assert.is(second!.cwd, first!.cwd);
  assert.is(second!.argv[second!.argv.indexOf('--resume') + 1], first!.sessionId);
  assert.is(second!.sessionId, first!.sessionId);
});

test('a conflict is resolved by resuming the same Gemini session from the same worktree, and both changes land', async () => {
  const runs = sameLineRuns();
  const dispatchRuns = runs.filter((r) => r.match?.promptIncludes === 'Choose the next job');
  const jobRuns = runs.filter((r) => !dispatchRuns.includes(r));
  const repo = await covenRepo({
    '.coven/agents/implement.md': geminiAgent('implement', 'Implement the issue in {{issue}}.'),
    'greeting.txt': ORIGINAL,
    'issues/a.md': issueFile('Greet in French', 'approved'),
    'issues/b.md': issueFile('Greet in German', 'approved'),
  });
  const base = tempDir('coven-wt-');
  const claude = fakeClaudeEnv(dispatchRuns);
  const gemini = fakeGeminiEnv([...jobRuns, resolvingRun]);
  const s: SameLine = { repo, base, env: { ...claude, ...gemini, COVEN_WORKTREE_BASE: base, COVEN_RETRY_MS: '200', COVEN_SAFETY_INTERVAL_MS: '500' } as SameLine['env'], start: await sh(repo, 'rev-parse', 'main'), worktree: (w) => join(base, 'project', 'coven', w) };
  const [r1, r2] = await runBoth(s, ['--once'], ['--once']);
  assert.is(r1.code, 0, r1.stderr + r1.stdout);
  assert.is(r2.code, 0, r2.stderr + r2.stdout);
  assert.is(await sh(repo, 'log', '--format=%s', `${s.start}..main`), `${B_SUBJECT}\n${A_SUBJECT}`);
  assert.is(await sh(repo, 'show', 'main:greeting.txt'), MERGED.trim());
  const calls = assertGeminiRunsOk(gemini);
  const job = calls.find((c) => c.prompts[0]?.includes('Implement the issue in issues/b.md'))!;
  const resolve = calls.find((c) => c.prompts[0]?.includes('rebase conflict'))!;
  assert.ok(job && resolve, 'the job of b and its resolution ran on Gemini CLI');
  assert.is(resolve.cwd, job.cwd);
  assert.is(resolve.argv[resolve.argv.indexOf('--resume') + 1], job.sessionId);
  assert.is(resolve.sessionId, job.sessionId);
});

test('quota from Gemini CLI in a worker: the job goes on with the next CLI of its agent at once, in the same worktree, and lands both sessions\' work', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a'), '.coven/agents/implement.md': '---\ndescription: implements one issue\nargs:\n  - name: issue\n    description: path of the issue file\ncli: [gemini, claude]\nclaude_args: ["--allowedTools=Bash(git *),Read,Edit,Write"]\n---\nImplement the issue in {{issue}}.\n' });
  const base = tempDir('coven-wt-');
  const claude = fakeClaudeEnv([
    choose('agent: implement', 'issue: issues/a.md'),
    { match: { promptIncludes: 'Implement the issue in issues/a.md' }, expect: { promptIncludes: ['half of a', 'quota'] }, steps: [{ read: 'a.txt' }, { write: { path: 'a.txt', content: 'whole\n' } }, { commit: 'rest of a' }, { text: 'Done.' }] },
  ]);
  // Gemini CLI would retry this 429 for minutes (10 attempts, 5 s to 30 s apart)
  const gemini = fakeGeminiEnv([{ steps: [{ write: { path: 'a.txt', content: 'half\n' } }, { commit: 'half of a' }], refuse: { reason: 'quota' } }]);
  const t0 = Date.now();
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env: { ...claude, ...gemini, COVEN_WORKTREE_BASE: base } });
  const ms = Date.now() - t0;
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.is(await sh(repo, 'log', '--format=%s', '-2', 'main'), 'rest of a\nhalf of a', r.stdout + JSON.stringify(readFakeLog(claude).map((c) => c.problems)));
  const [geminiRun] = readGeminiLog(gemini);
  assert.is(geminiRun?.signal, 'SIGTERM', 'coven stopped Gemini CLI at its first retry line');
  assert.is(assertFakeRunsOk(claude)[1]!.cwd, geminiRun!.cwd, 'the same worktree');
  assert.ok(ms < 30_000, `the cycle took ${ms} ms`);
  assert.match(r.stdout, /gemini refused the implement session \(quota/);
});

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
