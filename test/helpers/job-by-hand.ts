// job-by-hand — the job a test's worktree runs as the loop by hand does (docs/steps.md):
// a decision file as `coven dispatch` writes it, then `coven run-agent`.

import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, tempDir } from './repo.js';

/** Runs implement on issues/b.md in `wt` as worker w2 (coven run-agent); the session record's path. */
export async function implementByHand(wt: string, env: NodeJS.ProcessEnv): Promise<string> {
  const dir = tempDir('coven-steps-');
  const decision = join(dir, 'decision.json');
  const record = join(dir, 'session.json');
  writeFileSync(decision, JSON.stringify({ coven: 'decision/1', kind: 'run', agent: 'implement', args: { issue: 'issues/b.md' }, worktree: wt, worker: 'w2', main_tip: '', at: new Date().toISOString() }));
  const ran = await coven(['run-agent', '--decision', decision, '--out', record], { cwd: wt, env });
  assert.is(ran.code, 0, ran.stderr + ran.stdout);
  return record;
}
