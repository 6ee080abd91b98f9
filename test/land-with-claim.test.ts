// land-with-claim — the land moves main and the job claim's tombstone in one git
// transaction (lib/git/ref-transaction.ts): both or neither. A claim that is not what the
// land expected (taken over, removed) stops the land as lease-lost, and main, its
// checkout and the claim stay exactly as they were. Real git in temporary repositories.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { landWorktree, type LandResult } from '../scripts/lib/land/land.js';
import { describeLand } from '../scripts/lib/land/messages.js';
import { transactionText } from '../scripts/lib/git/ref-transaction.js';
import { commitFile, sh, tempDir, tempRepo } from './helpers/repo.js';

const CLAIM = 'refs/coven/claims/implement--issues-a-md--0123456789ab';

async function spawn(repo: string, name: string): Promise<string> {
  const wt = join(tempDir('coven-wt-'), name);
  await sh(repo, 'worktree', 'add', '-q', '--track', '-b', `coven/${name}`, wt, 'main');
  return wt;
}

/** A parentless empty-tree commit, as a claim record is. */
async function claimCommit(repo: string, message: string): Promise<string> {
  return sh(repo, 'commit-tree', '4b825dc642cb6eb9a060e54bf8d69288fbee4904', '-m', message);
}

/** Lands `wt` with the claim's tombstone going with main, expecting the claim at `expect`. */
async function landWithClaim(repo: string, wt: string, expect: string): Promise<{ r: LandResult; tombstone: string }> {
  let tombstone = '';
  const r = await landWorktree({
    worktree: wt,
    keep: true,
    withMain: async (head) => {
      tombstone = await claimCommit(repo, `landed ${head}`);
      return [{ ref: CLAIM, to: tombstone, expect }];
    },
  });
  return { r, tombstone };
}

test('main and the claim move together: main lands, the claim becomes the tombstone naming it', async () => {
  const repo = await tempRepo();
  const held = await claimCommit(repo, 'held by w1');
  await sh(repo, 'update-ref', CLAIM, held);
  const wt = await spawn(repo, 'w1');
  await commitFile(wt, 'a.txt', 'a\n', 'w1: add a');
  const { r, tombstone } = await landWithClaim(repo, wt, held);
  assert.is(r.kind, 'landed', JSON.stringify(r));
  if (r.kind !== 'landed') return;
  assert.is(await sh(repo, 'rev-parse', 'main'), r.main);
  assert.is(await sh(repo, 'rev-parse', CLAIM), tombstone);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', tombstone), `landed ${r.main}`);
  assert.ok(existsSync(join(repo, 'a.txt')), "main's checkout moved too");
  assert.is(await sh(repo, 'status', '--porcelain'), '');
});

for (const checkedOut of [true, false]) {
  const where = checkedOut ? "main's checkout (under its index.lock)" : 'main checked out nowhere (the ref alone)';
  test(`a claim taken over before the land: lease-lost, and neither main nor the claim moved — ${where}`, async () => {
    const repo = await tempRepo();
    if (!checkedOut) await sh(repo, 'switch', '-q', '-c', 'experiment');
    const held = await claimCommit(repo, 'held by w1');
    const wt = await spawn(repo, 'w1');
    const tip = await commitFile(wt, 'a.txt', 'a\n', 'w1: add a');
    // another worker took the job over meanwhile
    const other = await claimCommit(repo, 'held by w2');
    await sh(repo, 'update-ref', CLAIM, other);
    const mainBefore = await sh(repo, 'rev-parse', 'main');
    const { r } = await landWithClaim(repo, wt, held);
    assert.is(r.kind, 'lease-lost', JSON.stringify(r));
    if (r.kind !== 'lease-lost') return;
    assert.is(r.ref, CLAIM);
    assert.is(r.remote, undefined);
    assert.is(await sh(repo, 'rev-parse', 'main'), mainBefore, 'main did not move');
    assert.is(await sh(repo, 'rev-parse', CLAIM), other, "the other worker's claim is untouched");
    assert.is(await sh(wt, 'rev-parse', 'HEAD'), tip, 'the branch keeps its commit');
    assert.not.ok(existsSync(join(repo, 'a.txt')), "main's checkout was not written into");
    assert.is(await sh(repo, 'status', '--porcelain'), '');
    const said = describeLand(r, { self: 'coven land', againArgs: ['--keep'] });
    assert.is(said.code, 7);
    assert.match(said.text, /the job's claim refs\/coven\/claims\/implement--issues-a-md--0123456789ab is no longer this worker's/);
    assert.match(said.text, /main and the claim were not changed; the worker's commit stays on coven\/w1\./);
  });
}

test('a claim removed before the land (nothing at the ref): lease-lost, main did not move', async () => {
  const repo = await tempRepo();
  const held = await claimCommit(repo, 'held by w1');
  const wt = await spawn(repo, 'w1');
  await commitFile(wt, 'a.txt', 'a\n', 'w1: add a');
  const mainBefore = await sh(repo, 'rev-parse', 'main');
  const { r } = await landWithClaim(repo, wt, held);
  assert.is(r.kind, 'lease-lost', JSON.stringify(r));
  assert.is(await sh(repo, 'rev-parse', 'main'), mainBefore);
});

test('the transaction text: one checked line per change; a ref name or id that could add a line is refused', () => {
  const a = 'a'.repeat(40);
  const b = 'b'.repeat(40);
  assert.is(transactionText([{ ref: 'refs/heads/main', to: b, expect: a }, { ref: CLAIM, to: null, expect: a }, { ref: 'refs/coven/x', to: a, expect: null }]), `update refs/heads/main ${b} ${a}\ndelete ${CLAIM} ${a}\ncreate refs/coven/x ${a}\n`);
  assert.is(transactionText([{ ref: `refs/heads/main ${b} ${a}\nupdate refs/heads/evil`, to: b, expect: a }]), null);
  assert.is(transactionText([{ ref: 'refs/heads/main', to: `${b}\ndelete refs/heads/main ${a}`, expect: a }]), null);
  assert.is(transactionText([{ ref: 'refs/heads/../../x', to: b, expect: a }]), null);
  assert.is(transactionText([{ ref: 'refs/heads/main', to: b, expect: 'fast-forward' }]), null, 'only a push checks a fast-forward');
  assert.is(transactionText([{ ref: 'refs/heads/$(touch_x)&;|', to: b, expect: a }]), `update refs/heads/$(touch_x)&;| ${b} ${a}\n`, 'a branch named like a shell command is a valid ref');
  assert.is(transactionText([{ ref: 'refs/heads/a\tb', to: b, expect: a }]), null);
});

test.run();
