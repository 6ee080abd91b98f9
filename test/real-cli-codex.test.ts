// real-cli-codex — coven through the real Codex CLI (pinned, installed into the cache)
// against the scripted mock Responses API: a `worker --once` cycle whose agent commits
// through Codex's own shell tool (exec_command) and lands; a dispatch on Codex whose
// first answer is invalid, corrected by resuming the same thread; a rebase conflict
// resolved by resuming the thread that wrote the change, from the same worktree. Dispatch
// for the worker runs is the fake Claude's (only the agents say `cli: codex`).
//
//   env:  COVEN_REAL_CLI=1 (npm run test:real-cli) with COVEN_CODEX_BIN, else skipped (real-cli/gate.ts)

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { assertFakeRunsOk, fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { coven, sh, tempDir, type Run } from './helpers/repo.js';
import { A_SUBJECT, B_SUBJECT, MERGED, ORIGINAL } from './helpers/same-line.js';
import { realCli, realCliTests } from './real-cli/gate.js';
import { conversation, exec, say, startMockResponsesApi, text, type MockResponsesApi, type Play, type Turn } from './real-cli/mock-responses-api.js';
import { codexEnv } from './real-cli/run-codex.js';

// nothing from a real account may reach the workers (coven passes its env on to sessions)
for (const k of Object.keys(process.env)) if (/^(OPENAI_|CODEX_)/.test(k)) delete process.env[k];

const cli = await realCli('codex', 'run coven through the real Codex CLI');
const realTest = realCliTests('real-cli-codex', cli);
const bin = cli.kind === 'run' ? cli.bin : '';

const codexAgent = (name: string, body: string): string => `---
description: ${name} on Codex
args:
  - name: issue
    description: path of the issue file
cli: codex
---
${body}
`;
const choose = (issue: string, worker?: string): FakeRun => ({
  match: { promptIncludes: 'Choose the next job', ...(worker ? { cwdIncludes: `/coven/${worker}` } : {}) },
  steps: [{ text: `<dispatch>\nagent: implement\nissue: ${issue}\n</dispatch>` }],
});
const show = (r: Run): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

async function until(what: string, ready: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}

/** The environment of a worker whose agents run the real Codex against `api` (dispatch: the fake Claude with `dispatch`). */
function env(api: MockResponsesApi, dispatch: FakeRun[] | null, base: string): NodeJS.ProcessEnv {
  return { ...codexEnv(api.baseUrl, tempDir('coven-codex-home-')), ...(dispatch ? fakeClaudeEnv(dispatch) : {}), COVEN_CODEX: bin, COVEN_WORKTREE_BASE: base };
}

realTest('a worker --once cycle: the agent on Codex commits through its shell tool, and the commit lands on main', async () => {
  const commit = "printf 'fixed\\n' > a.txt && git add -A && git commit -q -m 'fix a'";
  const api = await startMockResponsesApi(conversation([{ when: 'Implement the issue in issues/a.md', replies: [say(text('Fixing a.'), exec(commit)), say(text('Fixed a.'))] }]));
  try {
    const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a'), '.coven/agents/implement.md': codexAgent('implement', 'Implement the issue in {{issue}}, then commit it with git.') });
    const base = tempDir('coven-wt-');
    const e = env(api, [choose('issues/a.md')], base);
    const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env: e, timeoutMs: 240_000 });
    assert.is(r.code, 0, show(r));
    assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'fix a');
    assert.is(readFileSync(join(repo, 'a.txt'), 'utf8'), 'fixed\n');
    assertFakeRunsOk(e as ReturnType<typeof fakeClaudeEnv>);
    const turns = api.agentTurns();
    assert.is(turns.length, 2, 'the command, then the final text');
    assert.is(turns[0]!.cwd, join(base, 'project', 'coven', 'w1'), 'Codex worked in the worktree');
    assert.match(turns[1]!.toolOutputs[0]?.output ?? '', /Process exited with code 0/);
  } finally {
    await api.close();
  }
});

realTest('a dispatch on Codex whose first answer is invalid is corrected by resuming the same thread in the same folder', async () => {
  const plays: Play[] = [
    { when: 'no agent named "deploy"', replies: [say(text('<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>'))] },
    { when: 'Choose the next job', replies: [say(text('I looked.\n<dispatch>\nagent: deploy\n</dispatch>'))] },
  ];
  const api = await startMockResponsesApi(conversation(plays));
  try {
    const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a'), '.coven/agents/dispatch.md': '---\ndescription: chooses the next job\ncli: codex\n---\nChoose the next job. Run coven issues.\n' });
    const out = join(tempDir(), 'decision.json');
    const r = await coven(['dispatch', '--out', out, '--worker', 'w1'], { cwd: repo, env: env(api, null, tempDir('coven-wt-')), timeoutMs: 240_000 });
    assert.is(r.code, 0, show(r));
    const decision = JSON.parse(readFileSync(out, 'utf8')) as { agent: string; args: Record<string, string>; corrections: number };
    assert.equal([decision.agent, decision.args, decision.corrections], ['plan', { issue: 'issues/a.md' }, 1]);
    const [first, second] = api.agentTurns();
    assert.ok(first && second, `two model calls, got ${api.agentTurns().length}`);
    assert.is(second.sessionId, first.sessionId, 'the same thread');
    assert.ok(second.sessionId !== null);
    assert.is(second.cwd, first.cwd, 'from the same folder');
    assert.ok(second.prompts.some((p) => p.includes('Choose the next job')), 'the correction saw the first exchange');
  } finally {
    await api.close();
  }
});

realTest('a conflict is resolved by resuming the Codex thread that wrote the change, from the same worktree, and both changes land', async () => {
  const base = tempDir('coven-wt-');
  let repo = '';
  const log = async (ref: string): Promise<string> => sh(repo, 'log', '--format=%s', ref).catch(() => '');
  const write = (line: string, subject: string): string => `printf '${line}' > greeting.txt && git add greeting.txt && git commit -q -m '${subject}'`;
  const merge = "printf 'bonjour\\nhallo\\n' > greeting.txt && git add greeting.txt && git -c core.editor=true rebase --continue";
  const isJob = (issue: string) => (t: Turn) => t.prompt.includes(`Implement the issue in ${issue}`);
  // w2 commits first and waits (its model thinks) until w1's commit is on main; w1 commits only after w2 did
  const plays: Play[] = [
    { when: 'rebase conflict', replies: [say(text('Keeping both greetings.'), exec(merge)), say(text('Kept both greetings.'))] },
    {
      when: isJob('issues/a.md'),
      replies: [
        async () => {
          await until("w2's commit", async () => (await log('coven/w2')).includes('b:'));
          return say(exec(write('bonjour\\n', A_SUBJECT)));
        },
        say(text('Greeted in French.')),
      ],
    },
    {
      when: isJob('issues/b.md'),
      replies: [
        say(exec(write('hallo\\n', B_SUBJECT))),
        async () => {
          await until("w1's commit on main", async () => (await log('main')).includes('a:'));
          return say(text('Greeted in German.'));
        },
      ],
    },
  ];
  const api = await startMockResponsesApi(conversation(plays));
  try {
    repo = await covenRepo({
      '.coven/agents/implement.md': codexAgent('implement', 'Implement the issue in {{issue}}.'),
      'greeting.txt': ORIGINAL,
      'issues/a.md': issueFile('Greet in French', 'approved'),
      'issues/b.md': issueFile('Greet in German', 'approved'),
    });
    const start = await sh(repo, 'rev-parse', 'main');
    const e = { ...env(api, [choose('issues/a.md', 'w1'), choose('issues/b.md', 'w2')], base), COVEN_RETRY_MS: '200', COVEN_SAFETY_INTERVAL_MS: '500' };
    const worker = (name: string) => coven(['worker', '--once', '--name', name], { cwd: repo, env: e, timeoutMs: 300_000 });
    const [r1, r2] = await Promise.all([worker('w1'), worker('w2')]);
    assert.is(r1.code, 0, show(r1));
    assert.is(r2.code, 0, show(r2));
    assert.is(await sh(repo, 'log', '--format=%s', `${start}..main`), `${B_SUBJECT}\n${A_SUBJECT}`);
    assert.is(await sh(repo, 'show', 'main:greeting.txt'), MERGED.trim());
    const turns = api.agentTurns();
    const job = turns.find((t) => isJob('issues/b.md')(t))!;
    const resolve = turns.find((t) => t.prompt.includes('rebase conflict'))!;
    assert.ok(job && resolve, 'the job of b and its resolution ran on Codex');
    assert.is(resolve.sessionId, job.sessionId, 'the resolution resumed the thread of b');
    assert.is(resolve.cwd, join(base, 'project', 'coven', 'w2'), 'from the same worktree');
    assert.ok(resolve.prompts.some((p) => p.includes('Implement the issue in issues/b.md')), 'with the job in its history');
  } finally {
    await api.close();
  }
});

test.run();
