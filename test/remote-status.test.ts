// Worker states on the remote, against a real git server (git daemon on loopback): each
// `coven worker --remote origin` publishes its state at refs/coven/workers/<machine>/<name>;
// `coven status --remote` shows every machine's workers, and so does the dispatch prompt; a worker that stops deletes its
// ref; one killed with kill -9 shows as not heard from once 3 leases pass on the
// observer's clock; a damaged ref is shown as damaged; a silent remote shows the last copy.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { StatePublisher } from '../scripts/lib/remote/publish-state.js';
import { resolveRemote } from '../scripts/lib/remote/target.js';
import { newWorkerState } from '../scripts/lib/worker/state.js';
import { readFakeLog } from './helpers/fake-claude.js';
import { remoteSetup, remoteWorker } from './helpers/remote-machines.js';
import { coven, sh } from './helpers/repo.js';
import { outputOf, stopAll, waitFor } from './helpers/worker-procs.js';

const LEASE = { COVEN_CLAIM_LEASE_MS: '2000' };

async function status(clone: string, env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const r = await coven(['status', '--remote'], { cwd: clone, env });
  return { code: r.code, out: r.stdout + r.stderr };
}

/** The record published for machine/name on the served repository (null: no ref). */
async function onRemote(bare: string, machine: string, name: string): Promise<Record<string, unknown> | null> {
  const ref = `refs/coven/workers/${machine}/${name}`;
  const sha = await sh(bare, 'for-each-ref', '--format=%(objectname)', ref);
  if (sha === '') return null;
  return JSON.parse(await sh(bare, 'log', '-1', '--format=%B', sha)) as Record<string, unknown>;
}

test('status --remote lists the workers of two machines; a worker that stops deletes its ref', async () => {
  const { daemon, a, b } = await remoteSetup();
  const bare = join(daemon.base, 'project.git');
  const one = remoteWorker(a, 'box-a', 'w1');
  const two = remoteWorker(b, 'box-b', 'w2');
  const why = () => outputOf([one.w, two.w]);
  try {
    await waitFor(async () => (await onRemote(bare, 'box-a', 'w1'))?.phase === 'sleeping' && (await onRemote(bare, 'box-b', 'w2'))?.phase === 'sleeping', 'both published asleep', 60_000, why);
    const rec = (await onRemote(bare, 'box-a', 'w1'))!;
    assert.is(rec.machine, 'box-a');
    assert.is(rec.worktree, 'w1', 'the worktree folder\'s last name only');
    assert.not.ok(JSON.stringify(rec).includes(a), 'no path of the machine');
    const s = await status(a);
    assert.is(s.code, 0, s.out);
    assert.match(s.out, /box-a\s+w1\s+sleeping/);
    assert.match(s.out, /box-b\s+w2\s+sleeping/);
    assert.match(s.out, /claims on origin:/);
    await stopAll([one.w]);
    assert.is(await onRemote(bare, 'box-a', 'w1'), null, 'w1 deleted its ref when it stopped');
    const after = await status(b);
    assert.not.match(after.out, /box-a\s+w1/);
    assert.match(after.out, /box-b\s+w2\s+sleeping/);
    const json = JSON.parse((await coven(['status', '--remote', 'origin', '--json'], { cwd: b })).stdout) as { workers: { name: string; machine: string }[] };
    assert.equal(json.workers.map((w) => `${w.machine}/${w.name}`), ['box-b/w2']);
  } finally {
    await stopAll([one.w, two.w]);
    await daemon.stop();
  }
});

test('the dispatch prompt of a worker on one machine names the workers of the others', async () => {
  const { daemon, a, b } = await remoteSetup();
  const bare = join(daemon.base, 'project.git');
  const one = remoteWorker(a, 'box-a', 'w1');
  let two: ReturnType<typeof remoteWorker> | null = null;
  const why = () => outputOf(two ? [one.w, two.w] : [one.w]);
  try {
    await waitFor(async () => (await onRemote(bare, 'box-a', 'w1'))?.phase === 'sleeping', 'w1 published asleep', 60_000, why);
    two = remoteWorker(b, 'box-b', 'w2');
    const env = two.env;
    const prompts = () => readFakeLog({ FAKE_CLAUDE_LOG: env.FAKE_CLAUDE_LOG ?? '' }).map((c) => c.prompts[0] ?? '');
    await waitFor(() => prompts().length > 0, 'w2 dispatched', 60_000, why);
    const prompt = prompts()[0]!;
    assert.match(prompt, /- box-a\/w1: sleeping, for \d+m?s/, prompt);
    assert.not.match(prompt, /box-b\/w2/, 'its own machine\'s workers come from the state files');
  } finally {
    await stopAll(two ? [one.w, two.w] : [one.w]);
    await daemon.stop();
  }
});

test('a worker killed with kill -9 shows as not heard from once 3 leases pass on the observer\'s clock', async () => {
  const { daemon, a, b } = await remoteSetup();
  const bare = join(daemon.base, 'project.git');
  const one = remoteWorker(a, 'box-a', 'w1', LEASE);
  const why = () => outputOf([one.w]);
  try {
    await waitFor(async () => (await onRemote(bare, 'box-a', 'w1'))?.phase === 'sleeping', 'w1 published asleep', 60_000, why);
    // alive, it republishes every lease/3: an observer never sees it silent
    const first = await status(b, LEASE);
    await new Promise((r) => setTimeout(r, 6_500));
    const alive = await status(b, LEASE);
    assert.not.match(alive.out, /not heard from/, `${first.out}\n${alive.out}`);
    one.w.child.kill('SIGKILL');
    await one.w.exited;
    assert.ok(await onRemote(bare, 'box-a', 'w1'), 'its last record stays on the remote');
    await status(b, LEASE); // the observer sees its last record for the first time
    await new Promise((r) => setTimeout(r, 6_500));
    const later = await status(b, LEASE);
    assert.match(later.out, /box-a\/w1: not heard from for \d+s: probably stopped/, later.out);
  } finally {
    await stopAll([one.w]);
    await daemon.stop();
  }
});

test('damaged worker refs (a blob, a huge message, bad JSON, another worker\'s record) are shown as damaged, never a crash', async () => {
  const { daemon, a } = await remoteSetup();
  const bare = join(daemon.base, 'project.git');
  const tree = await sh(bare, 'hash-object', '-t', 'tree', '-w', '/dev/null');
  const blob = await sh(bare, 'hash-object', '-w', '/dev/null');
  const commit = async (message: string) => sh(bare, '-c', 'user.name=x', '-c', 'user.email=x@x', 'commit-tree', tree, '-m', message);
  await sh(bare, 'update-ref', 'refs/coven/workers/x/blob', blob);
  await sh(bare, 'update-ref', 'refs/coven/workers/x/huge', await commit('{"coven":"worker/1",' + '"pad":"' + 'y'.repeat(100_000) + '"}'));
  await sh(bare, 'update-ref', 'refs/coven/workers/x/badjson', await commit('not json at all'));
  const state = newWorkerState({ name: 'other', branch: 'coven/other', worktree: '/tmp/other' });
  await sh(bare, 'update-ref', 'refs/coven/workers/x/liar', await commit(JSON.stringify({ coven: 'worker/1', ...state, machine: 'x', published_at: state.since, cli: null })));
  try {
    const s = await status(a);
    assert.is(s.code, 0, s.out);
    assert.match(s.out, /damaged: x\/blob .*points at a blob/);
    assert.match(s.out, /damaged: x\/huge .*over the limit/);
    assert.match(s.out, /damaged: x\/badjson .*not JSON/);
    assert.match(s.out, /damaged: x\/liar .*names x\/other, not x\/liar/);
  } finally {
    await daemon.stop();
  }
});

test('a remote that does not answer: status --remote says so and shows the last copy with its age', async () => {
  const { daemon, a, b } = await remoteSetup();
  const one = remoteWorker(b, 'box-b', 'w2');
  try {
    await waitFor(async () => /box-b\s+w2\s+sleeping/.test((await status(a)).out), 'w2 seen from a', 60_000, () => outputOf([one.w]));
    await daemon.stop();
    const s = await status(a);
    assert.is(s.code, 0, s.out);
    assert.match(s.out, /the remote origin does not answer .*showing the last copy \(fetched \d+m?s ago\)/);
    assert.match(s.out, /box-b\s+w2\s+sleeping/);
  } finally {
    await stopAll([one.w]);
    await daemon.stop();
  }
});

test('the publisher: many changes while a push is in flight end with the latest state on the remote; stop deletes the ref', async () => {
  const { daemon, a } = await remoteSetup(['a']);
  const bare = join(daemon.base, 'project.git');
  try {
    const found = await resolveRemote(a, 'main', 'origin', { COVEN_MACHINE: 'box-a' });
    assert.is(found.kind, 'remote');
    if (found.kind !== 'remote') return;
    const p = new StatePublisher({ repo: a, target: found.target, name: 'w1', heartbeatMs: 60_000 });
    const base = newWorkerState({ name: 'w1', branch: 'coven/w1', worktree: '/somewhere/w1' });
    for (let i = 0; i < 20; i++) p.publish({ ...base, cycles: i });
    await p.settled();
    const rec = await onRemote(bare, 'box-a', 'w1');
    assert.is(rec?.cycles, 19);
    // coalesced: the first change, then the latest (not 20 pushes); main's history is 2 commits
    const commits = (await sh(bare, 'cat-file', '--batch-all-objects', '--batch-check=%(objecttype)')).split('\n').filter((t) => t === 'commit').length;
    assert.ok(commits - 2 <= 3, `${commits - 2} record commits reached the remote`);
    assert.is(await p.stop(), 'deleted');
    assert.is(await onRemote(bare, 'box-a', 'w1'), null);
  } finally {
    await daemon.stop();
  }
});

test.run();
