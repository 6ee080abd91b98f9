// claims-remote — claims on a real git server (git daemon on loopback), machines being
// separate clones with their own state dirs: one machine wins a race, leases judged by
// each observer's own clock, tombstones pushed atomically with main, a server that is
// down is `unreachable` for every operation and works again once it is back.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostname } from 'node:os';
import { jobKey, type Holder, type Job } from '../scripts/lib/claims/claim.js';
import { openClaimStore } from '../scripts/lib/claims/index.js';
import { lsRemote, pushAtomic } from '../scripts/lib/remote/git-remote.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DAY_MS } from '../scripts/lib/claims/prune.js';
import { gcClaims } from '../scripts/lib/claims/gc-claims.js';
import type { RemoteTarget } from '../scripts/lib/remote/target.js';
import { processStartTime } from '../scripts/lib/locks/process-identity.js';
import { machineClone, serveRepository, startGitDaemon, type GitDaemon } from './helpers/git-daemon.js';
import { commitFile, distRoot, sh, tempDir, tempRepo } from './helpers/repo.js';
import { execFile } from 'node:child_process';

const job: Job = { agent: 'implement', args: { issue: 'issues/a.md' } };

function holder(worker: string, machine: string, host = hostname()): Holder {
  return host === hostname() ? { worker, machine, host, pid: process.pid, pid_start: processStartTime(process.pid) } : { worker, machine, host, pid: 4242, pid_start: null };
}

interface Machine {
  repo: string;
  stateDir: string;
  store: ReturnType<typeof openClaimStore>;
  tick(ms: number): void;
  main(): Promise<string>;
}

async function machine(url: string, name: string, clockStart = 1_000_000): Promise<Machine> {
  const repo = await machineClone(url, name);
  const stateDir = tempDir(`coven-state-${name}-`);
  let clock = clockStart;
  const target: RemoteTarget = { name: 'origin', url, main: 'main', machine: name };
  const store = openClaimStore({ repo, stateDir, remote: target, now: () => clock });
  return { repo, stateDir, store, tick: (ms) => void (clock += ms), main: () => sh(repo, 'rev-parse', 'HEAD') };
}

async function setup(names = ['box-1', 'box-2']): Promise<{ daemon: GitDaemon; url: string; m: Machine[] }> {
  const daemon = await startGitDaemon();
  const url = await serveRepository(daemon, await tempRepo());
  const m: Machine[] = [];
  for (const n of names) m.push(await machine(url, n));
  return { daemon, url, m };
}

test('two machines take one job at once: one wins, the other is told who has it', async () => {
  const { daemon, m } = await setup();
  try {
    const [a, b] = m as [Machine, Machine];
    const [ra, rb] = await Promise.all([a.store.take(job, holder('brave-otter', 'box-1'), await a.main()), b.store.take(job, holder('calm-fox', 'box-2', 'box-2.example'), await b.main())]);
    const kinds = [ra.kind, rb.kind].sort();
    assert.equal(kinds, ['lost', 'taken']);
    const listed = await lsRemote(a.repo, 'origin', ['refs/coven/claims/*']);
    const winner = ra.kind === 'taken' ? ra : rb.kind === 'taken' ? rb : null;
    assert.ok(listed.kind === 'listed' && winner && listed.refs.get(`refs/coven/claims/${jobKey(job)}`) === winner.claim.sha);
    const loser = ra.kind === 'lost' ? ra : rb.kind === 'lost' ? rb : null;
    assert.ok(loser && winner && loser.holder.worker === winner.claim.record.holder.worker);
  } finally {
    await daemon.stop();
  }
});

test('take, list from another machine, release: the tombstone is on the remote', async () => {
  const { daemon, m } = await setup();
  try {
    const [a, b] = m as [Machine, Machine];
    const t = await a.store.take(job, holder('brave-otter', 'box-1'), await a.main());
    assert.is(t.kind, 'taken');
    if (t.kind !== 'taken') return;
    const seen = await b.store.list();
    assert.ok(Array.isArray(seen) && seen.length === 1 && seen[0]!.kind === 'claim' && seen[0]!.record.holder.worker === 'brave-otter');
    assert.is(seen[0]!.ref, `refs/coven/claims/${jobKey(job)}`);
    assert.equal(await a.store.release(t.claim, { kind: 'given-up', why: 'tests fail' }), { kind: 'released' });
    const after = await b.store.list();
    assert.ok(Array.isArray(after) && after[0]!.kind === 'claim' && after[0]!.record.state === 'given-up');
    const again = await b.store.take(job, holder('calm-fox', 'box-2', 'box-2.example'), await b.main());
    assert.is(again.kind, 'taken');
    if (again.kind === 'taken') assert.is(again.over?.why, 'given-up');
  } finally {
    await daemon.stop();
  }
});

const OTHER = 'box-2.example';

function takeInProcess(mc: Machine, worker: string, machineName: string, main: string): Promise<{ kind: string; sha: string | null }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(distRoot, 'test', 'helpers', 'take-claim.js'), mc.repo, mc.stateDir, worker, machineName, main, job.agent, job.args.issue ?? '', 'origin'], (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim()) as { kind: string; sha: string | null });
    });
  });
}

test('9 takes of one job at once, 3 processes on each of 3 machines: exactly one is taken', async () => {
  const { daemon, m } = await setup(['box-1', 'box-2', 'box-3']);
  try {
    const main = await m[0]!.main();
    const results = await Promise.all(m.flatMap((mc, i) => [0, 1, 2].map((j) => takeInProcess(mc, `w${i}${j}`, `box-${i + 1}`, main))));
    assert.is(results.filter((r) => r.kind === 'taken').length, 1, JSON.stringify(results));
    assert.is(results.filter((r) => r.kind === "lost").length, 8, JSON.stringify(results));
    const listed = await lsRemote(m[0]!.repo, 'origin', ['refs/coven/claims/*']);
    assert.ok(listed.kind === 'listed' && listed.refs.get(`refs/coven/claims/${jobKey(job)}`) === results.find((r) => r.kind === 'taken')?.sha);
  } finally {
    await daemon.stop();
  }
});

test('a lease runs out by each observer\'s own clock: the holder\'s clock hours behind changes nothing; heartbeats keep it', async () => {
  const { daemon, url, m } = await setup(['box-2']);
  try {
    const [b] = m as [Machine];
    const a = await machine(url, 'box-1', 1_000_000 - 6 * 3_600_000); // six hours behind
    const t = await a.store.take(job, holder('brave-otter', 'box-1', 'box-1.example'), await a.main());
    if (t.kind !== 'taken') return assert.unreachable(t.kind);
    let claim = t.claim;
    assert.is((await b.store.take(job, holder('calm-fox', 'box-2'), await b.main())).kind, 'lost');
    for (let i = 0; i < 4; i++) {
      a.tick(100_000);
      b.tick(100_000);
      const hb = await a.store.heartbeat(claim);
      if (hb.kind !== 'held') return assert.unreachable(hb.kind);
      claim = hb.claim;
      b.tick(150_000);
      assert.is((await b.store.take(job, holder('calm-fox', 'box-2'), await b.main())).kind, 'lost', `beat ${i}`);
    }
    b.tick(300_000);
    const r = await b.store.take(job, holder('calm-fox', 'box-2'), await b.main());
    assert.is(r.kind, 'taken');
    if (r.kind === 'taken') assert.is(r.over?.why, 'lease-expired');
    const hb = await a.store.heartbeat(claim);
    assert.is(hb.kind, 'lost');
    if (hb.kind === 'lost') assert.is(hb.now?.holder.worker, 'calm-fox');
    const rel = await a.store.release(claim, { kind: 'given-up', why: 'late' });
    assert.is(rel.kind, 'lost');
  } finally {
    await daemon.stop();
  }
});

test('a land pushed with its tombstone: all or nothing; a main that is not a fast-forward changes nothing; a claim taken over refuses the land', async () => {
  const { daemon, m } = await setup();
  try {
    const [a, b] = m as [Machine, Machine];
    const t = await a.store.take(job, holder('brave-otter', 'box-1', 'box-1.example'), await a.main());
    if (t.kind !== 'taken') return assert.unreachable(t.kind);
    const ref = `refs/coven/claims/${jobKey(job)}`;
    // b moves the remote's main first
    await commitFile(b.repo, 'b.txt', 'b\n');
    assert.equal(await pushAtomic(b.repo, 'origin', [{ ref: 'refs/heads/main', to: await b.main(), expect: 'fast-forward' }]), { kind: 'pushed' });
    const work = await commitFile(a.repo, 'a.txt', 'a\n');
    const tomb = await a.store.releaseUpdate(t.claim, { kind: 'landed', commit: work });
    assert.is(tomb.ref, ref);
    const refused = await pushAtomic(a.repo, 'origin', [{ ref: 'refs/heads/main', to: work, expect: 'fast-forward' }, tomb]);
    assert.is(refused.kind, 'refused');
    const after = await lsRemote(a.repo, 'origin', [ref, 'refs/heads/main']);
    assert.ok(after.kind === 'listed' && after.refs.get(ref) === t.claim.sha && after.refs.get('refs/heads/main') === (await b.main()));
    // rebased onto the remote's main: both go
    await sh(a.repo, 'pull', '-q', '--rebase', 'origin', 'main');
    const rebased = await a.main();
    const tomb2 = await a.store.releaseUpdate(t.claim, { kind: 'landed', commit: rebased });
    assert.equal(await pushAtomic(a.repo, 'origin', [{ ref: 'refs/heads/main', to: rebased, expect: 'fast-forward' }, tomb2]), { kind: 'pushed' });
    const seen = await b.store.list();
    assert.ok(Array.isArray(seen) && seen[0]!.kind === 'claim' && seen[0]!.record.state === 'landed' && seen[0]!.record.landed === rebased);
    // b's dispatch looked before the land: stale view; after fetching main it may take the job again (the commit is fetched for it)
    const stale = await b.store.take(job, holder('calm-fox', 'box-2'), await b.main());
    assert.is(stale.kind, 'stale-view');
    await sh(b.repo, 'pull', '-q', '--ff-only', 'origin', 'main');
    const again = await b.store.take(job, holder('calm-fox', 'box-2'), await b.main());
    assert.is(again.kind, 'taken');
    if (again.kind === 'taken') assert.is(again.over?.why, 'landed-before');
    // a's old claim was taken over: its land (with the tombstone expecting its claim) is refused
    await commitFile(a.repo, 'c.txt', 'c\n');
    const late = await a.store.releaseUpdate(t.claim, { kind: 'landed', commit: await a.main() });
    const r = await pushAtomic(a.repo, 'origin', [{ ref: 'refs/heads/main', to: await a.main(), expect: 'fast-forward' }, late]);
    assert.is(r.kind, 'refused');
    const end = await lsRemote(a.repo, 'origin', ['refs/heads/main']);
    assert.ok(end.kind === 'listed' && end.refs.get('refs/heads/main') === rebased);
  } finally {
    await daemon.stop();
  }
});

test('a landed commit this clone has not fetched yet: fetched with main to tell landed-before from stale-view', async () => {
  const { daemon, url, m } = await setup();
  try {
    const [a, b] = m as [Machine, Machine];
    const t = await a.store.take(job, holder('brave-otter', 'box-1'), await a.main());
    if (t.kind !== 'taken') return assert.unreachable(t.kind);
    const work = await commitFile(a.repo, 'a.txt', 'a\n');
    const tomb = await a.store.releaseUpdate(t.claim, { kind: 'landed', commit: work });
    assert.equal(await pushAtomic(a.repo, 'origin', [{ ref: 'refs/heads/main', to: work, expect: 'fast-forward' }, tomb]), { kind: 'pushed' });
    // b saw main before the land (its HEAD); the landed commit is not in its clone
    assert.is((await b.store.take(job, holder('calm-fox', 'box-2'), await b.main())).kind, 'stale-view');
    // a dispatch that saw the land (main as a has it): the commit is fetched and found on it
    const c = await machine(url, 'box-3');
    assert.is((await c.store.take(job, holder('swift-owl', 'box-3'), work)).kind, 'taken');
  } finally {
    await daemon.stop();
  }
});

test('the server stopped: list, take, heartbeat and release are unreachable (a cached list still answers); started again, all work', async () => {
  const { daemon, m } = await setup();
  const [a] = m as [Machine];
  try {
    const t = await a.store.take(job, holder('brave-otter', 'box-1'), await a.main());
    if (t.kind !== 'taken') return assert.unreachable(t.kind);
    await daemon.stop();
    const t0 = Date.now();
    const listed = await a.store.list();
    assert.is((listed as { kind?: string }).kind, 'unreachable');
    const cached = await a.store.list({ cached: true });
    assert.ok(Array.isArray(cached) && cached.length === 1);
    const other: Job = { agent: 'implement', args: { issue: 'issues/b.md' } };
    assert.is((await a.store.take(other, holder('brave-otter', 'box-1'), await a.main())).kind, 'unreachable');
    assert.is((await a.store.heartbeat(t.claim)).kind, 'unreachable');
    assert.is((await a.store.release(t.claim, { kind: 'given-up', why: 'x' })).kind, 'unreachable');
    assert.ok(Date.now() - t0 < 20_000);
    await daemon.start();
    a.tick(1_000);
    const hb = await a.store.heartbeat(t.claim);
    if (hb.kind !== 'held') return assert.unreachable(hb.kind);
    assert.is((await a.store.take(other, holder('brave-otter', 'box-1'), await a.main())).kind, 'taken');
    assert.equal(await a.store.release(hb.claim, { kind: 'given-up', why: 'x' }), { kind: 'released' });
    const after = await a.store.list();
    assert.ok(Array.isArray(after) && after.length === 2);
  } finally {
    await daemon.stop();
  }
});

test('damaged claims on the remote (a blob, bad JSON, a huge message) are corrupt, never a crash, and expire like held ones', async () => {
  const { daemon, m } = await setup();
  try {
    const [a, b] = m as [Machine, Machine];
    const dir = tempDir('coven-damage-');
    const tree = await sh(a.repo, 'hash-object', '-t', 'tree', '-w', '/dev/null');
    writeFileSync(join(dir, 'blob'), 'not a claim');
    writeFileSync(join(dir, 'json'), 'not json {');
    writeFileSync(join(dir, 'huge'), JSON.stringify({ coven: 'claim/1', pad: 'x'.repeat(100_000) }));
    const jobs = ['blob', 'json', 'huge'].map((k) => ({ agent: 'implement', args: { issue: `issues/${k}.md` } }));
    const objects = [await sh(a.repo, 'hash-object', '-w', join(dir, 'blob')), await sh(a.repo, 'commit-tree', tree, '-F', join(dir, 'json')), await sh(a.repo, 'commit-tree', tree, '-F', join(dir, 'huge'))];
    await sh(a.repo, 'push', '-q', 'origin', ...objects.map((o, i) => `${o}:refs/coven/claims/${jobKey(jobs[i]!)}`));
    const listed = await b.store.list();
    assert.ok(Array.isArray(listed) && listed.length === 3 && listed.every((c) => c.kind === 'corrupt'), JSON.stringify(listed));
    for (const j of jobs) assert.is((await b.store.take(j, holder('calm-fox', 'box-2'), await b.main())).kind, 'lost');
    b.tick(300_000);
    for (const j of jobs) assert.is((await b.store.take(j, holder('calm-fox', 'box-2'), await b.main())).kind, 'taken');
  } finally {
    await daemon.stop();
  }
});

test('coven gc --remote: tombstones and worker state refs unchanged for a day are deleted on the remote, held claims stay', async () => {
  const { daemon, m } = await setup();
  try {
    const [a, b] = m as [Machine, Machine];
    const t = await a.store.take(job, holder('brave-otter', 'box-1'), await a.main());
    const held: Job = { agent: 'implement', args: { issue: 'issues/c.md' } };
    assert.is((await a.store.take(held, holder('calm-fox', 'box-1', OTHER), await a.main())).kind, 'taken');
    if (t.kind !== 'taken') return assert.unreachable(t.kind);
    assert.equal(await a.store.release(t.claim, { kind: 'landed', commit: await a.main() }), { kind: 'released' });
    const tree = await sh(a.repo, 'hash-object', '-t', 'tree', '-w', '/dev/null');
    await sh(a.repo, 'push', '-q', 'origin', `${await sh(a.repo, 'commit-tree', tree, '-m', '{}')}:refs/coven/workers/box-9/gone-worker`);
    const paths = { mainWorktree: b.repo, stateDir: b.stateDir };
    let clock = 5_000_000;
    assert.equal(await gcClaims(paths as never, 'main', { dryRun: false, remote: 'origin', now: () => clock }), []);
    clock += DAY_MS;
    const lines = await gcClaims(paths as never, 'main', { dryRun: false, remote: 'origin', now: () => clock });
    assert.equal(lines, [`claim origin: refs/coven/claims/${jobKey(job)} (landed): deleted (unchanged for a day)`, 'worker state origin: refs/coven/workers/box-9/gone-worker: deleted (unchanged for a day)']);
    const left = await lsRemote(a.repo, 'origin', ['refs/coven/claims/*', 'refs/coven/workers/*']);
    assert.ok(left.kind === 'listed');
    if (left.kind === 'listed') assert.equal([...left.refs.keys()], [`refs/coven/claims/${jobKey(held)}`]);
    await daemon.stop();
    const down = await gcClaims(paths as never, 'main', { dryRun: false, remote: 'origin', now: () => clock });
    assert.match(down.join('\n'), /the remote origin did not answer .*nothing was deleted there/);
  } finally {
    await daemon.stop();
  }
});

test('two machines with the same COVEN_MACHINE on other hosts never take each other\'s claims as their own; a restart on the same host takes its claim back at once', async () => {
  const { daemon, m } = await setup();
  try {
    const [a, b] = m as [Machine, Machine];
    // both machines are called "twin" (one COVEN_MACHINE); b runs on another host
    const onB = holder('w1', 'twin', 'host-b.example');
    const onA = holder('w1', 'twin');
    const takenB = await b.store.take(job, onB, await b.main());
    assert.is(takenB.kind, 'taken');
    if (takenB.kind !== 'taken') return;
    const r = await a.store.take(job, onA, await a.main());
    assert.is(r.kind, 'lost', 'the same worker name and machine on another host is not this worker');
    if (r.kind === 'lost') assert.is(r.holder.host, 'host-b.example');
    b.tick(1_000);
    assert.is((await b.store.heartbeat(takenB.claim)).kind, 'held');
    // a takes it over only as any other holder's: once its own clock saw it unchanged for a lease
    a.tick(300_000);
    assert.is((await a.store.take(job, onA, await a.main())).kind, 'lost');
    a.tick(300_000);
    // a's worker, whose process is gone by now
    const child = execFile(process.execPath, ['-e', 'setTimeout(() => {}, 200)']);
    const pid = child.pid!;
    const start = processStartTime(pid);
    await new Promise((done) => child.once('exit', done));
    const dead: Holder = { ...onA, pid, pid_start: start };
    const over = await a.store.take(job, dead, await a.main());
    assert.is(over.kind, 'taken');
    if (over.kind === 'taken') assert.is(over.over?.why, 'lease-expired');
    // the same worker started again on this host (its predecessor's process is gone): at once
    const back = await a.store.take(job, onA, await a.main());
    assert.is(back.kind, 'taken');
    if (back.kind === 'taken') assert.is(back.over?.why, 'own');
  } finally {
    await daemon.stop();
  }
});

test.run();
