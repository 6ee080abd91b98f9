// odd-states (helper) — a worker run whose agent leaves git in an odd state: a plan agent
// allowed any shell command, one `--once` worker cycle, and the checks the odd-state
// tests share (no stack trace; a commit on a ref `git log --all` shows).

import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { coven, sh, tempDir } from './repo.js';
import { covenRepo, issueFile } from './coven-repo.js';
import { fakeClaudeEnv, type FakeRun, type FakeStep } from './fake-claude.js';

export const plan = (...steps: FakeStep[]): FakeRun[] => [
  { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  { match: { promptIncludes: 'Plan the issue' }, steps: [...steps, { text: 'Done.' }] },
];
export const noStack = (text: string) => assert.not.match(text, /\n\s+at |TypeError|Error: /, `a stack trace was printed:\n${text}`);

/** The plan agent, allowed any shell command (its operations need `||` and `&&`). */
const shellPlan = `---
description: plans in a shell
args:
  - name: issue
    description: the issue
claude_args: ["--allowedTools=Bash,Read,Edit,Write"]
---
Plan the issue in {{issue}}.
`;
export const repoWithIssue = () => covenRepo({ 'issues/a.md': issueFile('Fix a'), '.coven/agents/plan.md': shellPlan });

/** One worker cycle (`--once`, named w1) with this script; never a stack trace. */
export async function once(repo: string, script: FakeRun[]) {
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  noStack(r.stdout + r.stderr);
  return { r, env, out: r.stdout + r.stderr };
}

/** Every commit whose subject is `subject` is on a ref `git log --all` shows (not only in a reflog). */
export async function onARef(repo: string, subject: string): Promise<void> {
  const all = await sh(repo, 'log', '--all', '--format=%s');
  assert.match(all, new RegExp(`^${subject}$`, 'm'), `"${subject}" is on no ref`);
}

export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

export const commitPlan: FakeStep[] = [{ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }];
