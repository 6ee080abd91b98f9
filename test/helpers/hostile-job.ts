// hostile-job — one worker job (`coven worker --once`) whose agent runs whatever shell
// commands a test scripts, with the permissions a human may give a trusted agent
// (`Bash`, Read, Edit, Write). The adversarial-agent tests start here.

import * as assert from 'uvu/assert';
import { coven, tempDir, type Run } from './repo.js';
import { covenRepo, issueFile, writeFiles } from './coven-repo.js';
import { fakeClaudeEnv, type FakeClaudeEnv, type FakeRun, type FakeStep } from './fake-claude.js';

/** An agent that may run any shell command. */
export const shellAgent = `---
description: does anything in a shell
args:
  - name: issue
    description: the issue
claude_args: ["--allowedTools=Bash,Read,Edit,Write"]
---
Work on the issue in {{issue}} in a shell.
`;

/** A coven repository with the shell agent and one issue, plus `extra` files, all committed. */
export async function shellRepo(extra: Record<string, string> = {}): Promise<string> {
  return covenRepo({ '.coven/agents/shell.md': shellAgent, 'issues/a.md': issueFile('Fix a'), ...extra });
}

/** Dispatch chooses the shell agent once; its session runs `steps` (then says "Done."). */
export function shellJob(steps: FakeStep[], run: Partial<FakeRun> = {}): FakeRun[] {
  return [
    { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: shell\nissue: issues/a.md\n</dispatch>' }] },
    { match: { promptIncludes: 'Work on the issue' }, ...run, steps: [...steps, { text: 'Done.' }] },
  ];
}

export const noStack = (text: string): void => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);

/** `coven worker --once --name w1` with this fake script; fails the test on a stack trace. */
export async function workerOnce(repo: string, script: FakeRun[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ r: Run; env: FakeClaudeEnv & { COVEN_WORKTREE_BASE: string }; out: string }> {
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env: { ...env, ...extraEnv } });
  const out = r.stdout + r.stderr;
  noStack(out);
  return { r, env, out };
}

export { writeFiles };
