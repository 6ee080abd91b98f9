// setup-snapshot's config cache: git lists a config file again whenever its bytes
// changed, whatever its stat data says (a write that keeps the size and puts the
// modification time back; a write through a memory map keeps even the change time).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { snapshotGitSetup, configValue } from '../scripts/lib/git/setup-snapshot.js';
import { sh, tempRepo } from './helpers/repo.js';

test('a config rewritten to the same size with its modification time put back is read again', async () => {
  const repo = await tempRepo();
  await sh(repo, 'config', 'core.hooksPath', '/tmp/aaaa');
  const common = join(repo, '.git');
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
  assert.is(configValue(after.configs, 'core.hookspath'), '/tmp/evil', 'the bytes changed: listed again');
});

test('a config changed right after a read is read again', async () => {
  const repo = await tempRepo();
  const common = join(repo, '.git');
  await sh(repo, 'config', 'user.name', 'one');
  const first = await snapshotGitSetup(common, repo);
  assert.is(configValue(first.configs, 'user.name'), 'one');
  await sh(repo, 'config', 'user.name', 'two');
  const second = await snapshotGitSetup(common, repo);
  assert.is(configValue(second.configs, 'user.name'), 'two');
});

test('a config rewritten through a memory map (size and times unchanged) is read again', async () => {
  if (spawnSync('python3', ['-c', 'import mmap'], { stdio: 'ignore' }).status !== 0) return console.log('skipped: no python3 to write through mmap');
  const repo = await tempRepo();
  const common = join(repo, '.git');
  const file = join(common, 'config');
  await sh(repo, 'config', 'core.hooksPath', '/tmp/aaaa');
  const ready = join(repo, 'ready');
  const go = join(repo, 'go');
  const done = join(repo, 'done');
  // the first write through the map (it may move the times), then, when told, a second one (it does not)
  const py = `import mmap, os, time, sys
f = open(sys.argv[1], 'r+b'); m = mmap.mmap(f.fileno(), 0)
i = m.find(b'/tmp/aaaa'); m[i + 5:i + 6] = b'b'
open(sys.argv[2], 'w').close()
while not os.path.exists(sys.argv[3]): time.sleep(0.02)
m[i + 5:i + 9] = b'evil'; m.flush(); open(sys.argv[4], 'w').close()`;
  const child = spawn('python3', ['-c', py, file, ready, go, done], { stdio: 'ignore' });
  const until = async (path: string) => {
    for (const end = Date.now() + 20_000; !existsSync(path); await sleep(20)) if (Date.now() > end) throw new Error(`no ${path}`);
  };
  try {
    await until(ready);
    await sleep(2_200);
    const first = await snapshotGitSetup(common, repo);
    assert.is(configValue(first.configs, 'core.hookspath'), '/tmp/baaa');
    const stat = statSync(file);
    writeFileSync(go, '');
    await until(done);
    const after = statSync(file);
    if (after.ctimeMs !== stat.ctimeMs || after.mtimeMs !== stat.mtimeMs) console.log('(the write through the map moved the times on this filesystem)');
    const second = await snapshotGitSetup(common, repo);
    assert.is(configValue(second.configs, 'core.hookspath'), '/tmp/evil', 'the bytes changed: listed again');
  } finally {
    child.kill();
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.run();
