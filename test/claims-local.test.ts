// claims-local — claims in local mode (refs/coven/claims/ in the repository itself): one
// taker wins a race, leases judged by this observer's clock only, dead holders and
// restarted workers, heartbeats and releases after a takeover, tombstones, damaged refs.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { jobKey, type Holder, type Job } from '../scripts/lib/claims/claim.js';
import { describeClaims, openClaimStore } from '../scripts/lib/claims/index.js';
import { processStartTime } from '../scripts/lib/locks/process-identity.js';
import { keepWhatTheJobDropped, markJob } from '../scripts/lib/worktree/job-guard.js';
import { distRoot, sh, tempDir, tempRepo, commitFile } from './helpers/repo.js';

const job: Job = { agent: 'implement', args: { issue: 'issues/a.md' } };

function me(worker: string, machine = 'box-1', extra: Partial<Holder> = {}): Holder {
  return { worker, machine, host: hostname(), pid: process.pid, pid_start: processStartTime(process.pid), ...extra };
}

/** a holder on another host: its process cannot be checked from here */
export function elsewhere(worker: string, machine = 'box-2'): Holder {
  return { worker, machine, host: 'other-host.example', pid: 4242, pid_start: null };
}

async function setup() {
  const repo = await tempRepo();
  const stateDir = tempDir('coven-state-');
  let clock = 1_000_000;
  const store = openClaimStore({ repo, stateDir, remote: null, now: () => clock });
  const main = await sh(repo, 'rev-parse', 'HEAD');
  return { repo, stateDir, store, main, tick: (ms: number) => (clock += ms), at: () => clock };
}

function takeInProcess(repo: string, stateDir: string, worker: string, main: string): Promise<{ kind: string; sha: string | null }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(distRoot, 'test', 'helpers', 'take-claim.js'), repo, stateDir, worker, 'box-1', main, job.agent, job.args.issue ?? ''], (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim()) as { kind: string; sha: string | null });
    });
  });
}

test('10 takes of one job at once, in 10 processes: exactly one is taken, the others lost', async () => {
  const { repo, stateDir, store, main } = await setup();
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => takeInProcess(repo, stateDir, `w${i}`, main)));
  const taken = results.filter((r) => r.kind === 'taken');
  assert.is(taken.length, 1, JSON.stringify(results));
  assert.is(results.filter((r) => r.kind === 'lost').length, 9, JSON.stringify(results));
  assert.is(await sh(repo, 'rev-parse', `refs/coven/claims/${jobKey(job)}`), taken[0]!.sha);
  const listed = await store.list();
  assert.ok(Array.isArray(listed) && listed.length === 1 && listed[0]!.kind === 'claim' && listed[0]!.record.state === 'held');
});

test('10 takes of one job at once in one process: exactly one taken', async () => {
  const { store, main } = await setup();
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.take(job, me(`w${i}`), main)));
  assert.is(results.filter((r) => r.kind === 'taken').length, 1, JSON.stringify(results.map((r) => r.kind)));
  assert.is(results.filter((r) => r.kind === 'lost').length, 9);
});

test('take, list, release landed: the tombstone stays; a dispatch that saw the landing takes the job again, one that did not is stale-view', async () => {
  const { repo, store, main } = await setup();
  const t = await store.take(job, me('brave-otter'), main);
  assert.is(t.kind, 'taken');
  if (t.kind !== 'taken') return;
  assert.is(t.over, null);
  const landed = await commitFile(repo, 'a.txt', 'a\n');
  assert.equal(await store.release(t.claim, { kind: 'landed', commit: landed }), { kind: 'released' });
  const listed = await store.list();
  assert.ok(Array.isArray(listed) && listed[0]?.kind === 'claim' && listed[0].record.state === 'landed' && listed[0].record.landed === landed);
  const stale = await store.take(job, me('calm-fox'), main);
  assert.is(stale.kind, 'stale-view');
  if (stale.kind === 'stale-view') assert.is(stale.landed, landed);
  const again = await store.take(job, me('calm-fox'), landed);
  assert.is(again.kind, 'taken');
  if (again.kind === 'taken') assert.is(again.over?.why, 'landed-before');
});

test('a live holder on this host is not taken over, whatever the time; describeClaims names it', async () => {
  const { store, main, tick } = await setup();
  assert.is((await store.take(job, me('brave-otter'), main)).kind, 'taken');
  await store.list();
  tick(86_400_000);
  const r = await store.take(job, me('calm-fox'), main);
  assert.is(r.kind, 'lost');
  if (r.kind === 'lost') assert.is(r.holder.worker, 'brave-otter');
  const listed = await store.list();
  assert.ok(Array.isArray(listed));
  if (Array.isArray(listed)) assert.match(describeClaims(listed)[0] ?? '', /^- implement \(issue: issues\/a\.md\): held by brave-otter on box-1, heartbeat/);
});

test('a claim that changes during an agent session is not put back by the job guard (other workers change claims meanwhile)', async () => {
  const { repo, store, main, tick } = await setup();
  const t = await store.take(job, me('brave-otter'), main);
  assert.is(t.kind, 'taken');
  if (t.kind !== 'taken') return;
  await sh(repo, 'update-ref', 'refs/coven/wip/x', main);
  const mark = await markJob(repo, 'main');
  tick(100_000);
  const hb = await store.heartbeat(t.claim);
  assert.is(hb.kind, 'held');
  await sh(repo, 'update-ref', '-d', 'refs/coven/wip/x');
  const kept = await keepWhatTheJobDropped(repo, 'brave-otter', 'main', mark);
  assert.equal(kept.covenRefs, { restored: ['refs/coven/wip/x'], lost: [] });
  assert.is(await sh(repo, 'rev-parse', `refs/coven/claims/${jobKey(job)}`), hb.kind === 'held' ? hb.claim.sha : '');
});

test.run();
