// claims-adopt-remote — a worker killed with kill -9 mid-job, in remote mode, started again
// under its name while the remote is down: it takes its claim back once the remote answers,
// and only then lands, so the claim ends as the job's tombstone. (Found by the remote chaos
// run: the take failed as unreachable, the claim was forgotten, the commits landed without
// it, and the dead worker's claim stayed held for good.)

import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClaimRecordSchema } from '../scripts/lib/claims/claim.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv } from './helpers/fake-claude.js';
import { machineClone, serveRepository, startGitDaemon } from './helpers/git-daemon.js';
import { run, sh, tempDir } from './helpers/repo.js';
import { childPids, dispatchRun, implementRun, outputOf, shDispatchAgent, startWorker, stopAll, waitFor, type WorkerProc } from './helpers/worker-procs.js';

async function killAndRestart(restartArgs: string[], outage: boolean): Promise<void> {
  const daemon = await startGitDaemon();
  const workers: WorkerProc[] = [];
  try {
    const seed = await covenRepo({ '.coven/agents/dispatch.md': shDispatchAgent, 'issues/a.md': issueFile('Issue a') });
    const url = await serveRepository(daemon, seed);
    const bare = join(daemon.base, 'project.git');
    const clone = await machineClone(url, 'm1');
    const dir = tempDir('coven-adopt-');
    writeFileSync(join(dir, 'pick.sh'), `if [ -e issues/a.md ]; then printf '<dispatch>\\nagent: implement\\nissue: issues/a.md\\n</dispatch>\\n'; else printf '<dispatch>\\nsleep: nothing left\\n</dispatch>\\n'; fi\n`);
    const first = implementRun('a', { times: 1 });
    first.steps = [...(first.steps ?? []).slice(0, -1), { bash: 'sleep 60' }];
    const env = {
      ...fakeClaudeEnv([dispatchRun(`sh ${join(dir, 'pick.sh')}`), first, implementRun('a')], dir),
      COVEN_WORKTREE_BASE: join(dir, 'worktrees'),
      COVEN_MACHINE: 'm1',
      COVEN_RETRY_MS: '200',
      COVEN_CLAIM_LEASE_MS: '600000',
      COVEN_REMOTE_POLL_MS: '2000',
    };
    const why = () => outputOf(workers);
    const w1 = startWorker(clone, 'w1', env, ['--remote', 'origin']);
    workers.push(w1);
    const branchHasCommit = async () => (await run('git', ['log', '--format=%s', 'coven/w1'], { cwd: clone })).stdout.includes('implement a');
    await waitFor(() => /Bash: sleep 60/.test(w1.stdout()) && branchHasCommit(), 'w1 committed a and runs on', 40_000, why);
    for (const p of childPids(w1.pid)) {
      try {
        process.kill(-p, 'SIGKILL');
      } catch {
        // gone
      }
    }
    w1.child.kill('SIGKILL');
    await w1.exited;

    if (outage) await daemon.stop();
    const again = startWorker(clone, 'w1', env, restartArgs);
    workers.push(again);
    await waitFor(() => /adopting the existing worktree/.test(again.stdout()), 'the new w1 adopts the worktree', 30_000, why);
    if (restartArgs.length === 0) assert.match(again.stdout(), /w1 ran in remote mode \(through origin\) before; it goes on in remote mode/);
    await new Promise((r) => setTimeout(r, 1500));
    if (outage) await daemon.start();
    await waitFor(async () => (await run('git', ['log', '--format=%s', 'main'], { cwd: bare })).stdout.includes('implement a'), 'a landed on the remote', 40_000, why);
    await waitFor(async () => {
      const refs = (await sh(bare, 'for-each-ref', '--format=%(refname)', 'refs/coven/claims/')).split('\n').filter(Boolean);
      return refs.length === 1 && ClaimRecordSchema.parse(JSON.parse(await sh(bare, 'log', '-1', '--format=%B', refs[0]!))).state !== 'held';
    }, 'the claim is released', 10_000, why);
    const ref = (await sh(bare, 'for-each-ref', '--format=%(refname)', 'refs/coven/claims/')).trim();
    const record = ClaimRecordSchema.parse(JSON.parse(await sh(bare, 'log', '-1', '--format=%B', ref)));
    assert.is(record.state, 'landed');
    assert.is(record.holder.pid, again.pid, 'released by the worker that took it back');
  } finally {
    await stopAll(workers, 'SIGTERM');
    await daemon.stop();
  }
}

test('kill -9 mid-job, restarted while the remote is down: the claim is taken back once it answers, and the land releases it as landed', () => killAndRestart(['--remote', 'origin'], true));

test('kill -9 mid-job, restarted without --remote (as the messages say to): it goes on in remote mode, lands on the remote and releases its claim', () => killAndRestart([], false));

test.run();
