// claims-local — claims in local mode (refs/coven/claims/ in the repository itself): one
// taker wins a race, leases judged by this observer's clock only, dead holders and
// restarted workers, heartbeats and releases after a takeover, tombstones, damaged refs.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { jobKey, type Holder, type Job } from '../scripts/lib/claims/claim.js';
import { describeClaims, openClaimStore } from '../scripts/lib/claims/index.js';
import { processStartTime } from '../scripts/lib/locks/process-identity.js';
import { keepWhatTheJobDropped, markJob } from '../scripts/lib/worktree/job-guard.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { MAX_BOOK_ENTRIES, MAX_BOOK_TOTAL, readBook, writeBook } from '../scripts/lib/claims/lease.js';
import { DAY_MS, pruneTombstones } from '../scripts/lib/claims/prune.js';
import { gcClaims } from '../scripts/lib/claims/gc-claims.js';
import { takeStep } from '../scripts/lib/claims/take.js';
import { readClaimRefs } from '../scripts/lib/claims/claim-object.js';
import { gitWrapper, withGitWrapper } from './helpers/git-wrapper.js';
import { distRoot, sh, tempDir, tempRepo, commitFile } from './helpers/repo.js';

const job: Job = { agent: 'implement', args: { issue: 'issues/a.md' } };

function me(worker: string, machine = 'box-1', extra: Partial<Holder> = {}): Holder {
  return { worker, machine, host: hostname(), pid: process.pid, pid_start: processStartTime(process.pid), ...extra };
}

/** a holder on another host: its process cannot be checked from here */
function elsewhere(worker: string, machine = 'box-2'): Holder {
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
  if (Array.isArray(listed)) assert.equal(describeClaims(listed, { worker: 'brave-otter', machine: 'box-1' }), ['- implement (issue: issues/a.md): held by brave-otter on box-1 (you), heartbeat 24h ago']);
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

test('a holder on another host loses its claim when this observer has seen it unchanged for the lease, by this observer\'s clock', async () => {
  const { store, main, tick } = await setup();
  const lease = 300_000;
  assert.is((await store.take(job, elsewhere('brave-otter'), main)).kind, 'taken');
  tick(lease - 1);
  const early = await store.take(job, me('calm-fox'), main);
  assert.is(early.kind, 'lost');
  const listed = await store.list();
  assert.ok(Array.isArray(listed) && listed[0]!.expired === false);
  tick(1);
  const listedLate = await store.list();
  assert.ok(Array.isArray(listedLate) && listedLate[0]!.expired === true);
  if (Array.isArray(listedLate)) assert.match(describeClaims(listedLate)[0] ?? '', /held by brave-otter on box-2, no change seen for 5m \(lease 5m\): may be taken over$/);
  const late = await store.take(job, me('calm-fox'), main);
  assert.is(late.kind, 'taken');
  if (late.kind === 'taken') {
    assert.is(late.over?.why, 'lease-expired');
    assert.is(late.claim.record.took_over?.worker, 'brave-otter');
  }
});

test('clock skew: a holder whose clock is hours behind or ahead is judged only by when this observer saw its claim change', async () => {
  for (const skew of [-5 * 3_600_000, 5 * 3_600_000]) {
    const { repo, stateDir, main } = await setup();
    let ours = 50_000_000;
    const holderStore = openClaimStore({ repo, stateDir: tempDir('coven-holder-'), remote: null, now: () => ours + skew });
    const observer = openClaimStore({ repo, stateDir, remote: null, now: () => ours });
    const t = await holderStore.take(job, elsewhere('brave-otter'), main);
    assert.is(t.kind, 'taken');
    if (t.kind !== 'taken') return;
    let claim = t.claim;
    // first seen now: not expired, whatever heartbeat_at says
    assert.is((await observer.take(job, me('calm-fox'), main)).kind, 'lost', `skew ${skew}`);
    for (let i = 0; i < 6; i++) {
      ours += 100_000;
      const hb = await holderStore.heartbeat(claim);
      assert.is(hb.kind, 'held');
      if (hb.kind === 'held') claim = hb.claim;
      ours += 100_000;
      assert.is((await observer.take(job, me('calm-fox'), main)).kind, 'lost', `skew ${skew}, beat ${i}`);
    }
    ours += 300_000;
    const r = await observer.take(job, me('calm-fox'), main);
    assert.is(r.kind, 'taken', `skew ${skew}`);
  }
});

test('a holder on this host whose process is gone is taken over at once', async () => {
  const { store, main } = await setup();
  const child = execFile(process.execPath, ['-e', 'setTimeout(() => {}, 200)']);
  const pid = child.pid!;
  const start = processStartTime(pid);
  await new Promise((r) => child.once('exit', r));
  assert.is((await store.take(job, me('brave-otter', 'box-1', { pid, pid_start: start }), main)).kind, 'taken');
  const r = await store.take(job, me('calm-fox'), main);
  assert.is(r.kind, 'taken');
  if (r.kind === 'taken') assert.is(r.over?.why, 'holder-dead');
});

test('a restarted worker (same name, same machine) takes its own claim back at once; the same name on another machine, or in another live process here, does not', async () => {
  const { store, main } = await setup();
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const pid = child.pid!;
    // a live process on this host holds it under the name brave-otter (another clone with the same machine name)
    assert.is((await store.take(job, me('brave-otter', 'box-1', { pid, pid_start: processStartTime(pid) }), main)).kind, 'taken');
    assert.is((await store.take(job, me('brave-otter', 'box-3'), main)).kind, 'lost');
    assert.is((await store.take(job, me('brave-otter', 'box-1'), main)).kind, 'lost');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    // the same worker started again (a new pid): takes it back at once
    const r = await store.take(job, me('brave-otter', 'box-1'), main);
    assert.is(r.kind, 'taken');
    if (r.kind === 'taken') assert.is(r.over?.why, 'own');
  } finally {
    child.kill('SIGKILL');
  }
});

test('after a takeover, the old holder\'s heartbeat and release are lost, and the new holder\'s tombstone stays', async () => {
  const { repo, store, main, tick } = await setup();
  const old = await store.take(job, elsewhere('brave-otter'), main);
  assert.is(old.kind, 'taken');
  if (old.kind !== 'taken') return;
  tick(300_000);
  const taken = await store.take(job, me('calm-fox'), main);
  assert.is(taken.kind, 'taken');
  if (taken.kind !== 'taken') return;
  const hb = await store.heartbeat(old.claim);
  assert.is(hb.kind, 'lost');
  if (hb.kind === 'lost') assert.is(hb.now?.holder.worker, 'calm-fox');
  const landed = await commitFile(repo, 'b.txt', 'b\n');
  assert.equal(await store.release(taken.claim, { kind: 'landed', commit: landed }), { kind: 'released' });
  const tomb = await sh(repo, 'rev-parse', `refs/coven/claims/${jobKey(job)}`);
  const rel = await store.release(old.claim, { kind: 'given-up', why: 'late' });
  assert.is(rel.kind, 'lost');
  if (rel.kind === 'lost') assert.is(rel.now?.state, 'landed');
  assert.is(await sh(repo, 'rev-parse', `refs/coven/claims/${jobKey(job)}`), tomb);
  const hb2 = await store.heartbeat(taken.claim);
  assert.is(hb2.kind, 'lost');
});

async function damage(repo: string, how: 'blob' | 'huge' | 'json' | 'parent' | 'record'): Promise<string> {
  const dir = tempDir('coven-damage-');
  const file = join(dir, 'm');
  const tree = await sh(repo, 'hash-object', '-t', 'tree', '-w', '/dev/null');
  if (how === 'blob') {
    writeFileSync(file, '{"coven":"claim/1"}');
    return sh(repo, 'hash-object', '-w', file);
  }
  if (how === 'huge') writeFileSync(file, JSON.stringify({ coven: 'claim/1', pad: 'x'.repeat(200_000) }));
  else if (how === 'json') writeFileSync(file, 'not json {');
  else if (how === 'record') writeFileSync(file, JSON.stringify({ coven: 'claim/1', state: 'held' }));
  else writeFileSync(file, JSON.stringify({ coven: 'claim/1' }));
  return sh(repo, 'commit-tree', tree, ...(how === 'parent' ? ['-p', 'HEAD'] : []), '-F', file);
}

test('a damaged claim (a blob, a huge message, bad JSON, a parent, a bad record) is corrupt, never a crash, and expires like a held one', async () => {
  for (const how of ['blob', 'huge', 'json', 'parent', 'record'] as const) {
    const { repo, store, main, tick } = await setup();
    await sh(repo, 'update-ref', `refs/coven/claims/${jobKey(job)}`, await damage(repo, how));
    const listed = await store.list();
    assert.ok(Array.isArray(listed) && listed.length === 1 && listed[0]!.kind === 'corrupt', `${how}: ${JSON.stringify(listed)}`);
    if (Array.isArray(listed)) assert.match(describeClaims(listed)[0] ?? '', /^- claim implement--issues-a-md--[0-9a-f]{12}: damaged \(/);
    const early = await store.take(job, me('calm-fox'), main);
    assert.is(early.kind, 'lost', how);
    tick(300_000);
    const late = await store.take(job, me('calm-fox'), main);
    assert.is(late.kind, 'taken', how);
    if (late.kind === 'taken') assert.ok(late.damaged, how);
  }
});

test('a given-up claim is taken again; a landed one whose commit is not on the main the dispatch saw is a stale view', async () => {
  const { repo, store, main } = await setup();
  const t = await store.take(job, me('brave-otter'), main);
  if (t.kind !== 'taken') return assert.unreachable();
  assert.equal(await store.release(t.claim, { kind: 'given-up', why: 'tests fail' }), { kind: 'released' });
  const again = await store.take(job, me('calm-fox'), main);
  assert.is(again.kind, 'taken');
  if (again.kind !== 'taken') return;
  assert.is(again.over?.why, 'given-up');
  // a landed commit this repository does not even have
  await sh(repo, 'update-ref', `refs/coven/claims/${jobKey(job)}`, again.claim.sha);
  assert.equal(await store.release(again.claim, { kind: 'landed', commit: 'f'.repeat(40) }), { kind: 'released' });
  const stale = await store.take(job, me('brave-otter'), main);
  assert.is(stale.kind, 'stale-view');
});

test('the lease book: a damaged book reads as empty (a lease starts again, never ends early); it keeps at most its cap', async () => {
  const { stateDir, store, main, tick } = await setup();
  assert.is((await store.take(job, elsewhere('brave-otter'), main)).kind, 'taken');
  tick(200_000);
  writeFileSync(join(stateDir, 'claims-seen.json'), '{"coven": "claims-seen/1", "seen": ');
  tick(200_000);
  assert.is((await store.take(job, me('calm-fox'), main)).kind, 'lost');
  tick(300_000);
  assert.is((await store.take(job, me('calm-fox'), main)).kind, 'taken');
  // over its cap the book keeps the earliest seen (forgetting one only restarts its lease)
  const book = new Map(Array.from({ length: MAX_BOOK_TOTAL + 10 }, (_, i) => [`refs/x/${i}`, { sha: 'a'.repeat(40), first_seen_ms: i }] as const));
  await writeBook(stateDir, book);
  const back = await readBook(stateDir);
  assert.is(back.size, MAX_BOOK_TOTAL);
  assert.ok(back.has('refs/x/0') && !back.has(`refs/x/${MAX_BOOK_TOTAL + 9}`));
});

test('the lease book over its cap: entries of gone refs go first, and a live claim\'s first-seen time never restarts', async () => {
  const { repo, stateDir, store, main, tick } = await setup();
  assert.is((await store.take(job, elsewhere('brave-otter'), main)).kind, 'taken');
  const mine = `refs/coven/claims/${jobKey(job)}`;
  const first = (await readBook(stateDir)).get(mine);
  assert.ok(first);
  tick(1_000);
  // 5000 entries seen after it, of refs that are gone (another prefix: a remote no longer used)
  const seen: Record<string, { sha: string; first_seen_ms: number }> = { [mine]: first! };
  for (let i = 0; i < MAX_BOOK_ENTRIES; i++) seen[`refs/coven-remote/old/claims/k${i}`] = { sha: 'b'.repeat(40), first_seen_ms: first!.first_seen_ms + 1 + i };
  writeFileSync(join(stateDir, 'claims-seen.json'), JSON.stringify({ coven: 'claims-seen/1', seen }));
  // a take of another job writes the book
  assert.is((await store.take({ agent: 'implement', args: { issue: 'issues/b.md' } }, me('calm-fox'), main)).kind, 'taken');
  assert.is((await readBook(stateDir)).get(mine)?.first_seen_ms, first!.first_seen_ms, 'the live claim keeps its first-seen time');
  // a listing of more live claim refs than the cap keeps the earliest seen
  tick(1_000);
  const sha = await sh(repo, 'rev-parse', mine);
  const lines = Array.from({ length: MAX_BOOK_ENTRIES }, (_, i) => `create refs/coven/claims/more-${i} ${sha}`);
  execFileSync('git', ['update-ref', '--stdin'], { cwd: repo, input: lines.join('\n') + '\n' });
  const listed = await store.list();
  assert.ok(Array.isArray(listed) && listed.length === MAX_BOOK_ENTRIES + 2);
  const book = await readBook(stateDir);
  assert.is(book.get(mine)?.first_seen_ms, first!.first_seen_ms);
  assert.is([...book.keys()].filter((k) => k.startsWith('refs/coven/claims/')).length, MAX_BOOK_ENTRIES);
  // the lease of the first claim runs out on time, from when it was first seen
  tick(300_000 - 2_000);
  const r = await store.take(job, me('calm-fox'), main);
  assert.is(r.kind, 'taken');
  if (r.kind === 'taken') assert.is(r.over?.why, 'lease-expired');
});

test('coven gc deletes tombstones it has seen unchanged for a day, and leaves held claims and younger tombstones', async () => {
  const { repo, stateDir, store, main, tick, at } = await setup();
  const other: Job = { agent: 'implement', args: { issue: 'issues/b.md' } };
  const held: Job = { agent: 'implement', args: { issue: 'issues/c.md' } };
  const t = await store.take(job, me('brave-otter'), main);
  const t2 = await store.take(other, me('brave-otter'), main);
  assert.is((await store.take(held, elsewhere('calm-fox'), main)).kind, 'taken');
  if (t.kind !== 'taken' || t2.kind !== 'taken') return assert.unreachable();
  await store.release(t.claim, { kind: 'landed', commit: main });
  await store.list();
  tick(DAY_MS / 2);
  await store.release(t2.claim, { kind: 'given-up', why: 'no' });
  await store.list();
  tick(DAY_MS / 2);
  const paths = { mainWorktree: repo, stateDir };
  const dry = await gcClaims(paths as never, 'main', { dryRun: true, now: at });
  assert.equal(dry, [`claim refs/coven/claims/${jobKey(job)} (landed): would delete (unchanged for a day)`]);
  const pruned = await pruneTombstones(store, DAY_MS);
  assert.equal(pruned, { dropped: [`${jobKey(job)} (landed)`], failed: [] });
  const bad = await gcClaims(paths as never, 'main', { dryRun: false, remote: 'nope', now: at });
  assert.match(bad.join('\n'), /--remote nope: .*the remote "nope", which this clone does not have .*; nothing was deleted on a remote/);
  const refs = (await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/claims/')).split('\n').sort();
  assert.equal(refs, [`refs/coven/claims/${jobKey(other)}`, `refs/coven/claims/${jobKey(held)}`].sort());
});

test('takeStep, from a table: what a take does with the claim as read', () => {
  const rec = (state: 'held' | 'landed' | 'given-up', h: Holder) => ({ coven: 'claim/1' as const, job, holder: h, state, taken_at: 'x', heartbeat_at: 'x', lease_ms: 300_000, landed: state === 'landed' ? 'c'.repeat(40) : null });
  const read = (state: 'held' | 'landed' | 'given-up', h: Holder, expired = false, why: 'lease-expired' | 'holder-dead' | null = null) => ({ kind: 'claim' as const, key: 'k', ref: 'r', sha: 's', record: rec(state, h), expired, expired_why: why });
  const taker = elsewhere('calm-fox', 'box-1');
  const other = elsewhere('brave-otter', 'box-2');
  const rows: [string, Parameters<typeof takeStep>[0], string][] = [
    ['none', null, 'create'],
    ['held, alive', read('held', other), 'lost'],
    ['held, lease out', read('held', other, true, 'lease-expired'), 'replace lease-expired'],
    ['held, dead pid', read('held', other, true, 'holder-dead'), 'replace holder-dead'],
    ['held by the taker\'s name on its machine (from another host)', read('held', { ...taker, pid: 9 }), 'replace own'],
    ['held by the taker\'s name on another machine', read('held', { ...taker, machine: 'box-9' }), 'lost'],
    ['held by the taker\'s name, another live process on its host', read('held', { ...taker, pid: 9, host: 'here' }), 'lost'],
    ['held by the taker\'s name, a dead process on its host', read('held', { ...taker, pid: 9, host: 'here' }, true, 'holder-dead'), 'replace own'],
    ['landed', read('landed', other), 'check-landed'],
    ['given up', read('given-up', other), 'replace given-up'],
    ['damaged', { kind: 'corrupt', key: 'k', ref: 'r', sha: 's', reason: 'bad', expired: false }, 'lost'],
    ['damaged, lease out', { kind: 'corrupt', key: 'k', ref: 'r', sha: 's', reason: 'bad', expired: true }, 'replace'],
  ];
  for (const [name, current, want] of rows) {
    const step = takeStep(current, name.includes('its host') ? { ...taker, host: 'here' } : taker, 'here');
    const got = step.do === 'replace' ? `replace${step.over ? ` ${step.over.why}` : ''}` : step.do;
    assert.is(got, want, name);
  }
});

test('250 claim refs and one with a 1 MB message: every ref is read with the size cap; the big one is damaged, never read', async () => {
  const { repo, stateDir, store, main } = await setup();
  const taken = await store.take(job, elsewhere('brave-otter'), main);
  assert.is(taken.kind, 'taken');
  if (taken.kind !== 'taken') return;
  const tree = await sh(repo, 'hash-object', '-t', 'tree', '-w', '/dev/null');
  const bigFile = join(stateDir, 'big.txt');
  writeFileSync(bigFile, `{"coven":"claim/1","pad":"BIG-MESSAGE-MARK${'x'.repeat(1024 * 1024)}"}`);
  const big = await sh(repo, 'commit-tree', tree, '-F', bigFile);
  const lines = Array.from({ length: 250 }, (_, i) => `create refs/coven/claims/k${String(i).padStart(3, '0')} ${taken.claim.sha}`);
  execFileSync('git', ['update-ref', '--stdin'], { cwd: repo, input: [...lines, `create refs/coven/claims/zz-big ${big}`, ''].join('\n') });
  // every byte git prints to coven is logged: the big message must never be among them
  const log = join(stateDir, 'git-output.log');
  const wrapper = gitWrapper(`t=$(mktemp); "$REAL_GIT" "$@" >"$t"; rc=$?; cat "$t" >>'${log}'; cat "$t"; rm -f "$t"; exit $rc`);
  const raws = await withGitWrapper(wrapper, () => readClaimRefs(repo, 'refs/coven/claims/'));
  assert.ok(Array.isArray(raws));
  if (!Array.isArray(raws)) return;
  assert.is(raws.length, 252);
  assert.is(raws.filter((r) => r.record?.holder.worker === 'brave-otter').length, 251);
  const bad = raws.find((r) => r.ref === 'refs/coven/claims/zz-big');
  assert.is(bad?.record, null);
  assert.match(bad?.problem ?? '', /over the limit of 16384/);
  const printed = readFileSync(log, 'utf8');
  assert.not.ok(printed.includes('BIG-MESSAGE-MARK'), 'the big message was read');
  assert.ok(printed.length < 200_000, `git printed ${printed.length} bytes`);
  const listed = await store.list();
  assert.ok(Array.isArray(listed) && listed.filter((c) => c.kind === 'corrupt').length === 1);
});

test('the lease book: a claim ref with a 1100-character name (pushed by anyone) does not make the book unreadable; other leases still run out', async () => {
  const { repo, store, main, tick } = await setup();
  const taken = await store.take(job, elsewhere('brave-otter'), main);
  assert.is(taken.kind, 'taken');
  if (taken.kind !== 'taken') return;
  const long = `refs/coven/claims/${'a/'.repeat(550)}x`;
  await sh(repo, 'update-ref', long, taken.claim.sha);
  for (let i = 0; i < 3; i++) {
    assert.ok(Array.isArray(await store.list()));
    tick(100_000);
  }
  const r = await store.take(job, me('calm-fox'), main);
  assert.is(r.kind, 'taken');
  if (r.kind === 'taken') assert.is(r.over?.why, 'lease-expired');
});

test.run();
