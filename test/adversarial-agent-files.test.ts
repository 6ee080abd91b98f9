// Adversarial pass (issue 11), a hostile agent: files it makes in its worktree — names
// with control characters, a newline, leading dashes or bytes that are not UTF-8, links
// to /etc and to the main worktree, a nested repository committed as a gitlink. What must
// hold: nothing uncommitted is lost (saved under refs/coven/ before any clean-up), no
// clean-up follows a link out of the worktree, no name reaches the terminal raw, and the
// worker ends with a true message.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, sh, tempDir } from './helpers/repo.js';
import { shellJob, shellRepo, workerOnce } from './helpers/hostile-job.js';

const refsUnder = async (repo: string, prefix: string): Promise<string[]> => (await sh(repo, 'for-each-ref', '--format=%(refname)', prefix)).split('\n').filter(Boolean);

test('a conflict in a file whose name holds an ESC sequence: the worker names it escaped, never raw', async () => {
  const repo = await shellRepo({ 'shared.txt': 'base\n' });
  const evil = 'x\x1b]0;owned\x07\x1b[2J.txt';
  // the user commits the same new file on main while the agent works (the test's hand)
  const user = `printf 'user\\n' > "$(printf '${join(repo, 'x\\033]0;owned\\007\\033[2J.txt')}')" && git -C ${JSON.stringify(repo)} add -A && git -C ${JSON.stringify(repo)} commit -q -m user && echo ok`;
  const { out } = await workerOnce(
    repo,
    shellJob([
      { bash: `printf 'agent\\n' > "$(printf 'x\\033]0;owned\\007\\033[2J.txt')" && git add -A && git commit -q -m agent` },
      { text_from_command: user },
    ]),
  );
  assert.ok(existsSync(join(repo, evil)), 'the user\'s file is there');
  assert.match(out, /conflict/);
  assert.not.match(out, /\x1b|\x07/, 'a control character reached the terminal');
  assert.match(out, /x\\u001b\]0;owned\\u0007\\u001b\[2J\.txt/);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'coven/w1'), 'agent', 'the commit stays on the branch');
});

test('uncommitted files named -rf, --, with a newline, and a force-added ignored file whose name is not UTF-8: all saved before the clean-up', async () => {
  const repo = await shellRepo({ '.gitignore': '*.log\n' });
  const { r, out } = await workerOnce(
    repo,
    shellJob([
      { write: { path: 'plan.txt', content: 'plan\n' } },
      { commit: 'plan a' },
      { bash: `echo a > ./-rf && echo b > ./-- && printf 'c\\n' > "$(printf 'new\\nline.txt')" && printf 'd\\n' > "$(printf 'bad\\377name.log')" && git add -f -- "$(printf 'bad\\377name.log')"` },
    ]),
  );
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a', out);
  const [wip] = await refsUnder(repo, 'refs/coven/wip/w1/');
  assert.ok(wip, `a wip ref is kept\n${out}`);
  const saved = await run('git', ['ls-tree', '-r', '-z', '--name-only', wip!], { cwd: repo });
  const names = saved.stdout.split('\0');
  for (const name of ['-rf', '--', 'new\nline.txt']) assert.ok(names.includes(name), `${JSON.stringify(name)} saved: ${JSON.stringify(names)}`);
  assert.ok(names.some((n) => n.startsWith('bad') && n.endsWith('name.log')), `the force-added file whose name is not UTF-8 is saved: ${JSON.stringify(names)}`);
});

test('uncommitted links to /etc and to the main worktree: saved as links, and the clean-up removes the links, never what they point at', async () => {
  const repo = await shellRepo();
  const outside = tempDir('coven-outside-');
  const { r, out } = await workerOnce(
    repo,
    shellJob([
      { write: { path: 'plan.txt', content: 'plan\n' } },
      { commit: 'plan a' },
      { bash: `ln -s /etc etc-link && ln -s ${JSON.stringify(repo)} main-link && ln -s ${JSON.stringify(outside)} out && echo x > out/planted.txt && mkdir d && ln -s ${JSON.stringify(join(repo, 'README.md'))} d/readme` },
    ]),
  );
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a', out);
  assert.ok(existsSync('/etc/hostname') || existsSync('/etc/passwd'));
  assert.is(readFileSync(join(repo, 'README.md'), 'utf8'), '# test\n');
  assert.is(readFileSync(join(outside, 'planted.txt'), 'utf8'), 'x\n', 'the file behind a link is not the worktree\'s to clean');
  assert.is(await sh(repo, 'status', '--porcelain'), '');
  const [wip] = await refsUnder(repo, 'refs/coven/wip/w1/');
  assert.match(await sh(repo, 'ls-tree', wip!, 'etc-link'), /^120000 /);
});

test('a nested repository with a commit, committed as a gitlink: it lands, and the worker says truly what it left', async () => {
  const repo = await shellRepo();
  const { r, out } = await workerOnce(
    repo,
    shellJob([
      { bash: 'git init -q sub && git -C sub commit -q --allow-empty -m inner && git add sub && git commit -q -m "add sub"' },
    ]),
  );
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'add sub', out);
  assert.match(await sh(repo, 'ls-tree', 'main', 'sub'), /^160000 commit /);
  // git refuses to remove a worktree holding a nested repository (its commits live only
  // there): the worker says what is kept and what to run, never that all is done
  assert.is(r.code, 0, out);
  assert.match(out, /w1 stopped; everything on its branch is on main, but its worktree could not be removed: working trees containing submodules cannot be moved or removed/);
  assert.match(out, /Kept: the worktree \S+ with everything in it/);
  assert.match(out, /worktree remove --force/);
  assert.match(await sh(repo, 'worktree', 'list'), /coven\/w1/);
});

test.run();
