// cli-opencode-worker — whole coven cycles whose agent files say `cli: opencode`, run by
// the fake opencode (fakes/opencode.ts), with the worker's own PWD naming the main
// checkout (opencode takes its directory from $PWD): the job commits in its worktree and
// lands; an invalid dispatch answer is corrected by resuming the same opencode session;
// a rebase conflict is resolved by resuming the session that wrote the change, from the
// same worktree; the wall-clock timeout ends a session that never finishes.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeInvocation, FakeRun } from '../fakes/claude.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeOpencodeEnv, readOpencodeLog } from './helpers/fake-opencode.js';
import { coven, sh, tempDir, type Run } from './helpers/repo.js';
import { A_SUBJECT, B_SUBJECT, MERGED, ORIGINAL, resolvingRun, sameLineRuns } from './helpers/same-line.js';

const agents = {
  '.coven/agents/dispatch.md': `---\ndescription: chooses the next job\ncli: opencode\n---\nChoose the next job for this worker. Run coven issues.\n`,
  '.coven/agents/implement.md': `---\ndescription: implements one issue\ncli: opencode\nargs:\n  - name: issue\n    description: path of the issue file\n---\nImplement the issue in {{issue}}.\n`,
};
const choose = (issue: string): FakeRun => ({ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: `Looked.\n<dispatch>\nagent: implement\nissue: ${issue}\n</dispatch>` }] });

async function setup(script: FakeRun[], extra: Record<string, string> = { 'issues/a.md': issueFile('Fix a', 'approved') }) {
  const repo = await covenRepo({ ...agents, ...extra });
  const base = tempDir('coven-wt-');
  // the worker's PWD names the main checkout: a runner that forgets to set opencode's gets its work done there
  const env = { ...fakeOpencodeEnv(script), COVEN_WORKTREE_BASE: base, COVEN_RETRY_MS: '200', COVEN_SAFETY_INTERVAL_MS: '500', PWD: repo };
  const worktree = (w: string): string => join(base, 'project', 'coven', w);
  return { repo, base, env, worktree };
}

const show = (r: Run): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

function noProblems(calls: FakeInvocation[]): void {
  assert.equal(
    calls.flatMap((c) => c.problems),
    [],
  );
}

test('worker --once on opencode: dispatch and job run in the worktree (PWD too), the commit lands on main, the main checkout is not worked in', async () => {
  const s = await setup([choose('issues/a.md'), { match: { promptIncludes: 'Implement the issue in issues/a.md' }, steps: [{ write: { path: 'a.txt', content: 'a\n' } }, { commit: 'a: done' }, { text: 'Done.' }] }]);
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: s.repo, env: s.env });
  assert.is(r.code, 0, show(r));
  assert.is(await sh(s.repo, 'log', '-1', '--format=%s', 'main'), 'a: done');
  const calls = readOpencodeLog(s.env);
  noProblems(calls);
  assert.is(calls.length, 2);
  for (const c of calls) {
    assert.is(c.cwd, s.worktree('w1'), 'opencode worked in the worktree');
    assert.is(c.env.PWD, s.worktree('w1'));
    assert.ok(c.argv.includes('--format') && !c.argv.includes('--session'));
  }
  assert.match(calls[1]!.stdin, /Implement the issue in issues\/a\.md/);
  assert.match(r.stdout, /running implement/);
  assert.match(r.stdout, /landed 1 commit\(s\) on main/);
  assert.is(existsSync(s.worktree('w1')), false, 'the worktree is gone');
});

test('a dispatch on opencode whose first answer is invalid is corrected by resuming the same session from the same folder', async () => {
  const s = await setup([
    { match: { promptIncludes: 'Choose the next job', resume: false }, steps: [{ text: '<dispatch>\nagent: deploy\n</dispatch>' }] },
    { match: { resume: true }, expect: { promptIncludes: 'no agent named "deploy"', historyIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nsleep: corrected, nothing to do\n</dispatch>' }] },
  ]);
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: s.repo, env: s.env });
  assert.is(r.code, 0, show(r));
  assert.match(r.stdout, /corrected, nothing to do/);
  const calls = readOpencodeLog(s.env);
  noProblems(calls);
  assert.is(calls.length, 2);
  const [first, second] = calls;
  assert.is(second!.argv[second!.argv.indexOf('--session') + 1], first!.sessionId);
  assert.is(second!.sessionId, first!.sessionId);
  assert.is(second!.cwd, first!.cwd);
});

test('two opencode workers change the same line: the second resolves the conflict by resuming its own session from its worktree, and both land', async () => {
  const s = await setup([...sameLineRuns(), resolvingRun], { 'greeting.txt': ORIGINAL, 'issues/a.md': issueFile('Greet in French', 'approved'), 'issues/b.md': issueFile('Greet in German', 'approved') });
  // dispatch routed by the worktree, as in helpers/same-line.ts
  const start = await sh(s.repo, 'rev-parse', 'main');
  const [r1, r2] = await Promise.all(['w1', 'w2'].map((w) => coven(['worker', '--once', '--name', w], { cwd: s.repo, env: s.env, timeoutMs: 150_000 })));
  assert.is(r1!.code, 0, show(r1!));
  assert.is(r2!.code, 0, show(r2!));
  assert.is(await sh(s.repo, 'log', '--format=%s', `${start}..main`), `${B_SUBJECT}\n${A_SUBJECT}`);
  assert.is(await sh(s.repo, 'show', 'main:greeting.txt'), MERGED.trim());
  assert.match(r2!.stdout, /conflict resolved in 1 round/);
  const calls = readOpencodeLog(s.env);
  noProblems(calls);
  const job = calls.find((c) => c.prompts[0]?.includes('Implement the issue in issues/b.md'))!;
  const resolve = calls.find((c) => c.prompts[0]?.includes('rebase conflict'))!;
  assert.ok(job && resolve);
  assert.is(resolve.argv[resolve.argv.indexOf('--session') + 1], job.sessionId, 'the session that wrote the change');
  assert.is(resolve.sessionId, job.sessionId);
  assert.is(resolve.cwd, job.cwd);
  assert.is(resolve.cwd, s.worktree('w2'));
  assert.is(resolve.exitCode, 0);
});

test('the wall-clock timeout ends an opencode session that never finishes; the worker says so', async () => {
  const s = await setup([choose('issues/a.md'), { match: { promptIncludes: 'Implement the issue' }, steps: [{ text: 'thinking' }], hang: 'before-result' }]);
  const started = Date.now();
  // --timeout is in minutes: 0.05 is 3 s
  const r = await coven(['worker', '--once', '--name', 'w1', '--timeout', '0.05'], { cwd: s.repo, env: s.env, timeoutMs: 60_000 });
  const out = r.stdout + r.stderr;
  assert.match(out, /the session ran past its 3s limit; stopping it/);
  assert.match(out, /timed out after 3s/);
  assert.ok(Date.now() - started < 40_000, `took ${Date.now() - started} ms`);
});

test.run();
