// agent-cli-doc — the minimal stand-in for the agent CLI that docs/agent-cli.md shows
// works as written: extracted from the doc (so the two cannot drift), named by
// COVEN_CLAUDE, it answers a real `coven dispatch` and a `coven worker --once` cycle.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, projectRoot, sh, tempDir, tempRepo } from './helpers/repo.js';

function standInFromDoc(): string {
  const doc = readFileSync(join(projectRoot, 'docs', 'agent-cli.md'), 'utf8');
  const block = /## A minimal stand-in[\s\S]*?```js\n([\s\S]*?)```/.exec(doc);
  assert.ok(block, 'docs/agent-cli.md has the stand-in in a ```js block');
  const file = join(tempDir(), 'my-agent.cjs');
  writeFileSync(file, block![1]!);
  chmodSync(file, 0o755);
  return file;
}

test('the stand-in in docs/agent-cli.md answers coven dispatch and a worker cycle', async () => {
  const repo = await tempRepo();
  assert.is((await coven(['init', '--no-hooks'], { cwd: repo })).code, 0);
  await sh(repo, 'add', '-A');
  await sh(repo, 'commit', '-q', '-m', 'set up coven');
  const env = { COVEN_CLAUDE: standInFromDoc(), COVEN_WORKTREE_BASE: join(tempDir(), 'wt') };

  const dispatch = await coven(['dispatch'], { cwd: repo, env });
  assert.is(dispatch.code, 0, dispatch.stderr);
  const decision = JSON.parse(dispatch.stdout) as { kind: string; reason: string; session_id: string };
  assert.is(decision.kind, 'sleep');
  assert.is(decision.reason, 'my-agent never works');
  assert.match(decision.session_id, /^[0-9a-f-]{36}$/);

  const worker = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(worker.code, 0, worker.stderr);
  assert.match(worker.stdout + worker.stderr, /w1 sleeps: my-agent never works/);
});

test.run();
