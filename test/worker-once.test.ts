import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { coven, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { assertFakeRunsOk, fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';

const choose = (...lines: string[]): FakeRun => ({ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: `<dispatch>\n${lines.join('\n')}\n</dispatch>` }] });

async function once(script: FakeRun[], extra: Record<string, string> = { 'issues/a.md': issueFile('Fix a') }, args: string[] = []) {
  const repo = await covenRepo(extra);
  const base = tempDir('coven-wt-');
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: base };
  const r = await coven(['worker', '--once', '--name', 'w1', ...args], { cwd: repo, env });
  return { repo, base, env, r };
}

test('an issue leads to dispatch choosing an agent, whose commit lands on main; the worktree is gone', async () => {
  const { repo, base, env, r } = await once([
    choose('agent: plan', 'issue: issues/a.md'),
    { match: { promptIncludes: 'Plan the issue in issues/a.md' }, steps: [{ write: { path: 'plan.txt', content: 'the plan\n' } }, { commit: 'plan a' }, { text: 'Planned.' }] },
  ]);
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.is(readFileSync(join(repo, 'plan.txt'), 'utf8'), 'the plan\n'); // the user's checkout moved too
  assert.is(existsSync(join(base, 'project', 'coven', 'w1')), false);
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
  assert.is(existsSync(join(repo, '.git', 'coven', 'workers', 'w1.json')), false);
  const calls = assertFakeRunsOk(env);
  assert.is(calls.length, 2);
  const agentCall = calls[1]!;
  for (const flag of ['-p', '--output-format', 'stream-json', '--verbose', '--input-format', '--permission-mode', 'acceptEdits']) assert.ok(agentCall.argv.includes(flag), flag);
  assert.is(agentCall.cwd, join(base, 'project', 'coven', 'w1'));
  assert.match(r.stdout, /── w1 · running plan \(issue: issues\/a\.md\)/);
});

test('extra claude args after -- and the agent\'s variadic claude_args still let the prompt through', async () => {
  const { env, r } = await once(
    [
      { ...choose('agent: implement', 'issue: issues/a.md'), expect: { argvIncludes: ['--model', 'opus'] } },
      { match: { promptIncludes: 'Implement the issue' }, expect: { argvIncludes: ['--allowedTools=Bash(git *),Read', '--add-dir', '/tmp'] }, steps: [{ text: 'nothing to do' }] },
    ],
    { 'issues/a.md': issueFile('Fix a'), '.coven/agents/implement.md': `---\ndescription: implements\nargs:\n  - name: issue\n    description: the issue\nclaude_args: ["--allowedTools=Bash(git *),Read", "--add-dir", "/tmp"]\n---\nImplement the issue in {{issue}}.\n` },
    ['--', '--model', 'opus'],
  );
  assert.is(r.code, 0, r.stderr);
  const calls = assertFakeRunsOk(env); // the expectations on argv are met
  assert.is(calls.length, 2);
  assert.match(calls[1]!.stdin, /Implement the issue in issues\/a\.md/);
});

test("an agent run whose expectation fails is caught by assertFakeRunsOk, though the worker only sees 'nothing to land'", async () => {
  const { env, r } = await once([
    choose('agent: plan', 'issue: issues/a.md'),
    { match: { promptIncludes: 'Plan the issue' }, expect: { argvIncludes: ['--THIS-IS-NEVER-THERE'] }, steps: [{ text: 'never said' }] },
  ]);
  assert.match(r.stdout, /nothing to land/);
  let failure = '(it passed)';
  try {
    assertFakeRunsOk(env); // (uvu's assert.throws passes an assertion error on instead of catching it)
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
  }
  assert.match(failure, /fake run 2 of 2 .*exit 97, expected 0; expectation failed \(run #1\): argv lacks "--THIS-IS-NEVER-THERE"/);
});

test('a dispatch value that looks like a shell command reaches the agent as plain text and is never run', async () => {
  const marker = join(tempDir(), 'pwned');
  const { env, r } = await once([
    choose('agent: plan', `issue: $(touch ${marker})`),
    { match: { promptIncludes: 'Plan the issue' }, steps: [{ text: 'ok' }] },
  ]);
  assert.is(r.code, 0, r.stderr);
  assert.ok(assertFakeRunsOk(env)[1]!.stdin.includes(`Plan the issue in $(touch ${marker}).`));
  assert.is(existsSync(marker), false);
});

test('on sleep the worker prints the reason and exits 0, leaving nothing behind', async () => {
  const { repo, base, env, r } = await once([choose('sleep: nothing is approved')]);
  assert.is(r.code, 0, r.stderr);
  assertFakeRunsOk(env);
  assert.match(r.stdout, /sleeps: nothing is approved/);
  assert.is(readdirSync(join(base, 'project', 'coven')).length, 0);
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
});

test('uncommitted work: the session is resumed once; what is still left is saved under refs/coven/wip', async () => {
  const { repo, env, r } = await once([
    choose('agent: plan', 'issue: issues/a.md'),
    { match: { promptIncludes: 'Plan the issue' }, steps: [{ write: { path: 'draft.txt', content: 'draft\n' } }, { text: 'done' }] },
    { match: { promptIncludes: 'You left uncommitted changes' }, expect: { resume: true }, steps: [{ text: 'I will leave it.' }] },
  ]);
  assert.is(r.code, 0, r.stderr);
  const calls = assertFakeRunsOk(env);
  assert.is(calls.length, 3);
  assert.is(calls[2]!.cwd, calls[1]!.cwd);
  assert.is(calls[2]!.argv[calls[2]!.argv.indexOf('--resume') + 1], calls[1]!.sessionId);
  const refs = await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/wip/w1/');
  assert.match(refs, /^refs\/coven\/wip\/w1\/\d{8}T\d{6}Z$/);
  assert.is(await sh(repo, 'show', `${refs}:draft.txt`), 'draft');
  assert.match(r.stderr, /saved as refs\/coven\/wip\/w1/);
});

test('the worker counts what every session cost, a resumed one too', async () => {
  const { env, r } = await once([
    { ...choose('agent: plan', 'issue: issues/a.md'), result: { cost_usd: 0.004 } },
    { match: { promptIncludes: 'Plan the issue' }, steps: [{ write: { path: 'draft.txt', content: 'draft\n' } }, { text: 'done' }], result: { cost_usd: 0.01 } },
    { match: { promptIncludes: 'You left uncommitted changes' }, steps: [{ commit: 'plan a' }, { text: 'Committed.' }], result: { cost_usd: 0.02 } },
  ]);
  assert.is(r.code, 0, r.stderr);
  assertFakeRunsOk(env);
  assert.match(r.stdout, /── w1 · stopping · [^·]+ · \$0\.0340 · 1 landed ──/);
});

test('after 3 failed corrections the worker exits non-zero and the repository is as it was', async () => {
  const { repo, env, r } = await once([{ steps: [{ text: '<dispatch>\nagent: ../../x\n</dispatch>' }], times: 4 }]);
  assert.is(r.code, 4, r.stdout + r.stderr);
  assert.is(assertFakeRunsOk(env).length, 4);
  assert.match(r.stderr, /no valid decision after 3 corrections/);
  assert.is(await sh(repo, 'log', '-1', '--format=%s'), 'coven agents');
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
  assert.is(await sh(repo, 'status', '--porcelain'), '');
});

test('not a repository: a clear message, exit 2', async () => {
  const r = await coven(['worker', '--once'], { cwd: tempDir() });
  assert.is(r.code, 2);
  assert.match(r.stderr, /not inside a git repository/);
});

test.run();
