// cli-codex — coven's guarantees on Codex, with the fake Codex CLI (fakes/codex.ts): a
// worker cycle whose agent says `cli: codex` commits and lands; a dispatch on Codex whose
// first answer is invalid is corrected by resuming the same thread; a conflict is resolved
// by resuming the same Codex thread from the same worktree; through the session runner,
// coven's text at the head of the prompt and the agent's codex_args, a resume of the same
// thread; the wall-clock timeout ends a Codex that waits for the network for ever; a
// refusal is `refused` at once; success is judged by turn.completed, with its tokens.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runSession } from '../scripts/lib/session/runner.js';
import type { SessionOptions, SessionOutcome } from '../scripts/lib/session/session-contract.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { assertFakeRunsOk, fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { fakeCodexEnv, readCodexLog, type FakeCodexEnv } from './helpers/fake-codex.js';
import { coven, sh, tempDir, tempRepo } from './helpers/repo.js';
import { A_SUBJECT, B_SUBJECT, MERGED, ORIGINAL, resolvingRun, runBoth, sameLineRuns, type SameLine } from './helpers/same-line.js';

const codexAgent = (name: string, body: string, extra = ''): string => `---
description: ${name} on Codex
args:
  - name: issue
    description: path of the issue file
cli: codex
${extra}---
${body}
`;

const choose = (...lines: string[]): FakeRun => ({ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: `<dispatch>\n${lines.join('\n')}\n</dispatch>` }] });

/** Every fake Codex run ended as scripted (its expectations met): exit 0 unless `exitOf` says otherwise. */
function assertCodexRunsOk(env: FakeCodexEnv, exitOf: (i: number) => number = () => 0): ReturnType<typeof readCodexLog> {
  const calls = readCodexLog(env);
  assert.ok(calls.length > 0, 'the fake Codex was never run');
  calls.forEach((c, i) => assert.equal([c.exitCode, c.problems], [exitOf(i), []], `codex run ${i + 1}: ${JSON.stringify(c.prompts[0]?.slice(0, 120))}`));
  return calls;
}

/** The thread id a resume named (after `--`). */
const resumedThread = (argv: string[]): string | undefined => (argv[1] === 'resume' ? argv[argv.indexOf('--') + 1] : undefined);

test('a worker cycle whose agent says cli: codex: the Codex session commits in the worktree and the commit lands', async () => {
  const repo = await covenRepo({
    'issues/a.md': issueFile('Fix a'),
    '.coven/agents/implement.md': codexAgent('implement', 'Implement the issue in {{issue}}.', 'codex_args: ["-m", "gpt-5.5"]\n'),
  });
  const base = tempDir('coven-wt-');
  const claude = fakeClaudeEnv([choose('agent: implement', 'issue: issues/a.md')]);
  const codex = fakeCodexEnv([
    {
      expect: { resume: false, promptIncludes: 'Implement the issue in issues/a.md', argvIncludes: ['--json', '--dangerously-bypass-approvals-and-sandbox', '-m', 'gpt-5.5'], cwdIncludes: '/coven/w1' },
      steps: [{ write: { path: 'a.txt', content: 'fixed\n' } }, { commit: 'fix a' }, { text: 'Fixed a.' }],
    },
  ]);
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env: { ...claude, ...codex, COVEN_WORKTREE_BASE: base } });
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'fix a');
  assert.is(readFileSync(join(repo, 'a.txt'), 'utf8'), 'fixed\n');
  assertFakeRunsOk(claude);
  const [job] = assertCodexRunsOk(codex);
  assert.is(job!.cwd, join(base, 'project', 'coven', 'w1'));
  assert.equal(job!.argv.slice(0, 2), ['exec', '--json']);
});

test('a dispatch on Codex whose first answer is invalid is corrected by resuming the same thread in the same folder', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a'), '.coven/agents/dispatch.md': '---\ndescription: chooses the next job\ncli: codex\n---\nChoose the next job. Run coven issues.\n' });
  const codex = fakeCodexEnv([
    { expect: { resume: false }, steps: [{ text: 'I looked.\n<dispatch>\nagent: deploy\n</dispatch>' }] },
    { expect: { resume: true, promptIncludes: 'no agent named "deploy"', historyIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  ]);
  const out = join(tempDir(), 'decision.json');
  const r = await coven(['dispatch', '--out', out, '--worker', 'w1'], { cwd: repo, env: codex });
  assert.is(r.code, 0, r.stderr + r.stdout);
  const decision = JSON.parse(readFileSync(out, 'utf8')) as { agent: string; args: Record<string, string>; corrections: number };
  assert.equal([decision.agent, decision.args, decision.corrections], ['plan', { issue: 'issues/a.md' }, 1]);
  const [first, second] = assertCodexRunsOk(codex);
  assert.is(second!.cwd, first!.cwd);
  assert.is(resumedThread(second!.argv), first!.sessionId);
  assert.is(second!.sessionId, first!.sessionId);
});

test('a conflict is resolved by resuming the same Codex thread from the same worktree, and both changes land', async () => {
  const runs = sameLineRuns();
  const dispatchRuns = runs.filter((r) => r.match?.promptIncludes === 'Choose the next job');
  const jobRuns = runs.filter((r) => !dispatchRuns.includes(r));
  const repo = await covenRepo({
    '.coven/agents/implement.md': codexAgent('implement', 'Implement the issue in {{issue}}.'),
    'greeting.txt': ORIGINAL,
    'issues/a.md': issueFile('Greet in French', 'approved'),
    'issues/b.md': issueFile('Greet in German', 'approved'),
  });
  const base = tempDir('coven-wt-');
  const claude = fakeClaudeEnv(dispatchRuns);
  const codex = fakeCodexEnv([...jobRuns, resolvingRun]);
  const s: SameLine = { repo, base, env: { ...claude, ...codex, COVEN_WORKTREE_BASE: base, COVEN_RETRY_MS: '200', COVEN_SAFETY_INTERVAL_MS: '500' } as SameLine['env'], start: await sh(repo, 'rev-parse', 'main'), worktree: (w) => join(base, 'project', 'coven', w) };
  const [r1, r2] = await runBoth(s, ['--once'], ['--once']);
  assert.is(r1.code, 0, r1.stderr + r1.stdout);
  assert.is(r2.code, 0, r2.stderr + r2.stdout);
  assert.is(await sh(repo, 'log', '--format=%s', `${s.start}..main`), `${B_SUBJECT}\n${A_SUBJECT}`);
  assert.is(await sh(repo, 'show', 'main:greeting.txt'), MERGED.trim());
  const calls = assertCodexRunsOk(codex);
  const job = calls.find((c) => c.prompts[0]?.includes('Implement the issue in issues/b.md'))!;
  const resolve = calls.find((c) => c.prompts[0]?.includes('rebase conflict'))!;
  assert.ok(job && resolve, 'the job of b and its resolution ran on Codex');
  assert.is(resolve.cwd, job.cwd);
  assert.is(resumedThread(resolve.argv), job.sessionId);
  assert.is(resolve.sessionId, job.sessionId);
});

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
