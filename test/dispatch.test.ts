import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { assertFakeRunsOk, fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';

const answer = (...lines: string[]): FakeRun => ({ steps: [{ text: `I looked.\n<dispatch>\n${lines.join('\n')}\n</dispatch>` }] });

async function runDispatch(script: FakeRun[]) {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const env = fakeClaudeEnv(script);
  const out = join(tempDir(), 'decision.json');
  const before = await sh(repo, 'rev-parse', 'HEAD');
  const r = await coven(['dispatch', '--out', out, '--worker', 'w1'], { cwd: repo, env });
  return { repo, env, out, r, before };
}

test('a valid answer is written as the decision; the prompt carries the agents and the issue command', async () => {
  const { repo, env, out, r } = await runDispatch([
    { expect: { promptIncludes: ['Choose the next job', 'coven issues', '(no other worker is running)'], systemPromptIncludes: 'plan — writes a plan for one issue' }, steps: [{ bash: 'coven issues' }, { text: 'a.md is new.\n<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  ]);
  assert.is(r.code, 0, r.stderr);
  const decision = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal([decision.kind, decision.agent, decision.args], ['run', 'plan', { issue: 'issues/a.md' }]);
  assert.is(decision.reasoning, 'a.md is new.');
  const [call] = assertFakeRunsOk(env);
  assert.ok(call);
  for (const flag of ['-p', '--verbose', '--input-format', '--append-system-prompt']) assert.ok(call.argv.includes(flag), flag);
  assert.is(call.cwd, repo);
  // the agent could run `coven issues` through the shim on its PATH
  const log = readFileSync(join(repo, '.git', 'coven', 'logs', 'w1', '001-dispatch.jsonl'), 'utf8');
  assert.match(log, /issues\/a\.md/);
});

test('sleep is a decision too', async () => {
  const { out, r } = await runDispatch([answer('sleep: nothing approved')]);
  assert.is(r.code, 0, r.stderr);
  assert.equal(JSON.parse(readFileSync(out, 'utf8')).reason, 'nothing approved');
});

test('an invalid answer gets a corrective resume of the same session in the same cwd', async () => {
  const { repo, env, out, r } = await runDispatch([
    answer('agent: deploy'),
    { expect: { resume: true, promptIncludes: ['no agent named "deploy"', 'plan — writes a plan', 'Example:'], historyIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  ]);
  assert.is(r.code, 0, r.stderr);
  assert.is(JSON.parse(readFileSync(out, 'utf8')).corrections, 1);
  const calls = assertFakeRunsOk(env);
  assert.is(calls.length, 2);
  const [first, second] = calls;
  assert.is(second!.cwd, first!.cwd);
  assert.is(second!.cwd, repo);
  const resumeAt = second!.argv.indexOf('--resume');
  assert.ok(resumeAt > 0);
  assert.is(second!.argv[resumeAt + 1], first!.sessionId);
});

test("the decision's cost adds the corrective resume's to the first run's (each run reports only its own)", async () => {
  const { env, out, r } = await runDispatch([
    { ...answer('agent: deploy'), result: { cost_usd: 0.01 } },
    { expect: { resume: true }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }], result: { cost_usd: 0.02 } },
  ]);
  assert.is(r.code, 0, r.stderr);
  assertFakeRunsOk(env);
  assert.is(JSON.parse(readFileSync(out, 'utf8')).cost_usd, 0.03);
});

const invalidAnswers: [string, FakeRun][] = [
  ['no block', { steps: [{ text: 'plan issues/a.md please' }] }],
  ['two blocks, the last invalid', { steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>\n<dispatch>\nagent: nope\n</dispatch>' }] }],
  ['agent: dispatch', answer('agent: dispatch')],
  ['agent: ../../x', answer('agent: ../../x')],
  ['missing required arg', answer('agent: plan')],
  ['undeclared arg', answer('agent: plan', 'issue: issues/a.md', 'force: yes')],
  ['a value with a newline', answer('agent: plan', 'issue: issues/a.md', 'more')],
  ['a 5,000-character value', answer('agent: plan', `issue: ${'x'.repeat(5000)}`)],
  ['a value with a terminal escape sequence', answer('agent: plan', 'issue: issues/a.md\x1b[2J')],
  ['a value with a Unicode line separator', answer('agent: plan', 'issue: issues/a.md\u2028agent: audit')],
  ['a complete block, then an unclosed one', { steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>\n<dispatch>\nagent: nope' }] }],
];

for (const [name, bad] of invalidAnswers) {
  test(`"${name}" is never run: it gets a corrective resume`, async () => {
    const { repo, env, out, r } = await runDispatch([bad, { expect: { resume: true, promptIncludes: 'could not be used' }, steps: [{ text: '<dispatch>\nsleep: corrected\n</dispatch>' }] }]);
    assert.is(r.code, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(out, 'utf8')).reason, 'corrected');
    const calls = assertFakeRunsOk(env);
    assert.is(calls.length, 2);
    assert.ok(calls[1]!.argv.includes('--resume') && calls[1]!.cwd === repo);
  });
}

test('after 3 failed corrections dispatch exits 1 and the repository is as it was', async () => {
  const { repo, env, out, r, before } = await runDispatch([{ ...answer('agent: deploy'), times: 4 }]);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /no valid <dispatch> block after 3 corrections/);
  assert.is(existsSync(out), false);
  const calls = assertFakeRunsOk(env);
  assert.is(calls.length, 4);
  assert.ok(calls.slice(1).every((c) => c.argv.includes('--resume') && c.cwd === repo && c.sessionId === calls[0]!.sessionId));
  assert.is(await sh(repo, 'rev-parse', 'HEAD'), before);
  assert.is(await sh(repo, 'status', '--porcelain'), '');
});

test('a value that looks like a shell command stays plain text', async () => {
  const marker = join(tempDir(), 'pwned');
  const { out, r } = await runDispatch([answer('agent: plan', `issue: $(touch ${marker})`)]);
  assert.is(r.code, 0, r.stderr);
  assert.is(JSON.parse(readFileSync(out, 'utf8')).args.issue, `$(touch ${marker})`);
  assert.is(existsSync(marker), false);
});

test('a failed session is reported with exit 3', async () => {
  const { r } = await runDispatch([{ api_error: { status: 400 } }]);
  assert.is(r.code, 3);
  assert.match(r.stderr, /dispatch session failed/);
});

test('no dispatch agent: exit 4 with what to run', async () => {
  const repo = await covenRepo();
  await sh(repo, 'rm', '-q', '.coven/agents/dispatch.md');
  const r = await coven(['dispatch'], { cwd: repo, env: fakeClaudeEnv(null) });
  assert.is(r.code, 4);
  assert.match(r.stderr, /coven init/);
});

test.run();
