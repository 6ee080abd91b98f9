// setup-snapshot's config cache: a config file is read again whenever anything about it
// changed (size, inode, change or modification time), even a write that keeps its size
// and puts its modification time back, and always when it changed within 2 s of a read.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { snapshotGitSetup, configValue } from '../scripts/lib/git/setup-snapshot.js';
import { sh, tempRepo } from './helpers/repo.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a config rewritten to the same size with its modification time put back is read again', async () => {
  const repo = await tempRepo();
  await sh(repo, 'config', 'core.hooksPath', '/tmp/aaaa');
  const common = join(repo, '.git');
  await sleep(2_200); // older than the racy window: the next read is cached
  const first = await snapshotGitSetup(common, repo);
  assert.is(configValue(first.configs, 'core.hookspath'), '/tmp/aaaa');
  const cached = await snapshotGitSetup(common, repo);
  assert.is(configValue(cached.configs, 'core.hookspath'), '/tmp/aaaa');
  // an agent's edit that hides itself: same size, the old modification time
  const file = join(common, 'config');
  const st = statSync(file);
  writeFileSync(file, readFileSync(file, 'utf8').replace('/tmp/aaaa', '/tmp/evil'));
  utimesSync(file, st.atime, st.mtime);
  assert.is(statSync(file).size, st.size);
  const after = await snapshotGitSetup(common, repo);
  assert.is(configValue(after.configs, 'core.hookspath'), '/tmp/evil', 'the change time moved: read again');
});

test('a config changed right after a read (the same clock tick) is read again', async () => {
  const repo = await tempRepo();
  const common = join(repo, '.git');
  await sh(repo, 'config', 'user.name', 'one');
  const first = await snapshotGitSetup(common, repo);
  assert.is(configValue(first.configs, 'user.name'), 'one');
  await sh(repo, 'config', 'user.name', 'two');
  const second = await snapshotGitSetup(common, repo);
  assert.is(configValue(second.configs, 'user.name'), 'two');
});

test.run();
