// The claim keeps beating while a conflict resolution runs after a push was refused (main
// moved): the heartbeat pauses only for the push itself. Without it, a resolution longer
// than the lease lets another machine take the job over, and the job runs twice.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync, chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { machineClone, serveRepository, startGitDaemon } from './helpers/git-daemon.js';
import { A_LINE, A_SUBJECT, B_LINE, B_SUBJECT, ORIGINAL, resolvingRun, implementAgent } from './helpers/same-line.js';
import { commitFile, coven, sh, tempDir } from './helpers/repo.js';

const implement = implementAgent();
const choose: FakeRun = { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: implement\nissue: issues/b.md\n</dispatch>' }] };

test('remote mode: the claim beats during a conflict resolution that follows a refused push (lease 2 s, resolution 8 s)', async () => {
  const seed = await covenRepo({ '.coven/agents/implement.md': implement, 'greeting.txt': ORIGINAL, 'issues/b.md': issueFile('Greet in German', 'approved') });
  const daemon = await startGitDaemon();
  const url = await serveRepository(daemon, seed);
  const [a, b] = await Promise.all([machineClone(url, 'a'), machineClone(url, 'b')]);
  const bare = join(daemon.base, 'project.git');
  const base = tempDir('coven-wt-');
  const log = join(tempDir('coven-log-'), 'claims.log');
  try {
    await commitFile(b, 'greeting.txt', A_LINE, A_SUBJECT);
    await sh(b, 'push', '-q', 'origin', 'main:refs/heads/side');
    // another machine's push lands between this worker's fetch and its push (once)
    const hook = join(bare, 'hooks', 'pre-receive');
    writeFileSync(hook, `#!/bin/sh\nif grep -q refs/heads/main && [ ! -e "$GIT_DIR/raced" ]; then touch "$GIT_DIR/raced"; env -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES git update-ref refs/heads/main refs/heads/side; fi\nexit 0\n`);
    chmodSync(hook, 0o755);
    const snap = `git -C '${bare}' for-each-ref --format='%(objectname) %(refname)' refs/coven/claims/ >> '${log}'`;
    const slowResolve: FakeRun = { ...resolvingRun, steps: [{ bash: `echo before >> '${log}'; ${snap}; sleep 8; echo after-8s >> '${log}'; ${snap}` }, ...(resolvingRun.steps ?? [])] };
    const job: FakeRun = { match: { promptIncludes: 'Implement the issue in issues/b.md' }, steps: [{ read: 'greeting.txt' }, { write: { path: 'greeting.txt', content: B_LINE } }, { commit: B_SUBJECT }, { bash: `echo during-job >> '${log}'; ${snap}; sleep 3; ${snap}` }] };
    const env = { ...fakeClaudeEnv([choose, job, slowResolve]), COVEN_WORKTREE_BASE: base, COVEN_MACHINE: 'a', COVEN_RETRY_MS: '200', COVEN_CLAIM_LEASE_MS: '2000' };
    const r = await coven(['worker', '--name', 'w2', '--once', '--remote', 'origin'], { cwd: a, env, timeoutMs: 150_000 });
    assert.is(r.code, 0, r.stdout + r.stderr);
    const lines = readFileSync(log, 'utf8').split('\n');
    const after = (mark: string) => lines[lines.indexOf(mark) + 1]?.split(' ')[0] ?? '';
    assert.ok(after('before') !== '' && after('after-8s') !== '', lines.join('\n'));
    assert.is.not(after('after-8s'), after('before'), `the claim did not beat during the resolution:\n${lines.join('\n')}`);
  } finally {
    await daemon.stop();
  }
});
test.run();
