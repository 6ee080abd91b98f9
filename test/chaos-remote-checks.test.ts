// chaos-remote-checks — the checks of the remote chaos run (test/helpers/chaos-remote-checks.ts)
// on hand-made histories: each passes on a good one and names its guarantee on a bad one
// (a check that cannot fail proves nothing). Also the human of the run: a push made while
// the remote is down goes through once it is back.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLAIM_FORMAT, type ClaimRecord, type Holder } from '../scripts/lib/claims/claim.js';
import { mainForwardLinear, messagesSay, noClaimStuck, noCommitLost, noJobTwice, takeovers } from './helpers/chaos-remote-checks.js';
import { humanPush } from './helpers/chaos-remote.js';
import { machineClone, serveRepository, startGitDaemon } from './helpers/git-daemon.js';
import { commitFile, sh, tempDir, tempRepo } from './helpers/repo.js';

/** A bare "remote" (every ref update in its reflog) and a clone pushing to it by path. */
async function remote() {
  const seed = await tempRepo();
  await commitFile(seed, 'shared/a.txt', '# a\n');
  const bare = join(tempDir(), 'project.git');
  await sh(seed, 'init', '-q', '--bare', '-b', 'main', bare);
  await sh(bare, 'config', 'core.logAllRefUpdates', 'always');
  await sh(seed, 'push', '-q', bare, 'main');
  const clone = join(tempDir(), 'clone');
  await sh(tempDir(), 'clone', '-q', bare, clone);
  return { bare, clone };
}

async function agentCommit(clone: string, subject: string, marker: string, file = 'shared/a.txt'): Promise<string> {
  const text = (await sh(clone, 'show', `HEAD:${file}`).catch(() => '')) + `\nx.1 ${marker}\n`;
  mkdirSync(join(clone, file, '..'), { recursive: true });
  writeFileSync(join(clone, file), text.replace(/^\n/, ''));
  await sh(clone, 'add', '-A');
  await sh(clone, 'commit', '-q', '-m', subject, '-m', `chaos-marker: ${marker}`);
  return sh(clone, 'rev-parse', 'HEAD');
}

test('(b) main forward and linear: a good history passes; a sampled rewind, a forced push in the reflog and a merge commit each fail', async () => {
  const { bare, clone } = await remote();
  const a = await sh(bare, 'rev-parse', 'main');
  const b = await commitFile(clone, 'x.txt', 'x\n');
  await sh(clone, 'push', '-q', 'origin', 'main');
  assert.equal(await mainForwardLinear(bare, [a, a, b]), []);
  const backwards = await mainForwardLinear(bare, [b, a]);
  assert.ok(backwards.length > 0 && backwards.every((p) => p.startsWith('(b) main forward and linear:')), backwards.join('\n'));
  // a forced push, then back: every sample may look fine, the reflog does not
  await sh(clone, 'push', '-q', '-f', 'origin', `${a}:refs/heads/main`);
  await sh(clone, 'push', '-q', 'origin', 'main');
  const forced = await mainForwardLinear(bare, [a, b]);
  assert.ok(forced.some((p) => p.includes('reflog has a move of main')), forced.join('\n'));
  // a merge commit on a fresh remote
  const r = await remote();
  await sh(r.clone, 'checkout', '-q', '-b', 'side');
  await commitFile(r.clone, 'side.txt', 's\n');
  await sh(r.clone, 'checkout', '-q', 'main');
  await commitFile(r.clone, 'main.txt', 'm\n');
  await sh(r.clone, 'merge', '-q', '--no-ff', '-m', 'merge side', 'side');
  await sh(r.clone, 'push', '-q', 'origin', 'main');
  const merged = await mainForwardLinear(r.bare, []);
  assert.ok(merged.some((p) => p.includes('merge commits')), merged.join('\n'));
});

test('(a) no commit lost: landed or kept under refs/coven/ passes; an agent commit reachable from nothing, a human push not on main, a dropped line each fail', async () => {
  const { bare, clone } = await remote();
  const base = tempDir('wt-base-');
  const where = join(base, 'project', 'coven', 'm1w1');
  const log = join(tempDir(), 'commits.txt');
  const landed = await agentCommit(clone, 'i01: part 1', 'aaaa01');
  await sh(clone, 'push', '-q', 'origin', 'main');
  await sh(clone, 'checkout', '-q', '-b', 'work');
  const kept = await agentCommit(clone, 'i02: part 1', 'bbbb02');
  await sh(clone, 'update-ref', 'refs/coven/unlanded/m1w1', kept);
  await sh(clone, 'checkout', '-q', 'main');
  await sh(clone, 'branch', '-D', 'work');
  writeFileSync(log, [`${landed} aaaa01 ${where}`, `${kept} bbbb02 ${where}`].join('\n') + '\n');
  const machines = [{ machine: 'm1', clone, worktreeBase: base }];
  assert.equal(await noCommitLost(bare, machines, log, [landed]), []);
  await sh(clone, 'checkout', '-q', '-b', 'work2');
  const lost = await agentCommit(clone, 'i03: part 1', 'cccc03');
  await sh(clone, 'checkout', '-q', 'main');
  await sh(clone, 'branch', '-D', 'work2');
  writeFileSync(log, [`${landed} aaaa01 ${where}`, `${kept} bbbb02 ${where}`, `${lost} cccc03 ${where}`].join('\n') + '\n');
  const problems = await noCommitLost(bare, machines, log, [landed, kept]);
  assert.ok(problems.every((p) => p.startsWith('(a) no commit lost:')), problems.join('\n'));
  assert.ok(problems.some((p) => p.includes('cccc03') && p.includes("m1's clone")), problems.join('\n'));
  assert.ok(problems.some((p) => p.includes(`human's pushed commit ${kept.slice(0, 10)}`)), problems.join('\n'));
  // a resolution that dropped a landed line
  writeFileSync(join(clone, 'shared/a.txt'), '# a\n');
  await sh(clone, 'commit', '-q', '-am', 'drop the line');
  await sh(clone, 'push', '-q', 'origin', 'main');
  const dropped = await noCommitLost(bare, machines, log, []);
  assert.ok(dropped.some((p) => p.includes('aaaa01') && p.includes('missing from main')), dropped.join('\n'));
});

test('(c) no job done twice: each issue finished once passes; finished twice, or not moved to done/, fails', async () => {
  const { bare, clone } = await remote();
  await commitFile(clone, 'issues/i01.md', 'one\n');
  await commitFile(clone, 'issues/i02.md', 'two\n');
  mkdirSync(join(clone, 'done'), { recursive: true });
  await sh(clone, 'mv', 'issues/i01.md', 'done/i01.md');
  await sh(clone, 'commit', '-q', '-m', 'i01: part 2');
  await sh(clone, 'push', '-q', 'origin', 'main');
  assert.equal(await noJobTwice(bare, ['i01']), []);
  await commitFile(clone, 'again.txt', 'again\n', 'i01: part 2');
  await sh(clone, 'push', '-q', 'origin', 'main');
  const twice = await noJobTwice(bare, ['i01', 'i02']);
  assert.ok(twice.some((p) => p === '(c) no job done twice: issue i01 was finished 2 times on the remote\'s main (commits "i01: part 2")'), twice.join('\n'));
  assert.ok(twice.some((p) => p.includes('issue i02 was finished 0 times')), twice.join('\n'));
  assert.ok(twice.some((p) => p.includes('issue i02 is not moved to done/')), twice.join('\n'));
});

const holder = (worker: string, pid: number): Holder => ({ worker, machine: 'm1', host: 'h', pid, pid_start: null });
const record = (h: Holder, state: ClaimRecord['state']): ClaimRecord => ({
  coven: CLAIM_FORMAT,
  job: { agent: 'implement', args: { issue: 'issues/i01.md' } },
  holder: h,
  state,
  taken_at: '2026-12-06T20:00:00Z',
  heartbeat_at: '2026-12-06T20:00:00Z',
  lease_ms: 4000,
  landed: null,
});

async function writeClaim(clone: string, ref: string, r: ClaimRecord): Promise<void> {
  const tree = await sh(clone, 'hash-object', '-t', 'tree', '-w', '/dev/null');
  const c = await sh(clone, 'commit-tree', tree, '-m', JSON.stringify(r));
  await sh(clone, 'push', '-q', '-f', 'origin', `${c}:${ref}`);
}

test('(d) no claim stuck: a tombstone or a running holder passes; a held claim whose holder is not running fails; the reflog counts takeovers', async () => {
  const { bare, clone } = await remote();
  const ref = 'refs/coven/claims/implement--issues-i01-md--0123456789ab';
  await writeClaim(clone, ref, record(holder('m1w1', 101), 'held'));
  assert.equal(await noClaimStuck(bare, (h) => h.pid === 101), []);
  const stuck = await noClaimStuck(bare, () => false);
  assert.equal(stuck, [`(d) no claim stuck: ${ref} is held by m1w1 on m1 (pid 101), which is not running`]);
  await writeClaim(clone, ref, record(holder('m1w1', 102), 'held')); // restarted, took its own back
  await writeClaim(clone, ref, record(holder('m2w1', 201), 'held')); // taken over
  await writeClaim(clone, ref, record(holder('m2w1', 201), 'landed'));
  assert.equal(await noClaimStuck(bare, () => false), []);
  assert.equal(await takeovers(bare), { takenOver: 1, ownBack: 1 });
});

test('(e) messages: a rule no worker output matches is named', () => {
  const logs = tempDir('logs-');
  writeFileSync(join(logs, '01-m1w1.log'), 'coven: the remote origin did not answer; the land is put off, nothing lost\n');
  const rules = [
    { what: 'an outage', line: /did not answer[^\n]*nothing lost/ },
    { what: 'a takeover', line: /took over/ },
  ];
  assert.equal(messagesSay(logs, rules), ['(e) messages: no worker said a takeover (no line matches /took over/)']);
});

test('the human of the run: a push while the remote is down goes through once it is back', async () => {
  const daemon = await startGitDaemon();
  try {
    const url = await serveRepository(daemon, await tempRepo());
    const human = await machineClone(url, 'human');
    await daemon.stop();
    const pushing = humanPush(human, 'notes.txt', 'human 1');
    await new Promise((r) => setTimeout(r, 800));
    await daemon.start();
    const id = await pushing;
    assert.ok(id);
    assert.is(await sh(join(daemon.base, 'project.git'), 'rev-parse', 'main'), id);
  } finally {
    await daemon.stop();
  }
});

test.run();
