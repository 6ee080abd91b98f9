// claims-remote — claims on a real git server (git daemon on loopback), machines being
// separate clones with their own state dirs: one machine wins a race, leases judged by
// each observer's own clock, tombstones pushed atomically with main, a server that is
// down is `unreachable` for every operation and works again once it is back.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostname } from 'node:os';
import { jobKey, type Holder, type Job } from '../scripts/lib/claims/claim.js';
import { openClaimStore } from '../scripts/lib/claims/index.js';
import { lsRemote } from '../scripts/lib/remote/git-remote.js';
import type { RemoteTarget } from '../scripts/lib/remote/target.js';
import { processStartTime } from '../scripts/lib/locks/process-identity.js';
import { machineClone, serveRepository, startGitDaemon, type GitDaemon } from './helpers/git-daemon.js';
import { sh, tempDir, tempRepo } from './helpers/repo.js';

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

test.run();
