// suite: long
// coven's wake hooks in a repository whose hooks lefthook manages (the real lefthook
// 2.2.4 binary from the npm registry, cached: helpers/hook-managers.ts), in both
// orders: lefthook first then coven, and coven first then lefthook.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { folderSnapshot, hookManagers, linkNodeModules, wakeAfter } from './helpers/hook-managers.js';
import { commitFile, coven, run, sh, tempDir, tempRepo } from './helpers/repo.js';

const managers = await hookManagers();
if (managers.kind === 'unavailable') console.log(`skipped: lefthook tests: ${managers.reason}`);
const t = managers.kind === 'ready' ? test : test.skip;

async function lefthook(repo: string, ...args: string[]): Promise<string> {
  const r = await run(managers.kind === 'ready' ? managers.lefthook : 'lefthook', args, { cwd: repo });
  assert.is(r.code, 0, `lefthook ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** lefthook.yml with a command per hook name that appends "<hook>" to the marker file. */
function config(repo: string, marker: string, hooks: string[]): void {
  const yml = hooks.map((h) => `${h}:\n  commands:\n    marker:\n      run: echo ${h} >> ${marker}\n`).join('');
  writeFileSync(join(repo, 'lefthook.yml'), yml);
}

async function lefthookRepo(): Promise<{ repo: string; marker: string; hooks: string }> {
  const repo = await tempRepo();
  if (managers.kind === 'ready') linkNodeModules(repo, managers);
  const marker = join(tempDir(), 'marker');
  config(repo, marker, ['post-commit']);
  await sh(repo, 'add', '.');
  await sh(repo, 'commit', '-q', '-m', 'lefthook.yml');
  return { repo, marker, hooks: join(repo, '.git', 'hooks') };
}

const ran = (marker: string) => (existsSync(marker) ? readFileSync(marker, 'utf8') : '');

async function mergeSide(repo: string, file: string): Promise<void> {
  await sh(repo, 'switch', '-q', '-c', `side-${file}`);
  await commitFile(repo, file, file);
  await sh(repo, 'switch', '-q', 'main');
  await sh(repo, 'merge', '-q', '--ff-only', `side-${file}`);
}

const states = async (repo: string) => {
  const r = await coven(['hooks', 'status', '--json'], { cwd: repo });
  const json = JSON.parse(r.stdout) as { hooks: Array<{ state: string; manager: string | null; wakes: string }> };
  return { code: r.code, hooks: json.hooks.map((h) => `${h.state}${h.manager ? ` by ${h.manager}` : ''} → ${h.wakes}`) };
};

t("lefthook first, then coven: lefthook's hook is left to it, coven takes the free post-merge; the user's command runs and workers wake", async () => {
  const { repo, marker, hooks } = await lefthookRepo();
  await lefthook(repo, 'install');
  const lefthooks = readFileSync(join(hooks, 'post-commit'), 'utf8');
  const r = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /post-commit: left to lefthook/);
  assert.match(r.stdout, /post-merge: written/);
  assert.is(readFileSync(join(hooks, 'post-commit'), 'utf8'), lefthooks, "lefthook's hook untouched");
  const woke = await wakeAfter(repo, () => commitFile(repo, 'a.txt', 'a'));
  assert.is(ran(marker), 'post-commit\n', "lefthook's command ran");
  assert.is(woke.via, 'ref');
  await mergeSide(repo, 'b.txt');
  assert.ok(existsSync(join(repo, '.git', 'coven', 'wake')), "coven's post-merge touched the wake file");
  assert.equal(await states(repo), { code: 0, hooks: ['managed by lefthook → ref-watch', 'installed → hook'] });
  const status = await coven(['hooks', 'status'], { cwd: repo });
  assert.match(status.stdout, /post-commit: managed by lefthook \(lefthook writes this hook.*workers wake through the ref watch/);
});

t('lefthook taking over a hook coven holds (post-merge added to lefthook.yml): status says overwritten, the ref watch wakes, install tidies, uninstall leaves only lefthook', async () => {
  const { repo, marker, hooks } = await lefthookRepo();
  await lefthook(repo, 'install');
  assert.is((await coven(['hooks', 'install'], { cwd: repo })).code, 0);
  config(repo, marker, ['post-commit', 'post-merge']);
  await lefthook(repo, 'install');
  assert.ok(existsSync(join(hooks, 'post-merge.old')), "lefthook set coven's hook aside as post-merge.old");
  assert.equal(await states(repo), { code: 3, hooks: ['managed by lefthook → ref-watch', 'overwritten by lefthook → ref-watch'] });
  const status = await coven(['hooks', 'status'], { cwd: repo });
  assert.match(status.stdout, /post-merge: overwritten by lefthook \(coven's hook was moved to .*post-merge\.old, which lefthook does not run/);
  const woke = await wakeAfter(repo, () => mergeSide(repo, 'b.txt'));
  assert.is(woke.via, 'ref');
  assert.is(ran(marker), 'post-commit\npost-merge\n');
  assert.is((await coven(['hooks', 'install'], { cwd: repo })).code, 0);
  assert.not.ok(existsSync(join(hooks, 'post-merge.old')), "coven's set-aside copy is gone");
  assert.equal(await states(repo), { code: 0, hooks: ['managed by lefthook → ref-watch', 'managed by lefthook → ref-watch'] });
});

t("coven first, then lefthook: lefthook sets coven's hook aside; status says so; the user's command runs; the ref watch wakes; uninstall leaves what lefthook alone makes", async () => {
  const { repo, marker, hooks } = await lefthookRepo();
  const r = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  await lefthook(repo, 'install');
  assert.equal(await states(repo), { code: 3, hooks: ['overwritten by lefthook → ref-watch', 'installed → hook'] });
  const woke = await wakeAfter(repo, () => commitFile(repo, 'a.txt', 'a'));
  assert.is(ran(marker), 'post-commit\n');
  assert.is(woke.via, 'ref');
  assert.is((await coven(['hooks', 'install'], { cwd: repo })).code, 0);
  assert.equal(await states(repo), { code: 0, hooks: ['managed by lefthook → ref-watch', 'installed → hook'] });
  assert.is((await coven(['hooks', 'uninstall'], { cwd: repo })).code, 0);
  const alone = await lefthookRepo();
  await lefthook(alone.repo, 'install');
  assert.equal(Object.keys(folderSnapshot(hooks)).filter((n) => !n.endsWith('.sample')), ['post-commit']);
  assert.is(readFileSync(join(hooks, 'post-commit'), 'utf8'), readFileSync(join(alone.hooks, 'post-commit'), 'utf8'));
});

t("coven first over a user's own hook, then lefthook: the user's hook ends where lefthook alone would have put it, and `lefthook uninstall` brings it back", async () => {
  const { repo, marker, hooks } = await lefthookRepo();
  const own = `#!/bin/sh\necho own >> ${marker}\n`;
  writeFileSync(join(hooks, 'post-commit'), own, { mode: 0o755 });
  assert.is((await coven(['hooks', 'install'], { cwd: repo })).code, 0);
  await lefthook(repo, 'install');
  assert.is((await coven(['hooks', 'install'], { cwd: repo })).code, 0);
  assert.is(readFileSync(join(hooks, 'post-commit.old'), 'utf8'), own);
  assert.not.ok(existsSync(join(hooks, 'post-commit.coven-chained')));
  assert.is((await coven(['hooks', 'uninstall'], { cwd: repo })).code, 0);
  await lefthook(repo, 'uninstall');
  assert.is(readFileSync(join(hooks, 'post-commit'), 'utf8'), own);
  assert.not.ok(existsSync(join(hooks, 'post-merge')), 'nothing of coven is left');
  await commitFile(repo, 'a.txt', 'a');
  assert.is(ran(marker), 'own\n');
});

test.run();
