// real-cli-opencode — whole `coven worker` cycles through the real opencode CLI (pinned,
// 1.18.33) against the scripted chat completions mock, every agent file saying
// `cli: opencode`. The workers' own PWD names the main checkout (opencode takes its
// directory from $PWD).
//
// Worker b dispatches and its agent starts, but the model takes its time. Meanwhile
// worker a runs a whole cycle: its dispatch answer names an agent that does not exist, so
// coven resumes the same opencode session with a correction; then its agent changes
// greeting.txt and commits it through opencode's own bash tool; a lands. Then b's agent
// changes the same line and commits; its land stops on a rebase conflict; coven resumes
// b's opencode session from b's worktree; the model merges both lines and continues the
// rebase through bash; b lands.
//
//   env:  COVEN_REAL_CLI=1 (npm run test:real-cli) with COVEN_OPENCODE_BIN, or by hand
//         COVEN_REAL_CLI=1 COVEN_OPENCODE_BIN=<opencode> node dist/test/run-tests.js real-cli-opencode.test

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { coven, sh, tempDir, type Run } from './helpers/repo.js';
import { realCli, realCliTests } from './real-cli/gate.js';
import { bash, conversation, say, startMockChatApi, text, type ChatTurn, type Play } from './real-cli/mock-chat-api.js';
import { opencodeEnv } from './real-cli/run-opencode.js';

for (const k of Object.keys(process.env)) if (k.startsWith('OPENCODE_')) delete process.env[k];

const cli = await realCli('opencode', 'run worker cycles through the real opencode CLI');
const realTest = realCliTests('real-cli-opencode', cli);

const agents = {
  '.coven/agents/dispatch.md': `---\ndescription: chooses the next job\ncli: opencode\n---\nChoose the next job for this worker: run \`coven issues\`, take an issue no other worker has, answer with a <dispatch> block.\n`,
  '.coven/agents/implement.md': `---\ndescription: implements one issue\ncli: opencode\nargs:\n  - name: issue\n    description: path of the issue file\n---\nImplement the issue in {{issue}}, then commit your work with git.\n`,
};
const files = { ...agents, 'issues/a.md': issueFile('Greet from a', 'approved'), 'issues/b.md': issueFile('Greet from b', 'approved'), 'greeting.txt': 'hello\n' };

const DISPATCH = 'Choose the next job for this worker';
const CORRECTION = 'no agent named "deploy"';
const IMPLEMENT = (issue: string): string => `Implement the issue in ${issue}`;
const CONFLICT = 'stopped on a rebase conflict';
const choose = (issue: string): string => `${issue} is free; taking it.\n<dispatch>\nagent: implement\nissue: ${issue}\n</dispatch>`;
const greet = (who: string): string => `printf 'hello from ${who}\\n' > greeting.txt && git add greeting.txt && git commit -q -m '${who}: greeting'`;
const MERGE = "printf 'hello from a\\nhello from b\\n' > greeting.txt && git add greeting.txt && git -c core.editor=true rebase --continue";

async function until(ready: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) return false;
    await delay(100);
  }
  return true;
}

function plays(gate: string): Play[] {
  const inWorktree = (worker: string) => (t: ChatTurn): boolean => (t.cwd ?? '').endsWith(`/coven/${worker}`);
  return [
    // a's first answer names no agent coven has: the correction resumes the same session
    { when: (t) => t.prompt.includes(CORRECTION), replies: [say(text(choose('issues/a.md')))] },
    { when: (t) => t.prompt.includes(DISPATCH) && inWorktree('a')(t), replies: [say(text('Deploying.\n<dispatch>\nagent: deploy\n</dispatch>'))] },
    { when: (t) => t.prompt.includes(DISPATCH) && inWorktree('b')(t), replies: [say(text(choose('issues/b.md')))] },
    { when: IMPLEMENT('issues/a.md'), replies: [say(text('Committing.'), bash(greet('a'), 'commit the greeting')), say(text('Committed greeting.txt.'))] },
    {
      when: IMPLEMENT('issues/b.md'),
      replies: [
        async () => {
          await until(() => existsSync(gate), 400_000);
          return say(text('Committing.'), bash(greet('b'), 'commit the greeting'));
        },
        say(text('Committed greeting.txt.')),
      ],
    },
    { when: CONFLICT, replies: [say(text('Keeping both.'), bash(MERGE, 'merge and continue the rebase')), say(text('Resolved; the rebase is finished.'))] },
  ];
}

function phaseOf(repo: string, worker: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(repo, '.git', 'coven', 'workers', `${worker}.json`), 'utf8')) as { phase?: string }).phase ?? null;
  } catch {
    return null;
  }
}

const show = (r: Run): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

realTest('real opencode: a dispatch corrected by resume, a commit through its bash tool that lands, a conflict resolved by resuming the same session', async () => {
  assert.ok(cli.kind === 'run');
  if (cli.kind !== 'run') return;
  const gate = join(tempDir('coven-gate-'), 'open');
  const api = await startMockChatApi(conversation(plays(gate)));
  try {
    const repo = await covenRepo(files);
    const base = tempDir('coven-wt-');
    const env = { ...opencodeEnv(api, tempDir('coven-opencode-')), COVEN_OPENCODE: cli.bin, COVEN_WORKTREE_BASE: base, PWD: repo };
    const worker = (name: string): Promise<Run> => coven(['worker', '--once', '--name', name, '--timeout', '8'], { cwd: repo, env, timeoutMs: 900_000 });
    let bDone: Run | null = null;
    const b = worker('b').then((r) => (bDone = r));
    let a: Run;
    try {
      await until(() => bDone !== null || phaseOf(repo, 'b') === 'running', 300_000);
      assert.is(phaseOf(repo, 'b'), 'running', `worker b never reached its agent: ${bDone ? show(bDone) : 'still running'}`);
      a = await worker('a');
    } finally {
      writeFileSync(gate, '');
    }
    const bRun = await b;
    assert.is(a.code, 0, `worker a\n${show(a)}`);
    assert.is(bRun.code, 0, `worker b\n${show(bRun)}`);
    assert.match(a.stdout, /landed 1 commit\(s\) on main/);
    assert.match(bRun.stdout, /conflict resolved in 1 round\(s\)/);
    assert.equal((await sh(repo, 'log', '--format=%s', 'main')).split('\n'), ['b: greeting', 'a: greeting', 'coven agents', 'initial commit']);
    assert.is(await sh(repo, 'show', 'main:greeting.txt'), 'hello from a\nhello from b');
    assert.is(await sh(repo, 'status', '--porcelain'), '', 'the main checkout was not worked in');

    const turns = api.agentTurns();
    // the correction went to a's dispatch session: its history carries the first prompt and answer
    const correction = turns.find((t) => t.prompt.includes(CORRECTION));
    assert.ok(correction, 'the correction reached the model');
    const history = JSON.stringify(correction!.request.messages);
    assert.ok(history.includes(DISPATCH) && history.includes('agent: deploy'), 'the correction resumed the dispatch session');
    assert.ok(correction!.cwd?.endsWith('/coven/a'));
    // the resolution resumed b's job session in b's worktree
    const resolve = turns.filter((t) => t.prompt.includes(CONFLICT));
    assert.ok(resolve.length >= 1);
    for (const t of resolve) assert.is(t.cwd, join(base, 'project', 'coven', 'b'));
    const resolveHistory = JSON.stringify(resolve[0]!.request.messages);
    assert.ok(resolveHistory.includes(IMPLEMENT('issues/b.md')), 'the resumed request carries b\'s first prompt');
    assert.ok(resolveHistory.includes("b: greeting"), 'and its commit command');
    // every agent session worked in a worktree, never in the main checkout
    for (const t of turns) assert.match(t.cwd ?? '', /\/coven\/(a|b)$/);
  } finally {
    await api.close();
  }
});

test.run();
