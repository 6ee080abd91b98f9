import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESOLVE_TOOLS } from '../scripts/lib/land/resolve-conflict.js';
import { coven, commitFile, sh } from './helpers/repo.js';
import { covenRefsBesideClaims } from './helpers/coven-repo.js';
import { assertFakeRunsOk, readFakeLog, type FakeRun, type FakeStep } from './helpers/fake-claude.js';
import { A_LINE, A_SUBJECT, assertResolvedByResume, B_SUBJECT, explain, MERGED, phaseOf, resolvingRun, runBoth, sameLineRepo, sameLineRuns, sleepRun, waitFor } from './helpers/same-line.js';

test('two workers change the same line: the second resumes its own session, resolves, and both changes land', async () => {
  const s = await sameLineRepo([...sameLineRuns(), resolvingRun]);
  const [r1, r2] = await runBoth(s, ['--once'], ['--once']);
  assert.is(r1.code, 0, r1.stderr + r1.stdout);
  assert.is(r2.code, 0, r2.stderr + r2.stdout);

  assert.is(await sh(s.repo, 'log', '--format=%s', `${s.start}..main`), `${B_SUBJECT}\n${A_SUBJECT}`);
  assert.is(await sh(s.repo, 'rev-list', '--merges', 'main'), ''); // linear
  assert.is(await sh(s.repo, 'show', 'main:greeting.txt'), MERGED.trim());
  assert.is(readFileSync(join(s.repo, 'greeting.txt'), 'utf8'), MERGED); // the user's checkout moved too
  assert.match(r2.stdout, /── w2 · resolving implement \(issue: issues\/b\.md\)/);
  assert.match(r2.stdout, /conflict resolved in 1 round/);

  const { resolve } = assertResolvedByResume(assertFakeRunsOk(s.env));
  assert.is(resolve.exitCode, 0);
  // the worker is gone and left nothing behind
  assert.is(await sh(s.repo, 'branch', '--list', 'coven/*'), '');
});

test('a session that cannot be resumed (no transcript) gets a fresh session with the same instructions', async () => {
  const fresh = { ...resolvingRun, expect: { ...resolvingRun.expect, resume: false, historyIncludes: undefined } };
  // --no-session-persistence: the CLI keeps no transcript, so --resume finds nothing
  const s = await sameLineRepo([...sameLineRuns(), fresh], { agentArgs: ['--no-session-persistence'] });
  const [r1, r2] = await runBoth(s, ['--once'], ['--once']);
  assert.is(r1.code, 0, r1.stderr + r1.stdout);
  assert.is(r2.code, 0, r2.stderr + r2.stdout);
  assert.is(await sh(s.repo, 'show', 'main:greeting.txt'), MERGED.trim());
  assert.match(r2.stdout, /cannot be resumed here; starting a fresh session with the same instructions/);

  const calls = assertFakeRunsOk(s.env, (c) => (c.argv.includes('--resume') ? 1 : 0)); // the resume finds no transcript
  const job = calls.find((c) => c.prompts[0]?.includes('Implement the issue in issues/b.md'))!;
  const missed = calls.find((c) => c.argv.includes('--resume'))!;
  assert.is(missed.argv[missed.argv.indexOf('--resume') + 1], job.sessionId);
  assert.is(missed.exitCode, 1);
  const again = calls.filter((c) => c.prompts[0]?.includes('rebase conflict'));
  assert.is(again.length, 1);
  assert.is(again[0]!.argv.includes('--resume'), false);
  assert.is(again[0]!.cwd, job.cwd);
});

test('a resolution that drops the commit (rebase --skip): the branch as it was is saved under refs/coven/resolve/', async () => {
  const skipping = { match: { promptIncludes: 'rebase conflict' }, expect: { resume: true }, steps: [{ bash: 'git rebase --skip' }, { text: 'Theirs is better; dropped mine.' }] };
  const s = await sameLineRepo([...sameLineRuns(), skipping]);
  const [r1, r2] = await runBoth(s, ['--once'], ['--once']);
  assert.is(r1.code, 0, r1.stderr);
  assert.is(r2.code, 0, r2.stderr + r2.stdout);
  assertFakeRunsOk(s.env);
  assert.is(await sh(s.repo, 'log', '--format=%s', `${s.start}..main`), A_SUBJECT);
  const saved = await sh(s.repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/resolve/w2/');
  assert.match(saved, /^refs\/coven\/resolve\/w2\/\d{8}T\d{6}Z$/);
  assert.is(await sh(s.repo, 'log', '-1', '--format=%s', saved), B_SUBJECT);
  assert.match(r2.stderr, /the resolution kept 0 of w2's 1 commit\(s\); the branch as it was before is saved as refs\/coven\/resolve\/w2\//);
  assert.is(await sh(s.repo, 'branch', '--list', 'coven/*'), ''); // the worker removed its branch; the ref keeps the work
});

test('a resolution that drops the commit and makes another in its place: the count is the same, yet the old branch is saved', async () => {
  const replacing = {
    match: { promptIncludes: 'rebase conflict' },
    expect: { resume: true },
    steps: [
      { bash: 'git rebase --skip' },
      { read: 'greeting.txt' },
      { write: { path: 'greeting.txt', content: 'bonjour\nguten Tag\n' } },
      { bash: 'git commit -qam "b: a different German greeting"' },
      { text: 'Dropped mine and wrote another.' },
    ],
  };
  const s = await sameLineRepo([...sameLineRuns(), replacing]);
  const [r1, r2] = await runBoth(s, ['--once'], ['--once']);
  assert.is(r1.code, 0, r1.stderr);
  assert.is(r2.code, 0, r2.stderr + r2.stdout);
  assertFakeRunsOk(s.env);
  assert.is(await sh(s.repo, 'log', '--format=%s', `${s.start}..main`), `b: a different German greeting\n${A_SUBJECT}`, r2.stdout + r2.stderr);
  const saved = await sh(s.repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/resolve/w2/');
  assert.match(saved, /^refs\/coven\/resolve\/w2\/\d{8}T\d{6}Z$/);
  assert.is(await sh(s.repo, 'log', '-1', '--format=%s', saved), B_SUBJECT);
  assert.match(r2.stderr, /the resolution kept 0 of w2's 1 commit\(s\); the branch as it was before is saved as refs\/coven\/resolve\/w2\//);
});

test('a resolution that keeps the commit saves nothing under refs/coven/resolve/', async () => {
  const s = await sameLineRepo([...sameLineRuns(), resolvingRun]);
  const [r1, r2] = await runBoth(s, ['--once'], ['--once']);
  assert.is(r1.code + r2.code, 0, r1.stderr + r2.stderr);
  assertFakeRunsOk(s.env);
  assert.is(await covenRefsBesideClaims(s.repo), '');
  assert.not.match(r2.stderr, /the resolution kept/);
});

test("commits found only at dispatch (made in the worktree while the worker slept) that conflict: the resolution keeps the last job's agent and claude_args", async () => {
  const runs: FakeRun[] = [
    { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: implement\nissue: issues/a.md\n</dispatch>' }] },
    { match: { promptIncludes: 'Implement the issue in issues/a.md' }, steps: [{ read: 'greeting.txt' }, { write: { path: 'greeting.txt', content: A_LINE } }, { commit: A_SUBJECT }] },
    sleepRun,
    { match: { promptIncludes: 'rebase conflict' }, steps: [{ read: 'greeting.txt' }, { write: { path: 'greeting.txt', content: 'salut\nhallo\n' } }, { bash: 'git add greeting.txt' }, { bash: 'git -c core.editor=true rebase --continue' }, { text: 'Kept both.' }] },
  ];
  const s = await sameLineRepo(runs);
  const worker = coven(['worker', '--name', 'w1', '--max-idle', '2'], { cwd: s.repo, env: s.env, timeoutMs: 150_000 });
  await waitFor('w1 to sleep after landing its job', () => (phaseOf(s, 'w1') === 'sleeping' ? true : null), 90_000, () => explain(s));
  // while it sleeps: a commit in its worktree, then one on main that conflicts with it (this wakes it)
  await commitFile(s.worktree('w1'), 'greeting.txt', 'hallo\n', 'by hand in the worktree');
  await commitFile(s.repo, 'greeting.txt', 'salut\n', 'main: salut');
  const r = await worker;
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.is(await sh(s.repo, 'show', 'main:greeting.txt'), 'salut\nhallo');

  const calls = readFakeLog(s.env);
  const job = calls.find((c) => c.prompts[0]?.includes('Implement the issue in issues/a.md'))!;
  const resolve = calls.filter((c) => c.prompts[0]?.includes('rebase conflict'));
  assert.is(resolve.length, 1);
  assert.is(resolve[0]!.argv[resolve[0]!.argv.indexOf('--resume') + 1], job.sessionId);
  assert.ok(resolve[0]!.argv.includes('--allowedTools=Bash,Read,Edit,Write'), `implement's own claude_args: ${resolve[0]!.argv.join(' ')}`);
  assert.ok(resolve[0]!.argv.includes(RESOLVE_TOOLS));
});

test("an agent file that itself conflicts in the rebase: the resolution still has the job's claude_args", async () => {
  // both jobs also change the agent's description: mid-rebase its frontmatter holds conflict markers
  const describe = (lang: string): FakeStep => ({ bash: `sed -i 's/^description: .*/description: implements one issue, in ${lang}/' .coven/agents/implement.md` });
  const [choose1, choose2, a, b] = sameLineRuns();
  const before = (steps: FakeStep[] = [], lang: string) => steps.flatMap((step) => ('commit' in step ? [describe(lang), step] : [step]));
  const resolving: FakeRun = {
    match: { promptIncludes: 'rebase conflict' },
    steps: [{ read: 'greeting.txt' }, { write: { path: 'greeting.txt', content: MERGED } }, { bash: 'git checkout --theirs .coven/agents/implement.md' }, { bash: 'git add greeting.txt .coven/agents/implement.md' }, { bash: 'git -c core.editor=true rebase --continue' }, { text: 'Kept both.' }],
  };
  const s = await sameLineRepo([choose1!, choose2!, { ...a!, steps: before(a!.steps, 'French') }, { ...b!, steps: before(b!.steps, 'German') }, resolving]);
  // the jobs change their own agent file: implement may (its opt-in on main), so the lands are not held for the human
  const implement = readFileSync(join(s.repo, '.coven/agents/implement.md'), 'utf8');
  await commitFile(s.repo, '.coven/agents/implement.md', implement.replace('---\n', '---\nmay_change_coven: true\n'), 'implement may change .coven/');
  const [r1, r2] = await runBoth(s, ['--once'], ['--once']);
  assert.is(r1.code + r2.code, 0, r1.stderr + r2.stderr + r2.stdout);
  assert.is(await sh(s.repo, 'show', 'main:greeting.txt'), MERGED.trim());
  const [resolve] = readFakeLog(s.env).filter((c) => c.prompts[0]?.includes('rebase conflict'));
  assert.match(resolve!.prompts[0]!, /\.coven\/agents\/implement\.md/, 'the agent file was conflicted');
  assert.ok(resolve!.argv.includes('--allowedTools=Bash,Read,Edit,Write'), `implement's own claude_args: ${resolve!.argv.join(' ')}`);
});

test.run();
