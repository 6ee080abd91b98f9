// Hostile input: branch names a shell would mangle — $(…), backquotes, ; | & < > and
// quotes, all valid for git — for worker branches and for the main branch itself.
// Everything works and nothing in a name is ever run: every command gets its arguments
// as an array, and the commands coven prints for humans are quoted.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitFile, coven, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun, type FakeStep } from './helpers/fake-claude.js';
import { shellQuote } from '../scripts/lib/ui/problem.js';

/** If any shell ever expands a name, `touch $MARK` leaves this file behind. */
const marker = join(tempDir('coven-marker-'), 'pwned');
const env0 = { MARK: marker };
const planJob = (...steps: FakeStep[]): FakeRun[] => [
  { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  { match: { promptIncludes: 'Plan the issue' }, steps: [...steps, { text: 'Done.' }] },
];
const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);

test('branch names a shell would mangle: spawn and land work, and nothing in them is run', async () => {
  const repo = await covenRepo();
  const base = tempDir('coven-wt-');
  const names = ['coven/$(touch${IFS}$MARK)', 'x;touch${IFS}$MARK', `q'uo"te`, 'b`touch${IFS}$MARK`', 'a|b&c>d<e'];
  for (const [i, name] of names.entries()) {
    const spawned = await coven(['spawn', name, '--worktree-base', base], { cwd: repo, env: env0 });
    assert.is(spawned.code, 0, `${name}: ${spawned.stderr}`);
    const worktree = spawned.stdout.trim();
    assert.is(await sh(worktree, 'symbolic-ref', '--short', 'HEAD'), name);
    await commitFile(worktree, `f${i}.txt`, `${name}\n`, `commit on ${name}`);
    const land = await coven(['land', '--worktree', worktree], { cwd: repo, env: env0 });
    assert.is(land.code, 0, `${name}: ${land.stderr}`);
    assert.ok(land.stdout.includes(`from ${name} on main`), land.stdout);
    assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), `commit on ${name}`);
    assert.not.ok(existsSync(worktree));
  }
  assert.is(await sh(repo, 'branch', '--list'), '* main', 'each branch was removed after its land');
  assert.not.ok(existsSync(marker));
});

test('a main branch named like a shell command: the worker lands on it, the hooks wake, a parked worker quotes it', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const main = `ma$(touch\${IFS}$MARK);in'"\`x\``;
  await sh(repo, 'branch', '-m', main);
  assert.is((await coven(['hooks', 'install'], { cwd: repo, env: env0 })).code, 0);
  const base = tempDir('coven-wt-');

  const landed = await coven(['worker', '--once', '--name', 'w1'], {
    cwd: repo,
    env: { ...env0, ...fakeClaudeEnv(planJob({ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' })), COVEN_WORKTREE_BASE: base },
  });
  assert.is(landed.code, 0, landed.stdout + landed.stderr);
  assert.ok(landed.stdout.includes(`landed 1 commit(s) on ${main}`), landed.stdout);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', main), 'plan a');
  assert.ok(existsSync(join(repo, '.git', 'coven', 'wake')));

  // a conflict no resolution round fixes: the worker parks and prints commands naming main
  const parked = await coven(['worker', '--once', '--name', 'w2'], {
    cwd: repo,
    env: {
      ...env0,
      ...fakeClaudeEnv([
        ...planJob(
          { bash: `git -C ${shellQuote(repo)} rm -q plan.txt && git -C ${shellQuote(repo)} commit -q -m 'the user drops plan.txt'` },
          { read: 'plan.txt' },
          { edit: { path: 'plan.txt', old: 'plan', new: 'better plan' } },
          { commit: 'improve the plan' },
        ),
        { match: { promptIncludes: 'Landing your work' }, times: 3, steps: [{ text: 'I cannot resolve this.' }] },
      ]),
      COVEN_WORKTREE_BASE: base,
    },
  });
  assert.is(parked.code, 3, parked.stdout + parked.stderr);
  assert.ok(parked.stderr.includes(`w2 is parked: its commits conflict with ${main} in plan.txt`), parked.stderr);
  assert.ok(parked.stderr.includes(`git rebase ${shellQuote(main)}   (resolve`), parked.stderr);
  noStack(parked.stdout + parked.stderr);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', main), 'the user drops plan.txt');
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'coven/w2'), 'improve the plan');
  assert.is(readFileSync(join(base, 'project', 'coven', 'w2', 'plan.txt'), 'utf8'), 'better plan\n');
  assert.not.ok(existsSync(marker));
});

test.run();
