// land-remote-worker — `coven worker --remote origin` and `coven land --remote origin` on
// machines that are clones of a repository served by git daemon: the worker's worktree
// starts from the remote's main, its land pushes, a conflict with what another machine
// pushed is resolved by resuming the session and then pushed, and a remote that does not
// answer puts the land off with every commit kept.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { assertFakeRunsOk, fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { machineClone, serveRepository, startGitDaemon, type GitDaemon } from './helpers/git-daemon.js';
import { A_LINE, A_SUBJECT, B_LINE, B_SUBJECT, MERGED, ORIGINAL, resolvingRun, waitFor, implementAgent } from './helpers/same-line.js';
import { commitFile, coven, sh, tempDir } from './helpers/repo.js';

const implement = implementAgent();

interface Machines {
  daemon: GitDaemon;
  bare: string;
  /** the machine the worker runs on */
  a: string;
  /** another machine (or a human) pushing to the remote's main */
  b: string;
  base: string;
}

async function machines(): Promise<Machines> {
  const seed = await covenRepo({ '.coven/agents/implement.md': implement, 'greeting.txt': ORIGINAL, 'issues/b.md': issueFile('Greet in German', 'approved') });
  const daemon = await startGitDaemon();
  const url = await serveRepository(daemon, seed);
  const [a, b] = await Promise.all([machineClone(url, 'a'), machineClone(url, 'b')]);
  return { daemon, bare: join(daemon.base, 'project.git'), a, b, base: tempDir('coven-wt-') };
}

const choose: FakeRun = { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: implement\nissue: issues/b.md\n</dispatch>' }] };

/** The job: greet in German, commit; then `then` (a shell line) runs before the session ends. */
function job(then: string): FakeRun {
  return { match: { promptIncludes: 'Implement the issue in issues/b.md' }, steps: [{ read: 'greeting.txt' }, { write: { path: 'greeting.txt', content: B_LINE } }, { commit: B_SUBJECT }, { bash: then }] };
}

function worker(m: Machines, env: NodeJS.ProcessEnv, ...args: string[]) {
  return coven(['worker', '--name', 'w2', '--once', '--remote', 'origin', ...args], { cwd: m.a, env: { ...env, COVEN_WORKTREE_BASE: m.base, COVEN_MACHINE: 'a', COVEN_RETRY_MS: '200' }, timeoutMs: 150_000 });
}

test('a worker in remote mode: another machine pushes a conflicting change during the job; the land stops on the conflict, the session resolves it, the result is pushed and the clone\'s main follows', async () => {
  const m = await machines();
  try {
    // machine b has its change ready; it pushes while the worker's job runs (after the worktree was made)
    await commitFile(m.b, 'greeting.txt', A_LINE, A_SUBJECT);
    const env = fakeClaudeEnv([choose, job(`git -C '${m.b}' push -q origin main`), resolvingRun]);
    const r = await worker(m, env);
    assert.is(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /conflict resolved in 1 round/);
    assert.match(r.stdout, /landed 1 commit\(s\) on main at origin/);
    assert.is(await sh(m.bare, 'log', '--format=%s', '-2', 'main'), `${B_SUBJECT}\n${A_SUBJECT}`);
    assert.is(await sh(m.bare, 'rev-list', '--merges', 'main'), '');
    assert.is(await sh(m.bare, 'show', 'main:greeting.txt'), MERGED.trim());
    // the clone's main and its checkout followed
    assert.is(await sh(m.a, 'rev-parse', 'main'), await sh(m.bare, 'rev-parse', 'main'));
    assert.is(readFileSync(join(m.a, 'greeting.txt'), 'utf8'), MERGED);
    assertFakeRunsOk(env);
  } finally {
    await m.daemon.stop();
  }
});

test('a worker in remote mode whose remote stops during the job: the land is put off, every commit kept; the remote back, the next worker run pushes them', async () => {
  const m = await machines();
  try {
    const gate = join(tempDir('coven-gate-'), 'go');
    const env = fakeClaudeEnv([choose, job(`touch '${gate}.ready'; until [ -e '${gate}' ]; do sleep 0.05; done`)]);
    const running = worker(m, env);
    await waitFor('the job to commit', () => (existsSync(`${gate}.ready`) ? true : null));
    await m.daemon.stop();
    writeFileSync(gate, ''); // the session goes on
    const r = await running;
    assert.is(r.code, 3, r.stderr + r.stdout);
    assert.match(r.stderr, /the remote origin did not answer/);
    assert.match(r.stderr, /Nothing was pushed/);
    const wt = join(m.base, 'project', 'coven', 'w2');
    assert.is(await sh(wt, 'log', '-1', '--format=%s'), B_SUBJECT);
    await m.daemon.start();
    assert.is(await sh(m.bare, 'log', '-1', '--format=%s', 'main'), 'coven agents');
    const again = await worker(m, fakeClaudeEnv([{ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nsleep: nothing left\n</dispatch>' }] }]));
    assert.is(again.code, 0, again.stderr + again.stdout);
    assert.is(await sh(m.bare, 'log', '-1', '--format=%s', 'main'), B_SUBJECT);
  } finally {
    await m.daemon.stop();
  }
});

test('a worker in remote mode starts from the remote\'s main: a human\'s unpushed commit on the local main is not on its branch, is not pushed, and stays where it is (said)', async () => {
  const m = await machines();
  try {
    const mine = await commitFile(m.a, 'mine.txt', 'mine\n', 'human: local only');
    const env = fakeClaudeEnv([choose, job('true')]);
    const r = await worker(m, env);
    assert.is(r.code, 0, r.stderr + r.stdout);
    assert.is(await sh(m.bare, 'log', '--format=%s', '-2', 'main'), `${B_SUBJECT}\ncoven agents`);
    assert.is((await sh(m.bare, 'rev-list', '--all')).includes(mine), false);
    assert.is(await sh(m.a, 'rev-parse', 'main'), mine);
    assert.is(await sh(m.a, 'status', '--porcelain'), '');
    assert.match(r.stderr, /your local main has 1 commit that is not on origin .*left as it is, nothing lost/);
  } finally {
    await m.daemon.stop();
  }
});

test('coven land --remote origin: pushes; with the remote down it exits 6 and keeps the commits', async () => {
  const m = await machines();
  try {
    await sh(m.a, 'fetch', '-q', 'origin');
    const wt = join(m.base, 'by-hand');
    await sh(m.a, 'worktree', 'add', '-q', '-b', 'coven/by-hand', wt, 'origin/main');
    await sh(m.a, 'branch', '-q', '--set-upstream-to=main', 'coven/by-hand');
    const tip = await commitFile(wt, 'x.txt', 'x\n', 'x: by hand');
    await m.daemon.stop();
    const down = await coven(['land', '--keep', '--remote', 'origin', '--worktree', wt], { cwd: m.a });
    assert.is(down.code, 6, down.stderr);
    assert.match(down.stderr, /did not answer/);
    assert.match(down.stderr, /coven land --worktree .* --keep --remote origin/);
    assert.is(await sh(wt, 'rev-parse', 'HEAD'), tip);
    await m.daemon.start();
    const up = await coven(['land', '--keep', '--remote', 'origin', '--worktree', wt], { cwd: m.a });
    assert.is(up.code, 0, up.stderr);
    assert.match(up.stdout, /landed 1 commit from coven\/by-hand on main at origin/);
    assert.is(await sh(m.bare, 'rev-parse', 'main'), tip);
    assert.is(await sh(m.a, 'rev-parse', 'main'), tip);
    const bad = await coven(['land', '--keep', '--remote', 'nowhere', '--worktree', wt], { cwd: m.a });
    assert.is(bad.code, 64);
    assert.match(bad.stderr, /does not have/);
  } finally {
    await m.daemon.stop();
  }
});

test.run();
