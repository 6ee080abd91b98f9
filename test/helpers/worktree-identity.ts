// worktree-identity — what the hostile-worktree-identity tests share: a repository whose
// human has staged and unstaged work in the main worktree, what that looks like, an agent
// with a shell, and a worker run.

import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, sh, tempDir } from './repo.js';
import { covenRepo, issueFile } from './coven-repo.js';
import { fakeClaudeEnv, type FakeRun, type FakeStep } from './fake-claude.js';

/** An agent with a shell (Bash without limits): it can write anything in its worktree. */
export const shellAgent = `---
description: writes a plan for one issue
args:
  - name: issue
    description: path of the issue file
claude_args: ["--allowedTools=Bash,Read,Edit,Write"]
---
Plan the issue in {{issue}}.
`;

export const plan = (...steps: FakeStep[]): FakeRun[] => [
  { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  { match: { promptIncludes: 'Plan the issue' }, steps: [...steps, { text: 'Done.' }] },
  // asked to commit what it left: it does nothing
  { match: { promptIncludes: 'You left uncommitted changes' }, steps: [{ text: 'No.' }] },
];
export const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);

/** A repo whose human has a staged change (a new file and an edit) and an unstaged edit in the main worktree. */
export async function repoWithStagedWork(): Promise<string> {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a'), '.coven/agents/plan.md': shellAgent, 'notes.txt': 'notes\n' });
  writeFileSync(join(repo, 'staged.txt'), 'the human\'s staged file\n');
  writeFileSync(join(repo, 'notes.txt'), 'notes, staged edit\n');
  await sh(repo, 'add', 'staged.txt', 'notes.txt');
  writeFileSync(join(repo, 'README.md'), '# test, unstaged edit\n');
  return repo;
}

/** What the human has in the main worktree: index entries, staged names, status, files. */
export async function humanSide(repo: string) {
  return {
    head: await sh(repo, 'symbolic-ref', 'HEAD'),
    index: await sh(repo, 'ls-files', '--stage', '--', 'staged.txt', 'notes.txt', 'README.md'),
    staged: await sh(repo, 'diff', '--cached', '--name-only'),
    status: await sh(repo, 'status', '--porcelain'),
    files: ['staged.txt', 'notes.txt', 'README.md'].map((f) => readFileSync(join(repo, f), 'utf8')),
  };
}

export async function worker(repo: string, script: FakeRun[], name = 'w1', base = tempDir('coven-wt-')) {
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: base };
  const r = await coven(['worker', '--once', '--name', name], { cwd: repo, env });
  noStack(r.stdout + r.stderr);
  return { r, env, worktree: join(base, 'project', 'coven', name) };
}
