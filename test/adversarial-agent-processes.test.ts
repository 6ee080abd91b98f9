// Adversarial pass (issue 11), a hostile agent: what it does with processes and what its
// session says about itself — a daemon that outlives the session and keeps writing into
// the worktree while the land runs, a signal to its own worker, a result event that
// contradicts the CLI's exit code. What must hold: the land never races a process the
// session left behind, the worker never crashes, its commits are kept, and the outcome
// is judged by the result event.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh, tempDir } from './helpers/repo.js';
import { alive } from './helpers/alive.js';
import { shellJob, shellRepo, workerOnce } from './helpers/hostile-job.js';

/**
 * Ends a process the test's agent left running (by the pid it wrote), if it still runs.
 * A zombie does not run: it is dead and waits for pid 1, which may reap it late.
 */
function stopDaemon(pidFile: string): boolean {
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!alive(pid)) return false;
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

test('a daemon the agent starts (setsid, double fork) that keeps writing into the worktree is ended with the session; the land goes through', async () => {
  const repo = await shellRepo();
  const pidFile = join(tempDir(), 'daemon.pid');
  try {
    const { r, out } = await workerOnce(
      repo,
      shellJob([
        { write: { path: 'plan.txt', content: 'plan\n' } },
        { commit: 'plan a' },
        { bash: `setsid sh -c 'echo $$ > ${pidFile}; while :; do date +%s%N > scratch.txt; sleep 0.02; done' </dev/null >/dev/null 2>&1 &` },
        { bash: 'sleep 0.2' },
      ]),
    );
    assert.is(r.code, 0, out);
    assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a', out);
    assert.not.ok(stopDaemon(pidFile), 'the daemon outlived the session');
    assert.match(out, /landed 1 commit\(s\) on main/);
    assert.not.match(out, /parked|land stopped/);
    // what it wrote before the session ended was the agent's uncommitted work: kept once, not landed
    assert.match(out, /left uncommitted changes \(scratch\.txt\); saved as refs\/coven\/wip\/w1\//);
  } finally {
    stopDaemon(pidFile);
  }
});

test('the agent sends SIGTERM to its own worker: the worker stops as on Ctrl-C, and the commit made before is kept', async () => {
  const repo = await shellRepo();
  const { r, out } = await workerOnce(
    repo,
    shellJob([
      { write: { path: 'plan.txt', content: 'plan\n' } },
      { commit: 'plan a' },
      { bash: 'kill -TERM "$(sed -n \'s/.*"pid": \\([0-9]*\\).*/\\1/p\' "$(git rev-parse --git-common-dir)/coven/workers/w1.json" | head -1)"' },
      { sleep_ms: 2000 },
    ]),
  );
  assert.is(r.code, 3, out); // stopped with work kept
  assert.match(out, /stopping once the current step is safe/);
  assert.match(out, /w1 stopped with work that is not on main: 1 commit\(s\) not on main/);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'coven/w1'), 'plan a');
});

test('a result event that says success from a CLI that exits 1: judged by the result; the work lands', async () => {
  const repo = await shellRepo();
  const { r, out } = await workerOnce(repo, shellJob([{ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }], { exit: 1 }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a', out);
});

test('a result event that says error from a CLI that exits 0: judged by the result and shown as an error; what it committed lands', async () => {
  const repo = await shellRepo();
  const { r, out } = await workerOnce(
    repo,
    shellJob([{ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }], { result: { subtype: 'error_during_execution', is_error: true, errors: ['the model gave up'] }, exit: 0 }),
  );
  assert.match(out, /✗ agent error \(error_during_execution\): the model gave up/);
  assert.is(r.code, 0, out); // exit 5 is for an error after which nothing landed
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a', out);
});

test('the agent writes its own worker state file (another pid, another branch and worktree): the worker still lands on main and removes only its own worktree', async () => {
  const repo = await shellRepo();
  const decoy = tempDir('coven-decoy-');
  writeFileSync(join(decoy, 'precious.txt'), 'keep me\n');
  const { r, out } = await workerOnce(
    repo,
    shellJob([
      { write: { path: 'plan.txt', content: 'plan\n' } },
      { commit: 'plan a' },
      {
        bash: `f="$(git rev-parse --git-common-dir)/coven/workers/w1.json"; sed -i -e 's|"worktree": "[^"]*"|"worktree": "${decoy}"|' -e 's|"branch": "[^"]*"|"branch": "main"|' -e 's|"pid": [0-9]*|"pid": 1|' "$f"`,
      },
    ]),
  );
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a', out);
  assert.is(readFileSync(join(decoy, 'precious.txt'), 'utf8'), 'keep me\n');
  assert.is(await sh(repo, 'rev-parse', '--abbrev-ref', 'HEAD'), 'main');
});

test.run();
