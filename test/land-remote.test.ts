// land-remote — the land in remote mode against a real git server (git daemon on
// loopback), machines being clones: the branch lands by a push that is only ever a
// fast-forward, atomically with the claim's tombstone; a main that moved is fetched and
// rebased onto; a remote that does not answer loses nothing; the clone's local main
// follows only when the human has nothing on it that the remote lacks.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { landWorktree, syncWorktreeWithMain, unlandedCommits, type LandOptions, type LandResult } from '../scripts/lib/land/land.js';
import { describeLand } from '../scripts/lib/land/messages.js';
import type { RefUpdate } from '../scripts/lib/remote/git-remote.js';
import type { RemoteTarget } from '../scripts/lib/remote/target.js';
import { machineClone, serveRepository, startGitDaemon, type GitDaemon } from './helpers/git-daemon.js';
import { commitFile, sh, tempDir, tempRepo } from './helpers/repo.js';

interface World {
  daemon: GitDaemon;
  /** the bare repository the daemon serves */
  bare: string;
  a: string;
  b: string;
}

async function world(): Promise<World> {
  const daemon = await startGitDaemon();
  const url = await serveRepository(daemon, await tempRepo());
  const [a, b] = await Promise.all([machineClone(url, 'a'), machineClone(url, 'b')]);
  return { daemon, bare: join(daemon.base, 'project.git'), a, b };
}

const origin = (machine: string): RemoteTarget => ({ name: 'origin', url: '', main: 'main', machine });

/** A worker worktree in remote mode: its branch starts at the remote's main, its upstream is the local main. */
async function spawn(clone: string, name: string): Promise<string> {
  const wt = join(tempDir('coven-wt-'), name);
  await sh(clone, 'fetch', '-q', 'origin');
  await sh(clone, 'worktree', 'add', '-q', '-b', `coven/${name}`, wt, 'origin/main');
  await sh(clone, 'branch', '-q', '--set-upstream-to=main', `coven/${name}`);
  return wt;
}

function land(wt: string, machine: string, extra?: (head: string) => Promise<RefUpdate[]>, more: Partial<LandOptions> = {}): Promise<LandResult> {
  return landWorktree({ worktree: wt, keep: true, remote: { target: origin(machine) }, withMain: extra, ...more });
}

const remoteMain = (w: World) => sh(w.bare, 'rev-parse', 'refs/heads/main');
const subjects = async (dir: string, rev: string) => (await sh(dir, 'log', '--format=%s', rev)).split('\n');

async function emptyCommit(repo: string, message: string): Promise<string> {
  const tree = await sh(repo, 'hash-object', '-t', 'tree', '-w', '/dev/null');
  return sh(repo, 'commit-tree', tree, '-m', message);
}

async function within(w: World, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } finally {
    await w.daemon.stop();
  }
}

test('a worker branch lands by push: the remote main, the clone\'s local main and its checkout follow', async () => {
  const w = await world();
  await within(w, async () => {
    const wt = await spawn(w.a, 'w1');
    await commitFile(wt, 'src/a.txt', 'agent\n', 'add a');
    const r = await land(wt, 'a');
    assert.is(r.kind, 'landed', JSON.stringify(r));
    if (r.kind !== 'landed') return;
    assert.is(r.remote, 'origin');
    assert.is(r.commits, 1);
    assert.equal(r.local, { kind: 'followed', checkout: w.a });
    assert.is(await remoteMain(w), r.main);
    assert.is(await sh(w.a, 'rev-parse', 'main'), r.main);
    assert.is(await sh(w.a, 'rev-parse', 'origin/main'), r.main);
    assert.is(readFileSync(join(w.a, 'src/a.txt'), 'utf8'), 'agent\n');
    assert.is(await sh(w.a, 'status', '--porcelain'), '');
    assert.match(describeLand(r, { self: 'coven land', againArgs: [] }).text, /landed 1 commit from coven\/w1 on main at origin/);
    // nothing left: the next land has nothing to do
    assert.is((await land(wt, 'a')).kind, 'nothing-to-land');
  });
});

test('another machine landed first: the land fetches it, rebases onto it and pushes; linear, nothing lost', async () => {
  const w = await world();
  await within(w, async () => {
    const wa = await spawn(w.a, 'wa');
    const wb = await spawn(w.b, 'wb');
    await commitFile(wa, 'a.txt', 'a\n', 'a: add a');
    await commitFile(wb, 'b.txt', 'b\n', 'b: add b');
    assert.is((await land(wb, 'b')).kind, 'landed');
    const r = await land(wa, 'a');
    assert.is(r.kind, 'landed', JSON.stringify(r));
    assert.equal((await subjects(w.bare, 'main')).slice(0, 3), ['a: add a', 'b: add b', 'initial commit']);
    assert.is(await sh(w.bare, 'rev-list', '--merges', 'main'), '');
    assert.is(await sh(w.a, 'show', 'main:b.txt'), 'b');
    assert.is(readFileSync(join(w.a, 'b.txt'), 'utf8'), 'b\n'); // a's checkout has b's work too
  });
});

test('a human pushes to the remote\'s main between the fetch and the push: refused as main moved, fetched, rebased, pushed again', async () => {
  const w = await world();
  await within(w, async () => {
    const wa = await spawn(w.a, 'wa');
    await commitFile(wa, 'a.txt', 'a\n', 'a: add a');
    const human = await commitFile(w.b, 'human.txt', 'h\n', 'human: on main');
    let calls = 0;
    const r = await land(wa, 'a', async () => {
      // called once the branch is rebased, just before the push: the human pushes now
      if (calls++ === 0) await sh(w.b, 'push', '-q', 'origin', 'main');
      return [];
    });
    assert.is(r.kind, 'landed', JSON.stringify(r));
    if (r.kind !== 'landed') return;
    assert.is(r.retries, 1);
    assert.is(calls, 2);
    assert.equal((await subjects(w.bare, 'main')).slice(0, 3), ['a: add a', 'human: on main', 'initial commit']);
    assert.is(await sh(w.bare, 'rev-parse', 'main~1'), human);
    assert.is(await sh(w.bare, 'rev-list', '--merges', 'main'), '');
  });
});

test('a conflict with what another machine pushed: conflict, the rebase left open, nothing pushed', async () => {
  const w = await world();
  await within(w, async () => {
    const wa = await spawn(w.a, 'wa');
    await commitFile(wa, 'README.md', 'from a\n', 'a: readme');
    await commitFile(w.b, 'README.md', 'from b\n', 'b: readme');
    await sh(w.b, 'push', '-q', 'origin', 'main');
    const before = await remoteMain(w);
    const r = await land(wa, 'a');
    assert.is(r.kind, 'conflict', JSON.stringify(r));
    if (r.kind !== 'conflict') return;
    assert.equal(r.files, ['README.md']);
    assert.is(r.onto, 'main');
    assert.is(await remoteMain(w), before);
    assert.ok(await sh(wa, 'rev-parse', '--verify', '-q', 'REBASE_HEAD'));
  });
});

test('the remote stopped before the land: unreachable, the branch keeps every commit; started again, the next land pushes', async () => {
  const w = await world();
  await within(w, async () => {
    const wa = await spawn(w.a, 'wa');
    await commitFile(wa, 'a1.txt', '1\n', 'a: one');
    const tip = await commitFile(wa, 'a2.txt', '2\n', 'a: two');
    const before = await remoteMain(w);
    await w.daemon.stop();
    const r = await land(wa, 'a');
    assert.is(r.kind, 'unreachable', JSON.stringify(r));
    if (r.kind !== 'unreachable') return;
    assert.is(r.commits, 2);
    assert.is(r.remote, 'origin');
    assert.is(await sh(wa, 'rev-parse', 'HEAD'), tip);
    assert.is(await remoteMain(w), before);
    const said = describeLand(r, { self: 'coven land', againArgs: ['--keep'] });
    assert.is(said.code, 6);
    assert.match(said.text, /did not answer/);
    assert.match(said.text, /Nothing was pushed/);
    await w.daemon.start();
    const again = await land(wa, 'a');
    assert.is(again.kind, 'landed', JSON.stringify(again));
    assert.equal((await subjects(w.bare, 'main')).slice(0, 2), ['a: two', 'a: one']);
  });
});

test('the remote stops during the land (after the fetch, before the push): unreachable, nothing pushed, nothing lost', async () => {
  const w = await world();
  await within(w, async () => {
    const wa = await spawn(w.a, 'wa');
    await commitFile(wa, 'a.txt', 'a\n', 'a: add a');
    const before = await remoteMain(w);
    const r = await land(wa, 'a', async () => {
      await w.daemon.stop();
      return [];
    });
    assert.is(r.kind, 'unreachable', JSON.stringify(r));
    assert.is(await remoteMain(w), before);
    assert.is(await sh(wa, 'log', '-1', '--format=%s'), 'a: add a');
    await w.daemon.start();
    assert.is((await land(wa, 'a')).kind, 'landed');
  });
});

test('a local main with a human\'s unpushed commit: the land pushes, the local main is not moved, not lost, and the land says so', async () => {
  const w = await world();
  await within(w, async () => {
    const wa = await spawn(w.a, 'wa');
    await commitFile(wa, 'a.txt', 'a\n', 'a: add a');
    const mine = await commitFile(w.a, 'mine.txt', 'mine\n', 'human: not pushed');
    const r = await land(wa, 'a');
    assert.is(r.kind, 'landed', JSON.stringify(r));
    if (r.kind !== 'landed') return;
    assert.is(r.local?.kind, 'own-commits');
    assert.is(await sh(w.a, 'rev-parse', 'main'), mine);
    assert.is(await sh(w.bare, 'log', '-1', '--format=%s', 'main'), 'a: add a');
    // the human's commit was not pushed
    assert.is((await sh(w.bare, 'rev-list', '--all')).includes(mine), false);
    const text = describeLand(r, { self: 'coven land', againArgs: [] }).text;
    assert.match(text, /your local main has 1 commit that is not on origin/);
    assert.match(text, /left as it is, nothing lost/);
  });
});

test('an extra update whose expect is stale: lease-lost, and main is not pushed (atomic)', async () => {
  const w = await world();
  await within(w, async () => {
    const claimRef = 'refs/coven/claims/job';
    const taken = await emptyCommit(w.b, 'taken over by b');
    await sh(w.b, 'push', '-q', 'origin', `${taken}:${claimRef}`);
    const wa = await spawn(w.a, 'wa');
    const tip = await commitFile(wa, 'a.txt', 'a\n', 'a: add a');
    const before = await remoteMain(w);
    const mineWas = await emptyCommit(w.a, 'held by a');
    const r = await land(wa, 'a', async (head) => [{ ref: claimRef, to: await emptyCommit(w.a, `landed ${head}`), expect: mineWas }]);
    assert.is(r.kind, 'lease-lost', JSON.stringify(r));
    if (r.kind !== 'lease-lost') return;
    assert.is(r.ref, claimRef);
    assert.is(await remoteMain(w), before);
    assert.is(await sh(w.bare, 'rev-parse', claimRef), taken);
    assert.is(await sh(wa, 'rev-parse', 'HEAD'), tip);
    assert.is(describeLand(r, { self: 'coven land', againArgs: [] }).code, 7);
  });
});

test('the extra update pushed with main: both land together', async () => {
  const w = await world();
  await within(w, async () => {
    const claimRef = 'refs/coven/claims/job';
    const held = await emptyCommit(w.a, 'held by a');
    await sh(w.a, 'push', '-q', 'origin', `${held}:${claimRef}`);
    const wa = await spawn(w.a, 'wa');
    await commitFile(wa, 'a.txt', 'a\n', 'a: add a');
    let tombstone = '';
    const r = await land(wa, 'a', async (head) => {
      tombstone = await emptyCommit(w.a, `landed ${head}`);
      return [{ ref: claimRef, to: tombstone, expect: held }];
    });
    assert.is(r.kind, 'landed', JSON.stringify(r));
    assert.is(await sh(w.bare, 'rev-parse', claimRef), tombstone);
    assert.is(await sh(w.bare, 'log', '-1', '--format=%s', tombstone), `landed ${r.kind === 'landed' ? r.main : ''}`);
  });
});

test('the server refuses the push (a hook): push-refused with its words, nothing pushed', async () => {
  const w = await world();
  await within(w, async () => {
    const hook = join(w.bare, 'hooks', 'pre-receive');
    writeFileSync(hook, '#!/bin/sh\necho "main is protected" >&2\nexit 1\n');
    chmodSync(hook, 0o755);
    const wa = await spawn(w.a, 'wa');
    await commitFile(wa, 'a.txt', 'a\n', 'a: add a');
    const before = await remoteMain(w);
    const r = await land(wa, 'a');
    assert.is(r.kind, 'push-refused', JSON.stringify(r));
    if (r.kind !== 'push-refused') return;
    assert.is(await remoteMain(w), before);
    assert.match(describeLand(r, { self: 'coven land', againArgs: [] }).text, /refused the push of refs\/heads\/main/);
  });
});

test('sync in remote mode: up to the remote\'s main; with the remote down, up to what was fetched last, and said', async () => {
  const w = await world();
  await within(w, async () => {
    const wa = await spawn(w.a, 'wa');
    await commitFile(w.b, 'b1.txt', '1\n', 'b: one');
    await sh(w.b, 'push', '-q', 'origin', 'main');
    const s1 = await syncWorktreeWithMain(wa, undefined, origin('a'));
    assert.is(s1.kind, 'synced', JSON.stringify(s1));
    assert.is(await sh(wa, 'log', '-1', '--format=%s'), 'b: one');
    // the local main did not move: the sync is the worktree's only
    assert.is(await sh(w.a, 'log', '-1', '--format=%s', 'main'), 'initial commit');
    await commitFile(w.b, 'b2.txt', '2\n', 'b: two');
    await sh(w.b, 'push', '-q', 'origin', 'main');
    await w.daemon.stop();
    const s2 = await syncWorktreeWithMain(wa, undefined, origin('a'));
    assert.is(s2.kind, 'up-to-date', JSON.stringify(s2));
    assert.is(s2.kind === 'up-to-date' ? s2.offline?.kind : null, 'unreachable');
    await commitFile(wa, 'a.txt', 'a\n', 'a: add a');
    const u = await unlandedCommits(wa, undefined, origin('a'));
    assert.is(u.kind === 'unlanded' ? u.commits.length : -1, 1);
  });
});

test.run();
