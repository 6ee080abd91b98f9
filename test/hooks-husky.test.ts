// suite: long
// coven's wake hooks in a repository set up with husky 9 (the real package, from the
// npm registry, cached: helpers/hook-managers.ts), and in a plain core.hooksPath folder
// whose hooks pick their work by the name they were started under.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookText } from '../scripts/lib/hooks/hook-text.js';
import { folderSnapshot, hookManagers, linkNodeModules, wakeAfter } from './helpers/hook-managers.js';
import { commitFile, coven, run, sh, tempDir, tempRepo } from './helpers/repo.js';

const managers = await hookManagers();
if (managers.kind === 'unavailable') console.log(`skipped: husky tests: ${managers.reason}`);
const t = managers.kind === 'ready' ? test : test.skip;
const husky = () => (managers.kind === 'ready' ? managers.husky : '');

/** A repository set up as husky's docs say (`npx husky init`), the user's post-commit writing a marker. */
async function huskyRepo(): Promise<{ repo: string; marker: string; folder: string }> {
  const repo = await tempRepo();
  if (managers.kind === 'ready') linkNodeModules(repo, managers);
  writeFileSync(join(repo, 'package.json'), '{ "name": "p", "private": true }\n');
  const init = await run(process.execPath, [husky(), 'init'], { cwd: repo });
  assert.is(init.code, 0, init.stderr);
  assert.is(await sh(repo, 'config', 'core.hooksPath'), '.husky/_');
  rmSync(join(repo, '.husky', 'pre-commit')); // init's sample runs `npm test`; this user has none
  const marker = join(tempDir(), 'marker');
  writeFileSync(join(repo, '.husky', 'post-commit'), `echo "husky post-commit" >> '${marker}'\n`);
  await sh(repo, 'add', '.');
  await sh(repo, 'commit', '-q', '-m', 'husky');
  return { repo, marker, folder: join(repo, '.husky', '_') };
}

const lines = (marker: string) => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean).length : 0);

t('husky 9: install leaves husky\'s folder alone; the user\'s hook runs and a commit on main wakes a waiting worker', async () => {
  const { repo, marker, folder } = await huskyRepo();
  assert.is(lines(marker), 1, "husky runs the user's hook (the setup commit)");
  const before = folderSnapshot(folder);
  const r = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  const woke = await wakeAfter(repo, () => commitFile(repo, 'a.txt', 'a'));
  assert.is(lines(marker), 2, "the user's husky hook ran");
  assert.is(woke.via, 'ref');
  assert.match(r.stdout, /post-commit: left to husky \(husky rewrites this folder/);
  assert.match(r.stdout, /workers wake through the ref watch/);
  assert.equal(folderSnapshot(folder), before, "not one byte of husky's folder changed");
  const status = await coven(['hooks', 'status'], { cwd: repo });
  assert.is(status.code, 0, status.stdout);
  assert.match(status.stdout, /post-commit: managed by husky \(.*coven leaves it alone; workers wake through the ref watch/);
  assert.match(status.stdout, /post-merge: managed by husky/);
});

t('husky 9 re-run after coven (the `prepare` script): the user\'s hook still runs, status tells the truth, the ref watch wakes', async () => {
  const { repo, marker, folder } = await huskyRepo();
  assert.is((await coven(['hooks', 'install'], { cwd: repo })).code, 0);
  const again = await run(process.execPath, [husky()], { cwd: repo });
  assert.is(again.code, 0, again.stderr);
  const woke = await wakeAfter(repo, () => commitFile(repo, 'a.txt', 'a'));
  assert.is(lines(marker), 2);
  assert.is(woke.via, 'ref');
  const status = await coven(['hooks', 'status', '--json'], { cwd: repo });
  assert.is(status.code, 0);
  const json = JSON.parse(status.stdout) as { hooks: Array<{ state: string; manager: string; wakes: string }> };
  assert.equal(json.hooks.map((h) => [h.state, h.manager, h.wakes]), [['managed', 'husky', 'ref-watch'], ['managed', 'husky', 'ref-watch']]);
  const un = await coven(['hooks', 'uninstall'], { cwd: repo });
  assert.is(un.code, 0, un.stderr);
  assert.ok(!existsSync(join(folder, 'post-commit.coven-chained')));
});

/** coven's hooks as an earlier coven installed them into husky's folder (renamed husky's wrapper and chained it). */
async function earlierCovenInstall(folder: string): Promise<void> {
  for (const name of ['post-commit', 'post-merge'] as const) {
    renameSync(join(folder, name), join(folder, `${name}.coven-chained`));
    writeFileSync(join(folder, name), (await hookText(name)).replace(' v2 ', ' v1 '), { mode: 0o755 });
  }
}

t("husky 9 after an earlier coven install: husky's re-run shows as `overwritten by husky`, and install puts husky's folder back as husky made it", async () => {
  const { repo, marker, folder } = await huskyRepo();
  const huskyOnly = folderSnapshot(folder);
  await earlierCovenInstall(folder);
  assert.is((await run(process.execPath, [husky()], { cwd: repo })).code, 0);
  const status = await coven(['hooks', 'status'], { cwd: repo });
  assert.is(status.code, 3);
  assert.match(status.stdout, /post-commit: overwritten by husky \(husky wrote over coven's hook; `coven hooks install` tidies up; workers wake through the ref watch/);
  const r = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  assert.equal(folderSnapshot(folder), huskyOnly);
  await commitFile(repo, 'a.txt', 'a');
  assert.is(lines(marker), 2);
  assert.is((await coven(['hooks', 'status'], { cwd: repo })).code, 0);
});

t("husky 9 with coven's earlier hook still in place: the user's hook runs under its own name, and install puts husky's wrapper back", async () => {
  const { repo, marker, folder } = await huskyRepo();
  const huskyOnly = folderSnapshot(folder);
  await earlierCovenInstall(folder);
  for (const name of ['post-commit', 'post-merge'] as const) writeFileSync(join(folder, name), await hookText(name)); // today's hook text
  mkdirSync(join(repo, '.git', 'coven'), { recursive: true });
  writeFileSync(join(repo, '.git', 'coven', 'main-branch'), 'refs/heads/main\n');
  await commitFile(repo, 'a.txt', 'a');
  assert.is(lines(marker), 2, "coven's hook runs husky's wrapper under the name husky looks for");
  assert.ok(existsSync(join(repo, '.git', 'coven', 'wake')), "and coven's hook touched the wake file");
  assert.is((await coven(['hooks', 'install'], { cwd: repo })).code, 0);
  assert.equal(folderSnapshot(folder), huskyOnly);
});

t("husky 9's folder removed (`git clean -X`, before the next `npm install`): install does not create it, and husky's re-run finds nothing of coven's", async () => {
  const { repo, marker, folder } = await huskyRepo();
  rmSync(folder, { recursive: true });
  const r = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /post-commit: left to husky/);
  assert.not.ok(existsSync(folder), 'coven did not create husky\'s folder');
  assert.is((await run(process.execPath, [husky()], { cwd: repo })).code, 0);
  const woke = await wakeAfter(repo, () => commitFile(repo, 'a.txt', 'a'));
  assert.is(lines(marker), 2);
  assert.is(woke.via, 'ref');
  assert.is((await coven(['hooks', 'status'], { cwd: repo })).code, 0);
});

// ---- a plain core.hooksPath folder -----------------------------------------------

test('a plain core.hooksPath folder: hooks that dispatch on their own name ($0) keep their name behind coven, in sh and bash; uninstall puts back every byte', async () => {
  const repo = await tempRepo();
  const dir = join(repo, '.githooks');
  mkdirSync(dir);
  const marker = join(tempDir(), 'marker');
  writeFileSync(join(dir, 'dispatch'), `#!/bin/sh\necho "sh $(basename "$0") $*" >> '${marker}'\n`, { mode: 0o755 });
  symlinkSync('dispatch', join(dir, 'post-commit'));
  writeFileSync(join(dir, 'post-merge'), `#!/usr/bin/env bash\necho "bash \${0##*/} $*" >> '${marker}'\n`);
  chmodSync(join(dir, 'post-merge'), 0o755);
  await sh(repo, 'config', 'core.hooksPath', '.githooks');
  const before = folderSnapshot(dir);
  const r = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /post-commit: written; runs the earlier hook .*post-commit\.coven-chained/);
  const woke = await wakeAfter(repo, () => commitFile(repo, 'a.txt', 'a'));
  assert.ok(['wake', 'ref'].includes(woke.via));
  assert.ok(existsSync(join(repo, '.git', 'coven', 'wake')), "coven's hook touched the wake file");
  await sh(repo, 'switch', '-q', '-c', 'side');
  await commitFile(repo, 'b.txt', 'b');
  await sh(repo, 'switch', '-q', 'main');
  await sh(repo, 'merge', '-q', '--ff-only', 'side');
  assert.is(readFileSync(marker, 'utf8'), 'sh post-commit \nsh post-commit \nbash post-merge 0\n');
  const status = await coven(['hooks', 'status'], { cwd: repo });
  assert.is(status.code, 0, status.stdout);
  assert.is((await coven(['hooks', 'uninstall'], { cwd: repo })).code, 0);
  assert.equal(folderSnapshot(dir), before);
});

test('a committed hooks folder (core.hooksPath = .githooks, the hook tracked): install leaves the committed file alone and the checkout unmodified; an earlier coven\'s rename is undone', async () => {
  const repo = await tempRepo();
  const marker = join(tempDir(), 'marker');
  await commitFile(repo, '.githooks/post-commit', `#!/bin/sh\necho committed >> '${marker}'\n`);
  chmodSync(join(repo, '.githooks', 'post-commit'), 0o755);
  await sh(repo, 'add', '.githooks/post-commit');
  await sh(repo, 'commit', '-q', '-m', 'executable');
  await sh(repo, 'config', 'core.hooksPath', '.githooks');
  const r = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /post-commit: left to the repository \(a file committed in the repository; coven does not change tracked files/);
  assert.match(r.stdout, /post-merge: written/);
  assert.is(await sh(repo, 'status', '--porcelain', '--untracked-files=no'), '', 'no tracked file changed');
  const woke = await wakeAfter(repo, () => commitFile(repo, 'a.txt', 'a'));
  assert.is(woke.via, 'ref');
  assert.is(readFileSync(marker, 'utf8'), 'committed\n');
  const status = await coven(['hooks', 'status'], { cwd: repo });
  assert.is(status.code, 0, status.stdout);
  assert.match(status.stdout, /post-commit: managed by the repository/);
  // an earlier coven renamed the committed file and wrote its hook in its place
  renameSync(join(repo, '.githooks', 'post-commit'), join(repo, '.githooks', 'post-commit.coven-chained'));
  writeFileSync(join(repo, '.githooks', 'post-commit'), await hookText('post-commit'), { mode: 0o755 });
  assert.is((await coven(['hooks', 'install'], { cwd: repo })).code, 0);
  assert.is(await sh(repo, 'status', '--porcelain', '--untracked-files=no'), '');
  assert.not.ok(existsSync(join(repo, '.githooks', 'post-commit.coven-chained')));
});

test('a chained hook that is not a shell script is executed with its arguments (a node hook)', async () => {
  const repo = await tempRepo();
  const marker = join(tempDir(), 'marker');
  const hook = join(repo, '.git', 'hooks', 'post-merge');
  writeFileSync(hook, `#!/usr/bin/env node\nrequire('fs').appendFileSync(${JSON.stringify(marker)}, 'node ' + process.argv.slice(2).join(' ') + '\\n');\n`, { mode: 0o755 });
  assert.is((await coven(['hooks', 'install'], { cwd: repo })).code, 0);
  await sh(repo, 'switch', '-q', '-c', 'side');
  await commitFile(repo, 'b.txt', 'b');
  await sh(repo, 'switch', '-q', 'main');
  await sh(repo, 'merge', '-q', '--ff-only', 'side');
  assert.is(readFileSync(marker, 'utf8'), 'node 0\n');
});

// ---- the ref watch's wake time (quoted by `coven hooks install` and `status`) -----

test('figures: the ref watch alone wakes a waiting worker within milliseconds of main moving', async () => {
  const repo = await tempRepo();
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const tree = await sh(repo, 'write-tree');
    const next = await sh(repo, 'commit-tree', tree, '-p', 'main', '-m', `c${i}`);
    const woke = await wakeAfter(repo, () => sh(repo, 'update-ref', 'refs/heads/main', next));
    assert.is(woke.via, 'ref');
    times.push(woke.ms);
  }
  times.sort((a, b) => a - b);
  const median = times[7] ?? 0;
  console.log(`\nfigures: ref watch wake, from the start of \`git update-ref\` to the waiter's return: min ${times[0]?.toFixed(0)} ms, median ${median.toFixed(0)} ms, max ${times[14]?.toFixed(0)} ms (15 runs)`);
  assert.ok(median < 1_000, `median ${median} ms`);
});

test.run();
