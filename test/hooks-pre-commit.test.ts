// suite: long
// coven's wake hooks in a repository whose post-commit hook pre-commit (the Python
// tool) manages, in both orders. pre-commit cannot come from the npm registry: these
// tests run when `pre-commit` is on PATH (`apt-get install pre-commit`), else skip.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookText } from '../scripts/lib/hooks/hook-text.js';
import { folderSnapshot, preCommitVersion, wakeAfter } from './helpers/hook-managers.js';
import { commitFile, coven, run, sh, tempDir, tempRepo } from './helpers/repo.js';

const version = await preCommitVersion();
if (!version) console.log('skipped: pre-commit tests: `pre-commit` is not on PATH (apt-get install pre-commit)');
const t = version ? test : test.skip;
process.env.PRE_COMMIT_HOME = tempDir(); // its cache, kept out of $HOME

async function preCommitRepo(): Promise<{ repo: string; marker: string; hooks: string }> {
  const repo = await tempRepo();
  const marker = join(tempDir(), 'marker');
  const yml = [
    'repos:',
    '  - repo: local',
    '    hooks:',
    '      - id: marker',
    '        name: marker',
    `        entry: sh -c 'echo pre-commit >> ${marker}'`,
    '        language: system',
    '        stages: [post-commit]',
    '        always_run: true',
    '        pass_filenames: false',
  ];
  writeFileSync(join(repo, '.pre-commit-config.yaml'), yml.join('\n') + '\n');
  await sh(repo, 'add', '.');
  await sh(repo, 'commit', '-q', '-m', 'pre-commit config');
  return { repo, marker, hooks: join(repo, '.git', 'hooks') };
}

async function preCommitInstall(repo: string): Promise<void> {
  const r = await run('pre-commit', ['install', '-t', 'post-commit'], { cwd: repo });
  assert.is(r.code, 0, r.stdout + r.stderr);
}

const ran = (marker: string) => (existsSync(marker) ? readFileSync(marker, 'utf8') : '');

t("pre-commit first, then coven: pre-commit's post-commit is left to it; its check runs; workers wake through the ref watch", async () => {
  const { repo, marker, hooks } = await preCommitRepo();
  await preCommitInstall(repo);
  const theirs = readFileSync(join(hooks, 'post-commit'), 'utf8');
  const r = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /post-commit: left to pre-commit/);
  assert.is(readFileSync(join(hooks, 'post-commit'), 'utf8'), theirs);
  const woke = await wakeAfter(repo, () => commitFile(repo, 'a.txt', 'a'));
  assert.is(ran(marker), 'pre-commit\n');
  assert.is(woke.via, 'ref');
  const status = await coven(['hooks', 'status'], { cwd: repo });
  assert.is(status.code, 0, status.stdout);
  assert.match(status.stdout, /post-commit: managed by pre-commit/);
});

t("coven first, then pre-commit: pre-commit runs coven's hook as its legacy hook, so the wake file is still touched; status says so; uninstall removes it", async () => {
  const { repo, marker, hooks } = await preCommitRepo();
  assert.is((await coven(['hooks', 'install'], { cwd: repo })).code, 0);
  await preCommitInstall(repo);
  assert.is(readFileSync(join(hooks, 'post-commit.legacy'), 'utf8'), await hookText('post-commit'));
  await commitFile(repo, 'a.txt', 'a');
  assert.is(ran(marker), 'pre-commit\n');
  assert.ok(existsSync(join(repo, '.git', 'coven', 'wake')), "coven's hook ran, from post-commit.legacy");
  const status = await coven(['hooks', 'status'], { cwd: repo });
  assert.is(status.code, 0, status.stdout);
  assert.match(status.stdout, /post-commit: installed \(pre-commit runs coven's hook from .*post-commit\.legacy\)/);
  assert.is((await coven(['hooks', 'uninstall'], { cwd: repo })).code, 0);
  assert.equal(Object.keys(folderSnapshot(hooks)).filter((n) => !n.endsWith('.sample')), ['post-commit']);
});

t("an earlier coven's chain of pre-commit's hook, then pre-commit re-installed: install removes the stale copy so pre-commit does not run itself twice", async () => {
  const { repo, marker, hooks } = await preCommitRepo();
  await preCommitInstall(repo);
  renameSync(join(hooks, 'post-commit'), join(hooks, 'post-commit.coven-chained')); // what an earlier coven did
  writeFileSync(join(hooks, 'post-commit'), await hookText('post-commit'), { mode: 0o755 });
  await preCommitInstall(repo); // coven's hook → post-commit.legacy
  const r = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(existsSync(join(hooks, 'post-commit.coven-chained')));
  const commit = await commitFile(repo, 'a.txt', 'a').then(() => ran(marker));
  assert.is(commit, 'pre-commit\n', 'its check ran once');
  assert.ok(existsSync(join(repo, '.git', 'coven', 'wake')));
});

test.run();
