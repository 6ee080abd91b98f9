// git-remote — fetch, ls-remote and the atomic push against a real git server (git daemon
// on loopback): each compare-and-swap wins once, an atomic push changes all refs or none,
// and a stopped server is `unreachable` in well under the time limit.

import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fetchRemote, lsRemote, pushAtomic } from '../scripts/lib/remote/git-remote.js';
import { resolveRemote } from '../scripts/lib/remote/target.js';
import { machineClone, serveRepository, startGitDaemon } from './helpers/git-daemon.js';
import { commitFile, sh, tempDir, tempRepo } from './helpers/repo.js';

async function setup() {
  const daemon = await startGitDaemon();
  const url = await serveRepository(daemon, await tempRepo());
  const a = await machineClone(url, 'a');
  const b = await machineClone(url, 'b');
  return { daemon, a, b };
}

async function emptyCommit(repo: string, message: string): Promise<string> {
  const tree = await sh(repo, 'hash-object', '-t', 'tree', '-w', '/dev/null');
  return sh(repo, 'commit-tree', tree, '-m', message);
}

test('a ref created with expect null is created once: the second machine loses, and a CAS from the right commit wins', async () => {
  const { daemon, a, b } = await setup();
  try {
    const ca = await emptyCommit(a, 'a');
    const cb = await emptyCommit(b, 'b');
    assert.equal(await pushAtomic(a, 'origin', [{ ref: 'refs/coven/claims/x', to: ca, expect: null }]), { kind: 'pushed' });
    const lost = await pushAtomic(b, 'origin', [{ ref: 'refs/coven/claims/x', to: cb, expect: null }]);
    assert.is(lost.kind, 'refused');
    if (lost.kind === 'refused') assert.is(lost.refs[0]?.why, 'stale');
    assert.equal(await pushAtomic(b, 'origin', [{ ref: 'refs/coven/claims/x', to: cb, expect: ca }]), { kind: 'pushed' });
    const listed = await lsRemote(b, 'origin', ['refs/coven/claims/*', 'refs/heads/main']);
    assert.is(listed.kind, 'listed');
    if (listed.kind === 'listed') {
      assert.is(listed.refs.get('refs/coven/claims/x'), cb);
      assert.ok(listed.refs.has('refs/heads/main'));
    }
  } finally {
    await daemon.stop();
  }
});

test('an atomic push whose main is not a fast-forward changes nothing, the claim included', async () => {
  const { daemon, a, b } = await setup();
  try {
    await commitFile(a, 'a.txt', 'a\n');
    assert.equal(await pushAtomic(a, 'origin', [{ ref: 'refs/heads/main', to: await sh(a, 'rev-parse', 'HEAD'), expect: 'fast-forward' }]), { kind: 'pushed' });
    const claim = await emptyCommit(b, 'claim');
    const mine = await commitFile(b, 'b.txt', 'b\n');
    const r = await pushAtomic(b, 'origin', [
      { ref: 'refs/heads/main', to: mine, expect: 'fast-forward' },
      { ref: 'refs/coven/claims/y', to: claim, expect: null },
    ]);
    assert.is(r.kind, 'refused');
    if (r.kind === 'refused') assert.is(r.refs.find((x) => x.ref === 'refs/heads/main')?.why, 'non-fast-forward');
    const listed = await lsRemote(b, 'origin', ['refs/coven/claims/*']);
    assert.equal(listed.kind === 'listed' ? [...listed.refs.keys()] : null, []);
    assert.equal(await fetchRemote(b, 'origin', ['+refs/heads/main:refs/remotes/origin/main']), { kind: 'fetched' });
    assert.is(await sh(b, 'rev-parse', 'origin/main'), await sh(a, 'rev-parse', 'HEAD'));
  } finally {
    await daemon.stop();
  }
});

test('a compare-and-swap lost on the server, after the client checked (a race under the ref lock), names the ref: stale for a claim, non-fast-forward for main', async () => {
  const { daemon, a, b } = await setup();
  try {
    const bare = join(daemon.base, 'project.git');
    // the server holds the first push back between its check of the refs and its update of them
    const hook = join(bare, 'hooks', 'pre-receive');
    writeFileSync(hook, `#!/bin/sh\ncat > /dev/null\nif [ -f "${bare}/slow" ]; then rm -f "${bare}/slow"; sleep 1.5; fi\n`);
    chmodSync(hook, 0o755);
    const x = await emptyCommit(a, 'x');
    assert.equal(await pushAtomic(a, 'origin', [{ ref: 'refs/coven/claims/z', to: x, expect: null }]), { kind: 'pushed' });
    for (const race of ['claim', 'main'] as const) {
      writeFileSync(join(bare, 'slow'), '');
      const now = await sh(a, 'ls-remote', 'origin', 'refs/coven/claims/z').then((l) => l.split('\t')[0]!);
      const head = await commitFile(a, `${race}.txt`, `${race}\n`);
      const slow = pushAtomic(a, 'origin', [
        { ref: 'refs/heads/main', to: head, expect: 'fast-forward' },
        { ref: 'refs/coven/claims/z', to: await emptyCommit(a, `tomb ${race}`), expect: now },
      ]);
      await new Promise((r) => setTimeout(r, 700)); // a's push is past the client's check, held by the hook
      const other = race === 'claim' ? [{ ref: 'refs/coven/claims/z', to: await emptyCommit(b, 'beat'), expect: now }] : [{ ref: 'refs/heads/main', to: await commitFile(b, 'b.txt', 'b\n'), expect: 'fast-forward' }];
      assert.equal(await pushAtomic(b, 'origin', other), { kind: 'pushed' });
      const r = await slow;
      assert.is(r.kind, 'refused', JSON.stringify(r));
      if (r.kind === 'refused') {
        const ref = race === 'claim' ? 'refs/coven/claims/z' : 'refs/heads/main';
        assert.is(r.refs.find((u) => u.ref === ref)?.why, race === 'claim' ? 'stale' : 'non-fast-forward', JSON.stringify(r.refs));
      }
    }
    assert.is(await sh(bare, 'rev-parse', 'main'), await sh(b, 'rev-parse', 'HEAD'));
  } finally {
    await daemon.stop();
  }
});

test('fetches running at once in one clone (the workers of one machine) all succeed: a local ref lock another fetch held is waited out', async () => {
  const { daemon, a, b } = await setup();
  try {
    for (let round = 0; round < 8; round++) {
      await commitFile(a, `r${round}.txt`, `${round}\n`);
      assert.equal(await pushAtomic(a, 'origin', [{ ref: 'refs/heads/main', to: await sh(a, 'rev-parse', 'HEAD'), expect: 'fast-forward' }]), { kind: 'pushed' });
      const all = await Promise.all(Array.from({ length: 4 }, () => fetchRemote(b, 'origin', ['+refs/heads/main:refs/remotes/origin/main'])));
      assert.equal(all, Array.from({ length: 4 }, () => ({ kind: 'fetched' })), `round ${round}`);
    }
    assert.is(await sh(b, 'rev-parse', 'origin/main'), await sh(a, 'rev-parse', 'HEAD'));
  } finally {
    await daemon.stop();
  }
});

test('a stopped server is unreachable for fetch, ls-remote and push, at once; started again, it answers', async () => {
  const { daemon, a } = await setup();
  await daemon.stop();
  const t0 = Date.now();
  const f = await fetchRemote(a, 'origin', ['+refs/heads/main:refs/remotes/origin/main']);
  const l = await lsRemote(a, 'origin', ['refs/heads/main']);
  const p = await pushAtomic(a, 'origin', [{ ref: 'refs/heads/main', to: await sh(a, 'rev-parse', 'HEAD'), expect: 'fast-forward' }]);
  assert.ok(Date.now() - t0 < 10_000);
  assert.is(f.kind, 'unreachable');
  assert.is(l.kind, 'unreachable');
  assert.is(p.kind, 'unreachable');
  if (p.kind === 'unreachable') assert.match(p.message, /connect|refused|remote/i);
  await daemon.start();
  assert.is((await lsRemote(a, 'origin', ['refs/heads/main'])).kind, 'listed');
  await daemon.stop();
});

test('a server that accepts and never answers is ended at the time limit: unreachable, "timed out"', async () => {
  const held: Socket[] = [];
  const server = createServer((s) => held.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const repo = await tempRepo();
  await sh(repo, 'remote', 'add', 'origin', `git://127.0.0.1:${port}/x.git`);
  try {
    const t0 = Date.now();
    const r = await lsRemote(repo, 'origin', ['refs/heads/main'], { timeoutMs: 700 });
    assert.ok(Date.now() - t0 < 5_000, `took ${Date.now() - t0} ms`);
    assert.is(r.kind, 'unreachable');
    if (r.kind === 'unreachable') assert.match(r.message, /timed out/);
  } finally {
    for (const s of held) s.destroy();
    server.close();
  }
});

test('a server that does not take atomic pushes is a failure that says so, not an outage to wait out', async () => {
  const seed = await tempRepo();
  const bare = join(tempDir(), 'noatomic.git');
  await sh(seed, 'clone', '-q', '--bare', seed, bare);
  await sh(bare, 'config', 'receive.advertiseAtomic', 'false');
  await sh(seed, 'remote', 'add', 'origin', bare);
  await commitFile(seed, 'x.txt', 'x\n');
  const r = await pushAtomic(seed, 'origin', [{ ref: 'refs/heads/main', to: await sh(seed, 'rev-parse', 'HEAD'), expect: 'fast-forward' }]);
  assert.is(r.kind, 'failed');
  if (r.kind === 'failed') assert.match(r.message, /^the remote origin does not take atomic pushes/);
});

test('a fetch that meets another worker\'s worktree half made (its HEAD not a commit yet) is tried again, and succeeds once it is made', async () => {
  const { daemon, a } = await setup();
  try {
    await sh(a, 'worktree', 'add', '-q', join(tempDir(), 'other'));
    const head = join(a, '.git', 'worktrees', 'other', 'HEAD');
    const good = readFileSync(head, 'utf8');
    writeFileSync(head, '1234567890123456789012345678901234567890\n');
    setTimeout(() => writeFileSync(head, good), 400);
    assert.equal(await fetchRemote(a, 'origin', ['+refs/heads/main:refs/remotes/origin/main']), { kind: 'fetched' });
  } finally {
    await daemon.stop();
  }
});

test('the remote is --remote, else git config coven.remote, else local mode; a remote the clone lacks is named with the fix', async () => {
  const { daemon, a } = await setup();
  await daemon.stop();
  assert.equal(await resolveRemote(a, 'main', undefined), { kind: 'local' });
  const r = await resolveRemote(a, 'main', 'origin', { COVEN_MACHINE: 'box-1' });
  assert.is(r.kind, 'remote');
  if (r.kind === 'remote') assert.equal([r.target.name, r.target.machine, r.target.main], ['origin', 'box-1', 'main']);
  await sh(a, 'config', 'coven.remote', 'upstream');
  const bad = await resolveRemote(a, 'main', undefined);
  assert.is(bad.kind, 'problem');
  if (bad.kind === 'problem') assert.match(bad.message, /git config coven.remote names the remote "upstream", which this clone does not have \(its remotes: origin\); add it with: git remote add upstream <url>/);
});

test.run();
