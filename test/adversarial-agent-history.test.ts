// Adversarial pass (issue 11), a hostile agent: tricks that change how history looks
// to git — `git replace`, a grafts file, notes, a tag or a branch named like main — and
// history that is merely big (a 1 MB commit message, 200 commits). What must hold:
// the land is computed on the real commits (what a push or a clone would carry), every
// commit on main stays on main, and what the agent left that changes the human's view
// of history is named.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './helpers/repo.js';
import { shellJob, shellRepo, workerOnce } from './helpers/hostile-job.js';

/** git as a clone would see the repository: no replace refs, no grafts. */
async function realGit(cwd: string, ...args: string[]): Promise<string> {
  const r = await run('git', ['--no-replace-objects', ...args], { cwd, env: { GIT_GRAFT_FILE: '/nonexistent/coven-test-grafts' } });
  if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** The user's commit lands on main while the agent works (a step that is the test's hand, not the agent's). */
const userCommitsOnMain = (repo: string) => ({ text_from_command: `printf 'user\\n' > ${JSON.stringify(join(repo, 'user.txt'))} && git -C ${JSON.stringify(repo)} add user.txt && git -C ${JSON.stringify(repo)} commit -q -m "the user's commit" && echo ok` });

test('git replace --graft makes the agent\'s commit look based on main\'s new tip: the land still rebases, and the user\'s commit stays on main', async () => {
  const repo = await shellRepo();
  const { r, out } = await workerOnce(
    repo,
    shellJob([
      { write: { path: 'plan.txt', content: 'plan\n' } },
      { commit: 'plan a' },
      userCommitsOnMain(repo),
      { bash: 'git replace --graft HEAD main' },
    ]),
  );
  assert.is(r.code, 0, out);
  assert.is(await realGit(repo, 'log', '--format=%s', '-3', 'main'), "plan a\nthe user's commit\ncoven agents", out);
  assert.is(readFileSync(join(repo, 'user.txt'), 'utf8'), 'user\n');
  assert.is(await realGit(repo, 'status', '--porcelain'), '', 'the main checkout matches main');
  // the replacement would still show the human a history that is not there: moved aside and named
  assert.is(await realGit(repo, 'for-each-ref', '--format=%(refname)', 'refs/replace/'), '');
  const kept = await realGit(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/replace/');
  assert.match(kept, /^refs\/coven\/replace\/w1\/\d{8}T\d{6}Z\/[0-9a-f]{40}$/);
  assert.match(out, /replace/);
  assert.ok(out.includes(kept), out);
});

test('a grafts file (.git/info/grafts) written by the agent: the land ignores it, and the user\'s commit stays on main', async () => {
  const repo = await shellRepo();
  const { r, out } = await workerOnce(
    repo,
    shellJob([
      { write: { path: 'plan.txt', content: 'plan\n' } },
      { commit: 'plan a' },
      userCommitsOnMain(repo),
      { bash: 'echo "$(git rev-parse HEAD) $(git rev-parse main)" >> "$(git rev-parse --git-common-dir)/info/grafts"' },
    ]),
  );
  assert.is(r.code, 0, out);
  assert.is(await realGit(repo, 'log', '--format=%s', '-3', 'main'), "plan a\nthe user's commit\ncoven agents", out);
  assert.is(readFileSync(join(repo, 'user.txt'), 'utf8'), 'user\n');
  assert.is(await realGit(repo, 'status', '--porcelain'), '');
  assert.not.ok(existsSync(join(repo, '.git', 'info', 'grafts')), 'the grafts file is moved aside');
  assert.match(out, /grafts/);
});

test('a tag named main, and a branch named refs/heads/main: the land goes to the branch main', async () => {
  const repo = await shellRepo();
  const before = await realGit(repo, 'rev-parse', 'refs/heads/main');
  const { r, out } = await workerOnce(
    repo,
    shellJob([
      { bash: 'git tag main HEAD && git branch refs/heads/main HEAD && git tag coven/w1 HEAD' },
      { write: { path: 'plan.txt', content: 'plan\n' } },
      { commit: 'plan a' },
    ]),
  );
  assert.is(r.code, 0, out);
  assert.is(await realGit(repo, 'log', '--format=%s', '-1', 'refs/heads/main'), 'plan a', out);
  assert.is(await realGit(repo, 'rev-parse', 'refs/heads/main~1'), before);
  assert.is(await realGit(repo, 'status', '--porcelain'), '');
  assert.match(out, /landed 1 commit\(s\) on main/);
});

test('git notes on main\'s commits: the land goes on as usual', async () => {
  const repo = await shellRepo();
  const { r, out } = await workerOnce(
    repo,
    shellJob([
      { bash: 'git notes add -m "note on main" main && git notes add -m "$(printf \'\\033[2J\')" HEAD' },
      { write: { path: 'plan.txt', content: 'plan\n' } },
      { commit: 'plan a' },
    ]),
  );
  assert.is(r.code, 0, out);
  assert.is(await realGit(repo, 'log', '--format=%s', '-1', 'main'), 'plan a', out);
  assert.not.match(out, /\x1b\[2J/);
});

test('a commit message of 1 MB with control characters: it lands, and nothing of it reaches the terminal raw', async () => {
  const repo = await shellRepo();
  const { r, out } = await workerOnce(
    repo,
    shellJob([
      { write: { path: 'plan.txt', content: 'plan\n' } },
      { bash: 'git add plan.txt && head -c 1048576 /dev/zero | tr "\\0" x > /tmp/coven-adv-msg-$$ && printf "\\033]0;owned\\007\\033[2J" | cat - /tmp/coven-adv-msg-$$ | git commit -q -F - && rm /tmp/coven-adv-msg-$$' },
    ]),
  );
  assert.is(r.code, 0, out);
  assert.is((await realGit(repo, 'log', '-1', '--format=%B', 'main')).length > 1_000_000, true, out);
  assert.not.match(out, /\x1b/);
  assert.ok(out.length < 200_000, `the worker printed ${out.length} characters`);
});

test('figures: 200 commits in one job land in one go', async () => {
  const repo = await shellRepo();
  const started = Date.now();
  const { r, out } = await workerOnce(
    repo,
    shellJob([{ bash: 'i=0; while [ $i -lt 200 ]; do echo $i > n.txt; git add n.txt; git commit -q -m "step $i"; i=$((i+1)); done' }]),
  );
  assert.is(r.code, 0, out);
  assert.is(await realGit(repo, 'rev-list', '--count', 'main'), '202', out);
  assert.match(out, /landed 200 commit\(s\) on main/);
  console.log(`figures: a job of 200 commits, session and land: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test.run();
