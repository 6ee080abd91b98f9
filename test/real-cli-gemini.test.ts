// real-cli-gemini — coven driving the real Gemini CLI (0.61.0, pinned) against the
// scripted mock Gemini API (real-cli/mock-gemini-api.ts), with an isolated HOME:
//   1. a `coven worker --once` cycle: dispatch and the job on Gemini CLI; the model
//      commits through the CLI's own shell tool (run_shell_command), and coven lands it;
//   2. `coven dispatch` on Gemini CLI: an invalid first answer is corrected by resuming
//      the same session (the corrective request carries the first prompt);
//   3. a conflict: while the job runs, the user commits the same line on main; the land
//      stops on the rebase conflict and coven resumes the job's session, from the same
//      worktree, and the model merges and finishes the rebase; both changes are on main.
//
//   env:  COVEN_REAL_CLI=1 (npm run test:real-cli, which sets COVEN_GEMINI_BIN), or by hand
//         COVEN_REAL_CLI=1 COVEN_GEMINI_BIN=<gemini> node dist/test/run-tests.js real-cli-gemini.test

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { coven, commitFile, sh, tempDir } from './helpers/repo.js';
import { realCli, realCliTests } from './real-cli/gate.js';
import { conversation, say, shell, startMockGeminiApi, text, type MockGeminiApi, type Play, type Turn } from './real-cli/mock-gemini-api.js';
import { geminiEnv } from './real-cli/run-gemini.js';

// nothing from a real account may reach the CLI (coven passes its env on to sessions)
for (const k of Object.keys(process.env)) if (/^(GEMINI_|GOOGLE_)/.test(k)) delete process.env[k];

const cli = await realCli('gemini', 'run coven through the real Gemini CLI');
const realTest = realCliTests('real-cli-gemini', cli);

const DISPATCH = 'Choose the next job for this worker';
const IMPLEMENT = 'Implement the issue in issues/a.md';
const CONFLICT = 'rebase conflict';

const agents = {
  '.coven/agents/dispatch.md': `---\ndescription: chooses the next job\ncli: gemini\n---\n${DISPATCH}: run \`coven issues\`, answer with a <dispatch> block.\n`,
  '.coven/agents/implement.md': `---\ndescription: implements one issue\nargs:\n  - name: issue\n    description: path of the issue file\ncli: gemini\n---\nImplement the issue in {{issue}}, then commit your work with git.\n`,
};

const CHOOSE = 'Taking issues/a.md.\n<dispatch>\nagent: implement\nissue: issues/a.md\n</dispatch>';

/** The repository, the mock and the env of a worker on the real Gemini CLI. */
async function setup(plays: Play[]): Promise<{ repo: string; api: MockGeminiApi; env: NodeJS.ProcessEnv; base: string }> {
  if (cli.kind !== 'run') throw new Error('no gemini');
  const repo = await covenRepo({ ...agents, 'issues/a.md': issueFile('Greet in French'), 'greeting.txt': 'hello\n' });
  const api = await startMockGeminiApi(conversation(plays));
  const base = tempDir('coven-wt-');
  const env = { ...geminiEnv(api.url, join(tempDir('coven-gemini-'), 'home')), COVEN_GEMINI: cli.bin, COVEN_WORKTREE_BASE: base };
  return { repo, api, env, base };
}

const said = (t: Turn, what: string): boolean => t.prompt.includes(what);

realTest('a worker cycle on the real Gemini CLI: dispatch, a commit through its shell tool, and the land', async () => {
  const s = await setup([
    { when: (t) => said(t, DISPATCH), replies: [say(text('Looking.'), shell('coven issues', 'list the issues')), say(text(CHOOSE))] },
    { when: (t) => said(t, IMPLEMENT), replies: [say(shell("printf 'bonjour\\n' > greeting.txt && git add greeting.txt && git commit -q -m 'a: greet in French'", 'commit')), say(text('Committed.'))] },
  ]);
  try {
    const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: s.repo, env: s.env, timeoutMs: 240_000 });
    assert.is(r.code, 0, r.stderr + r.stdout);
    assert.is(await sh(s.repo, 'log', '-1', '--format=%s', 'main'), 'a: greet in French');
    assert.is(readFileSync(join(s.repo, 'greeting.txt'), 'utf8'), 'bonjour\n');
    const job = s.api.agentTurns().filter((t) => said(t, IMPLEMENT));
    assert.is(job[0]?.cwd, join(s.base, 'project', 'coven', 'w1'), 'the job ran in the worker\'s worktree');
    assert.ok(job[1]?.functionResponses.some((f) => f.name === 'run_shell_command'), 'the commit went through the CLI\'s shell tool');
    const listed = s.api.agentTurns().find((t) => said(t, DISPATCH) && t.step === 1);
    assert.ok(listed?.functionResponses[0]?.output.includes('issues/a.md'), 'coven issues ran through the shell tool');
  } finally {
    await s.api.close();
  }
});

realTest('a dispatch on the real Gemini CLI: an invalid answer is corrected by resuming the same session', async () => {
  const s = await setup([
    { when: (t) => said(t, 'no agent named "deploy"'), replies: [say(text(CHOOSE))] },
    { when: (t) => said(t, DISPATCH), replies: [say(text('<dispatch>\nagent: deploy\n</dispatch>'))] },
  ]);
  try {
    const out = join(tempDir(), 'decision.json');
    const r = await coven(['dispatch', '--out', out, '--worker', 'w1'], { cwd: s.repo, env: s.env, timeoutMs: 180_000 });
    assert.is(r.code, 0, r.stderr + r.stdout);
    const decision = JSON.parse(readFileSync(out, 'utf8')) as { agent: string; corrections: number };
    assert.equal([decision.agent, decision.corrections], ['implement', 1]);
    const correction = s.api.agentTurns().find((t) => said(t, 'no agent named "deploy"'));
    assert.ok(correction, 'the corrective prompt reached the model');
    const history = JSON.stringify(correction.request.contents);
    assert.ok(history.includes(DISPATCH) && history.includes('agent: deploy'), 'it resumed the same session: the first prompt and answer came along');
    assert.is(correction.cwd, s.repo);
  } finally {
    await s.api.close();
  }
});

realTest('a conflict with the user\'s commit is resolved by resuming the same Gemini session from the same worktree', async () => {
  let userCommitted = false;
  const s = await setup([
    { when: (t) => said(t, DISPATCH), replies: [say(text(CHOOSE))] },
    {
      when: (t) => said(t, CONFLICT),
      replies: [say(text('Keeping both.'), shell("printf 'bonjour\\nhallo\\n' > greeting.txt && git add greeting.txt && git -c core.editor=true rebase --continue", 'merge')), say(text('Resolved.'))],
    },
    {
      when: (t) => said(t, IMPLEMENT),
      replies: [
        async () => {
          // meanwhile the user changes the same line on main
          if (!userCommitted) await commitFile(repoOf(), 'greeting.txt', 'hallo\n', 'user: greet in German');
          userCommitted = true;
          return say(shell("printf 'bonjour\\n' > greeting.txt && git add greeting.txt && git commit -q -m 'a: greet in French'", 'commit'));
        },
        say(text('Committed.')),
      ],
    },
  ]);
  const repoOf = (): string => s.repo;
  try {
    const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: s.repo, env: s.env, timeoutMs: 300_000 });
    assert.is(r.code, 0, r.stderr + r.stdout);
    assert.is(await sh(s.repo, 'log', '--format=%s', '-2', 'main'), 'a: greet in French\nuser: greet in German');
    assert.is(await sh(s.repo, 'show', 'main:greeting.txt'), 'bonjour\nhallo');
    const resolution = s.api.agentTurns().find((t) => said(t, CONFLICT) && t.step === 0);
    assert.ok(resolution, 'the conflict reached the model');
    assert.is(resolution.cwd, join(s.base, 'project', 'coven', 'w1'), 'from the job\'s worktree');
    const history = JSON.stringify(resolution.request.contents);
    assert.ok(history.includes(IMPLEMENT) && history.includes('a: greet in French'), 'it resumed the job\'s session: its prompt and its commit came along');
  } finally {
    await s.api.close();
  }
});

test.run();
