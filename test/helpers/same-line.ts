// same-line — two workers whose jobs change the same line of greeting.txt, so that the
// second land stops on a rebase conflict. Used by the conflict-resolution and park tests.
//
// w1 implements issues/a.md, w2 issues/b.md (dispatch is routed by the worktree).
// The order is forced without timing: w2 commits first and then waits until main holds
// w1's commit; w1 commits only once w2's commit exists. So w2's branch always starts
// from the old main and its land conflicts with w1's landed commit.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { covenRepo, issueFile } from './coven-repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeInvocation, type FakeRun } from './fake-claude.js';
import { coven, sh, tempDir, type Run } from './repo.js';

export const ORIGINAL = 'hello\n';
export const A_LINE = 'bonjour\n';
export const B_LINE = 'hallo\n';
export const MERGED = 'bonjour\nhallo\n';
export const A_SUBJECT = 'a: greet in French';
export const B_SUBJECT = 'b: greet in German';

// the test agent may run any command (its scripted steps wait with shell loops)
export const implementAgent = (extraArgs: string[] = []): string => `---
description: implements one issue
args:
  - name: issue
    description: path of the issue file
claude_args: ${JSON.stringify(['--allowedTools=Bash,Read,Edit,Write', ...extraArgs])}
---
Implement the issue in {{issue}}.
`;

const choose = (worker: string, issue: string): FakeRun => ({
  match: { promptIncludes: 'Choose the next job', cwdIncludes: `/coven/${worker}` },
  steps: [{ text: `<dispatch>\nagent: implement\nissue: ${issue}\n</dispatch>` }],
});

/** The runs that bring both workers to the conflict; add the resolution runs after them. */
export function sameLineRuns(): FakeRun[] {
  return [
    choose('w1', 'issues/a.md'),
    choose('w2', 'issues/b.md'),
    {
      match: { promptIncludes: 'Implement the issue in issues/a.md' },
      steps: [
        { bash: `until git log --format=%s coven/w2 | grep -q '^b:'; do sleep 0.1; done` },
        { read: 'greeting.txt' },
        { write: { path: 'greeting.txt', content: A_LINE } },
        { commit: A_SUBJECT },
      ],
    },
    {
      match: { promptIncludes: 'Implement the issue in issues/b.md' },
      steps: [
        { read: 'greeting.txt' },
        { write: { path: 'greeting.txt', content: B_LINE } },
        { commit: B_SUBJECT },
        { bash: `until git log --format=%s main | grep -q '^a:'; do sleep 0.1; done` },
      ],
    },
  ];
}

/** A resolution run that really resolves: both lines, git add, rebase --continue. */
export const resolvingRun: FakeRun = {
  match: { promptIncludes: 'rebase conflict' },
  expect: { resume: true, cwdIncludes: '/coven/w2', historyIncludes: 'Implement the issue in issues/b.md', promptIncludes: ['greeting.txt', A_SUBJECT, B_SUBJECT, 'git -c core.editor=true rebase --continue'] },
  steps: [
    { read: 'greeting.txt' },
    { write: { path: 'greeting.txt', content: MERGED } },
    { bash: 'git add greeting.txt' },
    { bash: 'git -c core.editor=true rebase --continue' },
    { text: 'Kept both greetings.' },
  ],
};

export interface SameLine {
  repo: string;
  base: string;
  env: ReturnType<typeof fakeClaudeEnv> & { COVEN_WORKTREE_BASE: string };
  /** main's tip before either worker ran */
  start: string;
  worktree: (worker: string) => string;
}

export async function sameLineRepo(script: FakeRun[], opts: { agentArgs?: string[] } = {}): Promise<SameLine> {
  const repo = await covenRepo({
    '.coven/agents/implement.md': implementAgent(opts.agentArgs ?? []),
    'greeting.txt': ORIGINAL,
    'issues/a.md': issueFile('Greet in French', 'approved'),
    'issues/b.md': issueFile('Greet in German', 'approved'),
  });
  const base = tempDir('coven-wt-');
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: base, COVEN_RETRY_MS: '200', COVEN_SAFETY_INTERVAL_MS: '500' };
  return { repo, base, env, start: await sh(repo, 'rev-parse', 'main'), worktree: (w) => join(base, 'project', 'coven', w) };
}

/** Runs `coven worker --name <w> …args` for both workers at once. */
export function runBoth(s: SameLine, w1Args: string[], w2Args: string[]): Promise<[Run, Run]> {
  return Promise.all([
    coven(['worker', '--name', 'w1', ...w1Args], { cwd: s.repo, env: s.env, timeoutMs: 150_000 }),
    coven(['worker', '--name', 'w2', ...w2Args], { cwd: s.repo, env: s.env, timeoutMs: 150_000 }),
  ]);
}

// ---- for the park tests

/** A resolution that gives up: it resumes the session and changes nothing. */
export const failingRuns: FakeRun = { match: { promptIncludes: 'rebase conflict' }, expect: { resume: true }, times: 3, steps: [{ text: 'I could not merge these.' }] };
export const sleepRun: FakeRun = { match: { promptIncludes: 'Choose the next job' }, times: 'unlimited', steps: [{ text: '<dispatch>\nsleep: nothing left to do\n</dispatch>' }] };

/** main after w1 landed: exactly one commit (a) on top of the start. */
export async function mainHasOnlyA(s: SameLine): Promise<string> {
  assert.is(await sh(s.repo, 'log', '--format=%s', `${s.start}..main`), A_SUBJECT);
  return sh(s.repo, 'rev-parse', 'main');
}

export async function waitFor<T>(what: string, read: () => T | null | Promise<T | null>, timeoutMs = 90_000, explain: () => string = () => ''): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (v !== null) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${explain()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What the workers and the fake did so far, for a timeout message. */
export function explain(s: SameLine): string {
  const states = ['w1', 'w2'].map((w) => `${w}: ${phaseOf(s, w) ?? '(no state file)'}`).join(', ');
  const calls = readFakeLog(s.env).map((c) => `  ${c.cwd.split('/').pop()} exit ${c.exitCode} ${c.argv.includes('--resume') ? 'resume ' : ''}${(c.prompts[0] ?? '').split('\n')[0]!.slice(0, 80)}`);
  return `${states}\nfake sessions that ended:\n${calls.join('\n')}`;
}

export function phaseOf(s: SameLine, worker: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(s.repo, '.git', 'coven', 'workers', `${worker}.json`), 'utf8')) as { phase: string }).phase;
  } catch {
    return null;
  }
}

/**
 * The one conflict of the same-line scenario was resolved by resuming the session that
 * made issues/b.md's commit, from the same working directory. Returns the two calls.
 */
export function assertResolvedByResume(calls: FakeInvocation[]): { job: FakeInvocation; resolve: FakeInvocation } {
  const job = calls.find((c) => c.prompts[0]?.includes('Implement the issue in issues/b.md'));
  assert.ok(job, 'the job of issues/b.md ran');
  const resolves = calls.filter((c) => c.prompts[0]?.includes('rebase conflict'));
  assert.is(resolves.length, 1);
  const resolve = resolves[0]!;
  assert.is(resolve.cwd, job.cwd);
  assert.is(resolve.argv[resolve.argv.indexOf('--resume') + 1], job.sessionId);
  assert.is(resolve.sessionId, job.sessionId);
  return { job, resolve };
}
