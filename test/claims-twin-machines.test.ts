// claims-twin-machines — two machines given the same COVEN_MACHINE (cloned virtual machines,
// a copied shell profile) are still two: a worker whose heartbeat finds its claim held
// under its own name and machine name, but from another host, does not take it back as its
// own. It lost the job: its commits are set aside and the other host's claim stays.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClaimRecordSchema, type ClaimRecord } from '../scripts/lib/claims/claim.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { machineClone, serveRepository, startGitDaemon } from './helpers/git-daemon.js';
import { B_LINE, B_SUBJECT, ORIGINAL, implementAgent } from './helpers/same-line.js';
import { coven, sh, tempDir } from './helpers/repo.js';

const choose: FakeRun = { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: implement\nissue: issues/b.md\n</dispatch>' }] };

test('remote mode: a heartbeat that finds the claim held by the same worker and machine name on another host loses it, never takes it back', async () => {
  const seed = await covenRepo({ '.coven/agents/implement.md': implementAgent(), 'greeting.txt': ORIGINAL, 'issues/b.md': issueFile('Greet in German', 'approved') });
  const daemon = await startGitDaemon();
  const url = await serveRepository(daemon, seed);
  const a = await machineClone(url, 'a');
  const bare = join(daemon.base, 'project.git');
  const dir = tempDir('coven-twin-');
  try {
    // what the other machine (COVEN_MACHINE=twin too, host host-b) wrote when it took the job over
    const at = new Date().toISOString();
    const theirs: ClaimRecord = { coven: 'claim/1', job: { agent: 'implement', args: { issue: 'issues/b.md' } }, holder: { worker: 'w1', machine: 'twin', host: 'host-b.example', pid: 4242, pid_start: null }, state: 'held', taken_at: at, heartbeat_at: at, lease_ms: 600_000, took_over: null };
    writeFileSync(join(dir, 'theirs.json'), JSON.stringify(ClaimRecordSchema.parse(theirs)));
    const g = `git -C '${bare}'`;
    const takeOver = `ref=$(${g} for-each-ref --format='%(refname)' refs/coven/claims/ | head -1); t=$(${g} hash-object -t tree -w /dev/null); c=$(${g} commit-tree "$t" -F '${join(dir, 'theirs.json')}'); ${g} update-ref "$ref" "$c"; echo "$c" > '${join(dir, 'theirs.sha')}'`;
    const job: FakeRun = { match: { promptIncludes: 'Implement the issue in issues/b.md' }, steps: [{ read: 'greeting.txt' }, { write: { path: 'greeting.txt', content: B_LINE } }, { commit: B_SUBJECT }, { bash: `${takeOver}; sleep 3` }] };
    const env = { ...fakeClaudeEnv([choose, job]), COVEN_WORKTREE_BASE: join(dir, 'worktrees'), COVEN_MACHINE: 'twin', COVEN_RETRY_MS: '200', COVEN_CLAIM_LEASE_MS: '2000' };
    const r = await coven(['worker', '--name', 'w1', '--once', '--remote', 'origin'], { cwd: a, env, timeoutMs: 120_000 });
    const out = r.stdout + r.stderr;
    assert.match(out, /w1 lost its claim on implement \(issue: issues\/b\.md\): w1 on twin has it now/, out);
    assert.is(await sh(bare, 'log', '-1', '--format=%s', 'main'), 'coven agents', `the job landed:\n${out}`);
    const claim = (await sh(bare, 'for-each-ref', '--format=%(objectname)', 'refs/coven/claims/')).trim();
    assert.is(claim, readFileSync(join(dir, 'theirs.sha'), 'utf8').trim(), 'the other host\'s claim stays as it wrote it');
    // the job's commit was made, and is kept aside, never landed
    const kept = (await sh(a, 'for-each-ref', '--format=%(refname)', 'refs/coven/superseded/', 'refs/coven/lost/')).split('\n').filter(Boolean);
    assert.is(kept.length, 1, out);
    assert.is(await sh(a, 'log', '-1', '--format=%s', kept[0]!), B_SUBJECT);
  } finally {
    await daemon.stop();
  }
});

test.run();
