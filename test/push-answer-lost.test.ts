// A push the server applied but whose answer came too late (a slow post-receive hook,
// past COVEN_REMOTE_TIMEOUT_MS): the worker must not say nothing was pushed as a fact, and
// its next run must see that its own earlier run landed the job — not set its commits
// aside as another worker's job.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { machineClone, serveRepository, startGitDaemon } from './helpers/git-daemon.js';
import { B_LINE, B_SUBJECT, ORIGINAL, waitFor, implementAgent } from './helpers/same-line.js';
import { coven, sh, tempDir } from './helpers/repo.js';

const implement = implementAgent();
const choose: FakeRun = { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: implement\nissue: issues/b.md\n</dispatch>' }] };

test('remote mode: a push applied but answered too late: said as uncertain; the next run sees its own landing and keeps nothing aside', async () => {
  const seed = await covenRepo({ '.coven/agents/implement.md': implement, 'greeting.txt': ORIGINAL, 'issues/b.md': issueFile('Greet in German', 'approved') });
  const daemon = await startGitDaemon();
  const url = await serveRepository(daemon, seed);
  const a = await machineClone(url, 'a');
  const bare = join(daemon.base, 'project.git');
  const base = tempDir('coven-wt-');
  try {
    const gate = join(tempDir('coven-gate-'), 'go');
    const job: FakeRun = { match: { promptIncludes: 'Implement the issue in issues/b.md' }, steps: [{ read: 'greeting.txt' }, { write: { path: 'greeting.txt', content: B_LINE } }, { commit: B_SUBJECT }, { bash: `touch '${gate}.ready'; until [ -e '${gate}' ]; do sleep 0.05; done` }] };
    const env = { ...fakeClaudeEnv([choose, job]), COVEN_WORKTREE_BASE: base, COVEN_MACHINE: 'a', COVEN_RETRY_MS: '200', COVEN_REMOTE_TIMEOUT_MS: '3000' };
    const running = coven(['worker', '--name', 'w2', '--once', '--remote', 'origin'], { cwd: a, env, timeoutMs: 150_000 });
    await waitFor('the job to commit', () => (existsSync(`${gate}.ready`) ? true : null));
    const hook = join(bare, 'hooks', 'post-receive');
    writeFileSync(hook, '#!/bin/sh\nif grep -q refs/heads/main; then sleep 6; fi\n');
    chmodSync(hook, 0o755);
    writeFileSync(gate, '');
    const r = await running;
    assert.is(await sh(bare, 'log', '-1', '--format=%s', 'main'), B_SUBJECT, 'the server applied the push');
    assert.match(r.stdout + r.stderr, /may or may not have been changed: the answer was lost mid-way/);
    writeFileSync(hook, '#!/bin/sh\nexit 0\n');
    const sleepEnv = { ...fakeClaudeEnv([{ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nsleep: nothing left\n</dispatch>' }] }]), COVEN_WORKTREE_BASE: base, COVEN_MACHINE: 'a', COVEN_RETRY_MS: '200' };
    const again = await coven(['worker', '--name', 'w2', '--once', '--remote', 'origin'], { cwd: a, env: sleepEnv, timeoutMs: 150_000 });
    assert.is(again.code, 0, again.stdout + again.stderr);
    assert.not.match(again.stdout + again.stderr, /landed it meanwhile|coven\/lost\//, 'its own landing taken for another worker\'s');
    assert.is(await sh(a, 'for-each-ref', 'refs/coven/lost/'), '');
    assert.is((await sh(bare, 'log', '--format=%s', 'main')).split('\n').filter((s) => s === B_SUBJECT).length, 1, 'landed once');
  } finally {
    await daemon.stop();
  }
});
test.run();
