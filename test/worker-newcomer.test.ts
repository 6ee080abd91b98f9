// worker-newcomer — frictions a newcomer met with `coven worker`, each fixed: the agents
// `coven init` wrote but nobody committed; a last worker that sleeps forever (an idle
// time, --exit-when-idle, beside --max-idle's count of sleep decisions); and a --once
// cycle whose agent session failed and landed nothing (an exit code of its own).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { coven, sh, tempDir, tempRepo } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { assertFakeRunsOk, fakeClaudeEnv, readFakeLog, type FakeRun } from './helpers/fake-claude.js';

const choose = (...lines: string[]): FakeRun => ({ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: `<dispatch>\n${lines.join('\n')}\n</dispatch>` }] });

test('coven init, then coven worker without committing: the agents are written but not committed, and the commit line is given', async () => {
  const repo = await tempRepo();
  assert.is((await coven(['init', '--no-hooks'], { cwd: repo })).code, 0);
  const env = { ...fakeClaudeEnv([]), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(r.code, 4, r.stdout + r.stderr);
  assert.match(r.stderr, /written but not committed/);
  assert.ok(r.stderr.includes(`add .coven && git -C ${repo} commit -m "coven agents"`), r.stderr);
  assert.not.match(r.stderr, /^\s*coven init/m, 'not: run coven init (again)');
  assert.is(readFakeLog(env).length, 0, 'no session ran');
  assert.is(await sh(repo, 'status', '--porcelain', '--', '.coven/agents/dispatch.md'), '?? .coven/agents/dispatch.md', 'the files are left as they were');
});

test('--exit-when-idle: a worker whose sleep lasts that long with main not moving exits 0 (where --max-idle, a count of sleep decisions, would sleep on)', async () => {
  const repo = await covenRepo();
  const env = { ...fakeClaudeEnv([choose('sleep: nothing to do')]), COVEN_WORKTREE_BASE: tempDir('coven-wt-'), COVEN_SAFETY_INTERVAL_MS: '200' };
  const started = Date.now();
  const r = await coven(['worker', '--name', 'w1', '--max-idle', '5', '--exit-when-idle', '2s'], { cwd: repo, env, timeoutMs: 60_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.ok(Date.now() - started >= 2_000, 'it slept first');
  assert.match(r.stdout, /sleeps: nothing to do/);
  assert.match(r.stdout, /main has not moved for 2s; w1 stops \(--exit-when-idle\)/);
  assert.is(assertFakeRunsOk(env).length, 1, 'one dispatch, one sleep');
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '', 'nothing left behind');
});

test('--exit-when-idle takes a duration; a bad one is a usage error', async () => {
  const r = await coven(['worker', '--exit-when-idle', 'soon'], { cwd: await covenRepo() });
  assert.is(r.code, 64);
  assert.match(r.stderr, /--exit-when-idle takes a duration such as 10m/);
  const help = await coven(['worker', '--help']);
  assert.match(help.stdout, /--max-idle N +exit after N sleep DECISIONS in a row/);
  assert.match(help.stdout, /--exit-when-idle D +exit once one sleep has lasted D/);
  assert.match(help.stdout, /5 the agent's session crashed, errored, timed out or could not run, and\s+nothing landed \(--once\)/);
});

for (const [how, run] of [
  ['crashed', { crashAfterStep: 0 }],
  ['ended in an error', { api_error: { status: 529, message: 'Overloaded' } }],
] as const) {
  test(`--once after an agent session that ${how} and landed nothing: exit 5, not 0`, async () => {
    const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
    const env = { ...fakeClaudeEnv([choose('agent: plan', 'issue: issues/a.md'), { match: { promptIncludes: 'Plan the issue' }, ...run }]), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
    const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
    assert.is(r.code, 5, r.stdout + r.stderr);
    assert.match(r.stdout, /nothing to land/);
    assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'coven agents');
    assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '', 'nothing was kept: nothing was made');
  });
}

test('--once after a failed session whose commits landed: exit 0 (the cycle did its work)', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const env = {
    ...fakeClaudeEnv([choose('agent: plan', 'issue: issues/a.md'), { match: { promptIncludes: 'Plan the issue' }, steps: [{ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }], api_error: { status: 529 } }]),
    COVEN_WORKTREE_BASE: tempDir('coven-wt-'),
  };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
});

test.run();
