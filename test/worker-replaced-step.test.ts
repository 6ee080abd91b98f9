// worker-replaced-step — a repository names its own executable for a step and a real
// worker runs it under the step's contract (docs/steps.md, "Replacing a step"): here a
// land that pushes the branch to a bare repository standing in for a remote and
// fast-forwards main there. The local main does not move; the worker keeps the commits
// it handed off on a ref and goes on from main.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { assertFakeRunsOk, fakeClaudeEnv, readFakeLog, writeFakeScript, type FakeRun } from './helpers/fake-claude.js';

const choose = (...lines: string[]): FakeRun => ({ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: `<dispatch>\n${lines.join('\n')}\n</dispatch>` }] });
const planRun: FakeRun = { match: { promptIncludes: 'Plan the issue' }, steps: [{ write: { path: 'plan.txt', content: 'the plan\n' } }, { commit: 'plan a' }, { text: 'Planned.' }] };

/** A land step in sh: push the branch, fast-forward main on the remote; it records what it was given. */
const pushLand = (log: string) => `#!/bin/sh
set -eu
printf '%s\\n' "args=$*" "cwd=$(pwd)" "worktree=$COVEN_WORKTREE" "main=$COVEN_MAIN_BRANCH" "worker=$COVEN_WORKER" "decision=$COVEN_DECISION" "session=$COVEN_SESSION" > ${log}
cat "$COVEN_DECISION" "$COVEN_SESSION" >> ${log}
branch=$(git rev-parse --abbrev-ref HEAD)
git push -q remote "HEAD:refs/heads/$branch"
git push -q remote "HEAD:refs/heads/$COVEN_MAIN_BRANCH"
echo "pushed $branch to the remote's $COVEN_MAIN_BRANCH"
`;

async function setUp() {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const remote = join(tempDir('coven-remote-'), 'remote.git');
  await sh(tempDir(), 'init', '-q', '--bare', remote);
  await sh(repo, 'remote', 'add', 'remote', remote);
  await sh(repo, 'push', '-q', 'remote', 'main');
  const env = { ...fakeClaudeEnv([choose('agent: plan', 'issue: issues/a.md'), planRun]), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const log = join(tempDir(), 'land.log');
  return { repo, remote, env, log, worktree: join(env.COVEN_WORKTREE_BASE, 'project', 'coven', 'w1') };
}

test('.coven/steps/land in the main worktree: a real worker runs it, and the agent\'s commit ends on the remote\'s main', async () => {
  const { repo, remote, env, log, worktree } = await setUp();
  mkdirSync(join(repo, '.coven', 'steps'));
  writeFileSync(join(repo, '.coven', 'steps', 'land'), pushLand(log));
  chmodSync(join(repo, '.coven', 'steps', 'land'), 0o755); // not committed: the main worktree's file is what counts
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assertFakeRunsOk(env);
  assert.match(r.stdout, /step replaced: land: .*\.coven\/steps\/land \(\.coven\/steps\/land\)/);
  assert.match(r.stdout, /pushed coven\/w1 to the remote's main/);
  assert.is(await sh(remote, 'log', '-1', '--format=%s', 'main'), 'plan a', 'on the remote\'s main');
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'coven agents', 'the local main did not move');
  const kept = await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/handed-off/w1/');
  assert.match(kept, /^refs\/coven\/handed-off\/w1\/\d{8}T\d{6}Z$/, 'the handed-off commit is kept');
  assert.is(await sh(repo, 'log', '-1', '--format=%s', kept), 'plan a');
  const given = readFileSync(log, 'utf8');
  for (const line of ['args=--keep', `cwd=${worktree}`, `worktree=${worktree}`, 'main=main', 'worker=w1', `decision=${join(repo, '.git', 'coven', 'steps', 'w1', 'decision.json')}`, `session=${join(repo, '.git', 'coven', 'steps', 'w1', 'session.json')}`]) {
    assert.ok(given.includes(`${line}\n`), `${line} in:\n${given}`);
  }
  assert.not.ok(existsSync(join(repo, '.git', 'coven', 'steps', 'w1')), 'a worker that leaves nothing behind leaves no step files either');
  // the files the worker's steps handed on, there for the replaced step to read
  for (const field of ['"coven": "decision/1"', '"kind": "run"', '"agent": "plan"', '"coven": "session/1"', '"outcome": "success"', `"cwd": "${worktree}"`, '"--allowedTools=Bash(git *),Read,Edit,Write"']) assert.ok(given.includes(field), `${field} in:\n${given}`);
});

test('COVEN_STEP_LAND wins over .coven/steps/land; a replaced land that fails keeps the commits (exit 3)', async () => {
  const { repo, remote, env, log } = await setUp();
  mkdirSync(join(repo, '.coven', 'steps'));
  writeFileSync(join(repo, '.coven', 'steps', 'land'), pushLand(log));
  chmodSync(join(repo, '.coven', 'steps', 'land'), 0o755);
  const failing = join(tempDir(), 'land-fails');
  writeFileSync(failing, '#!/bin/sh\necho "no remote today" >&2\nexit 7\n');
  chmodSync(failing, 0o755);
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env: { ...env, COVEN_STEP_LAND: failing } });
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /no remote today/);
  assert.match(r.stderr, /the land step .*land-fails exited 7/);
  assert.is(await sh(remote, 'log', '-1', '--format=%s', 'main'), 'coven agents');
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'coven/w1'), 'plan a', 'the branch keeps its commit');
});

test('a .coven/steps/land that is not executable stops the worker before it starts (exit 2)', async () => {
  const { repo, env } = await setUp();
  mkdirSync(join(repo, '.coven', 'steps'));
  writeFileSync(join(repo, '.coven', 'steps', 'land'), '#!/bin/sh\nexit 0\n');
  chmodSync(join(repo, '.coven', 'steps', 'land'), 0o644);
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /is not executable \(chmod \+x/);
  assert.is(readFakeLog(env).length, 0, 'no session ran');
});

/** Writes an executable sh script; returns its path. */
function script(body: string): string {
  const path = join(tempDir(), 'step');
  writeFileSync(path, `#!/bin/sh\nset -eu\n${body}`);
  chmodSync(path, 0o755);
  return path;
}

test('COVEN_STEP_DISPATCH and COVEN_STEP_RUN_AGENT: the worker runs them with the step files, checks the decision, and lands what the step committed', async () => {
  const { repo, env } = await setUp();
  // dispatch: --out FILE --worker NAME --no-lock; writes a decision file
  const dispatchStep = script(`[ "$1 $3 $5" = "--out --worker --no-lock" ]
printf '{"coven":"decision/1","kind":"run","agent":"plan","args":{"issue":"issues/a.md"},"reasoning":"by hand","worktree":"%s","worker":"%s","main_tip":"%s","at":"now"}' "$COVEN_WORKTREE" "$4" "$(git rev-parse "$COVEN_MAIN_BRANCH")" > "$2"
`);
  // run-agent: --decision FILE --out FILE; commits, then writes the session record
  const runStep = script(`grep -q '"issue": "issues/a.md"' "$2"
echo planned > plan.txt && git add plan.txt && git commit -q -m "plan by a replaced run-agent"
printf '{"coven":"session/1","cli":"none","agent":"plan","args":{},"session_id":null,"cwd":"%s","branch":"coven/%s","worker":"%s","outcome":"success","started_at":"a","ended_at":"b"}' "$COVEN_WORKTREE" "$COVEN_WORKER" "$COVEN_WORKER" > "$4"
`);
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env: { ...env, COVEN_STEP_DISPATCH: dispatchStep, COVEN_STEP_RUN_AGENT: runStep } });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(readFakeLog(env).length, 0, 'no agent session: both steps were replaced');
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan by a replaced run-agent', 'landed by the core land');
});

test('COVEN_STEP_RESOLVE_CONFLICT: on a conflict the worker runs it with --session and the rebase open; it resolves and lands', async () => {
  const { repo, env } = await setUp();
  writeFileSync(join(repo, 'shared.txt'), 'start\n');
  await sh(repo, 'add', 'shared.txt');
  await sh(repo, 'commit', '-q', '-m', 'shared');
  await sh(repo, 'branch', 'other');
  await sh(repo, 'checkout', '-q', 'other');
  writeFileSync(join(repo, 'shared.txt'), 'start\nmain\n');
  await sh(repo, 'commit', '-q', '-am', 'main moves');
  await sh(repo, 'checkout', '-q', 'main');
  writeFakeScript(env, [
    choose('agent: plan', 'issue: issues/a.md'),
    // the agent's change conflicts with a commit that reaches main while it works
    { match: { promptIncludes: 'Plan the issue' }, steps: [{ read: 'shared.txt' }, { write: { path: 'shared.txt', content: 'start\nw1\n' } }, { commit: 'w1 work' }, { bash: `git -C ${repo} merge -q --ff-only other` }, { text: 'done' }] },
  ]);
  const resolveStep = script(`[ "$1" = --session ] && grep -q '"agent": "plan"' "$2"
git rev-parse -q --verify REBASE_HEAD >/dev/null
printf 'start\\nmain\\nw1\\n' > shared.txt && git add shared.txt && GIT_EDITOR=true git rebase --continue
git -C "$COVEN_MAIN_WORKTREE" merge -q --ff-only "coven/$COVEN_WORKER"
`);
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env: { ...env, COVEN_STEP_RESOLVE_CONFLICT: resolveStep } });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assertFakeRunsOk(env);
  assert.match(r.stdout, /the resolve-conflict step resolved the conflict and landed 1 commit\(s\) on main/);
  assert.equal((await sh(repo, 'log', '--format=%s', '-3', 'main')).split('\n'), ['w1 work', 'main moves', 'shared']);
  assert.is(readFileSync(join(repo, 'shared.txt'), 'utf8'), 'start\nmain\nw1\n');
});

test('a replaced dispatch whose decision names an agent the registry does not have runs nothing (exit 4 with --once)', async () => {
  const { repo, env } = await setUp();
  const dispatchStep = script(`printf '{"coven":"decision/1","kind":"run","agent":"rm-rf","args":{},"worktree":"%s","worker":"w1","main_tip":"","at":"now"}' "$COVEN_WORKTREE" > "$2"
`);
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env: { ...env, COVEN_STEP_DISPATCH: dispatchStep } });
  assert.is(r.code, 4, r.stdout + r.stderr);
  assert.match(r.stderr, /gave no decision to run: there is no agent named/);
  assert.is(readFakeLog(env).length, 0);
});

test.run();
