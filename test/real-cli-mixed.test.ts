// real-cli-mixed — one worker, three real CLIs, each against its own scripted mock API:
// dispatch runs on Gemini CLI; the job's agent says `cli: [codex, opencode]`; Codex
// writes a file, then its API answers 429 insufficient_quota; coven stops it, and the job
// goes on with opencode in the same worktree, told what Codex did and left; opencode
// commits through its own bash tool, and the commit lands on main.
//
//   env:  COVEN_REAL_CLI=1 (npm run test:real-cli) with COVEN_GEMINI_BIN, COVEN_CODEX_BIN
//         and COVEN_OPENCODE_BIN, else skipped (real-cli/gate.ts)

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { coven, sh, tempDir } from './helpers/repo.js';
import { realClis, realCliTests } from './real-cli/gate.js';
import * as gemini from './real-cli/mock-gemini-api.js';
import * as responses from './real-cli/mock-responses-api.js';
import * as chat from './real-cli/mock-chat-api.js';
import { geminiEnv } from './real-cli/run-gemini.js';
import { codexEnv } from './real-cli/run-codex.js';
import { opencodeEnv } from './real-cli/run-opencode.js';

// nothing from a real account may reach the CLIs (coven passes its env on to sessions)
for (const k of Object.keys(process.env)) if (/^(GEMINI_|GOOGLE_|OPENAI_|CODEX_|OPENCODE_)/.test(k)) delete process.env[k];

const clis = await realClis(['gemini', 'codex', 'opencode'], 'run one worker across the real Gemini CLI, Codex and opencode');
const realTest = realCliTests('real-cli-mixed', clis);

const DISPATCH = 'Choose the next job for this worker';
const IMPLEMENT = 'Implement the issue in issues/a.md';
const agents = {
  '.coven/agents/dispatch.md': `---\ndescription: chooses the next job\ncli: gemini\n---\n${DISPATCH}: run \`coven issues\`, answer with a <dispatch> block.\n`,
  '.coven/agents/implement.md': `---\ndescription: implements one issue\nargs:\n  - name: issue\n    description: path of the issue file\ncli: [codex, opencode]\n---\nImplement the issue in {{issue}}, then commit your work with git.\n`,
};
const CHOOSE = 'Taking issues/a.md.\n<dispatch>\nagent: implement\nissue: issues/a.md\n</dispatch>';

realTest('dispatch on Gemini CLI, the job on Codex until its quota runs out, then on opencode in the same worktree: the commit lands', async () => {
  if (clis.kind !== 'run') throw new Error('no CLIs');
  const bins = clis.bins;
  const dispatchApi = await gemini.startMockGeminiApi(gemini.conversation([{ when: DISPATCH, replies: [gemini.say(gemini.text(CHOOSE))] }]));
  const codexApi = await responses.startMockResponsesApi(
    responses.conversation([{ when: IMPLEMENT, replies: [responses.say(responses.text('Translating.'), responses.exec("printf 'bonjour\\n' > greeting.txt")), responses.quotaError()] }]),
  );
  const opencodeApi = await chat.startMockChatApi(
    chat.conversation([{ when: IMPLEMENT, replies: [chat.say(chat.bash("git add -A && git commit -q -m 'a: greet in French'", 'commit')), chat.say(chat.text('Committed.'))] }]),
  );
  try {
    const repo = await covenRepo({ ...agents, 'issues/a.md': issueFile('Greet in French'), 'greeting.txt': 'hello\n' });
    const dir = tempDir('coven-mixed-');
    const home = join(dir, 'home');
    const base = tempDir('coven-wt-');
    const env: NodeJS.ProcessEnv = {
      ...geminiEnv(dispatchApi.url, home),
      ...codexEnv(codexApi.baseUrl, home),
      ...opencodeEnv(opencodeApi, dir),
      COVEN_GEMINI: bins.gemini,
      COVEN_CODEX: bins.codex,
      COVEN_OPENCODE: bins.opencode,
      COVEN_WORKTREE_BASE: base,
    };
    const started = Date.now();
    const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env, timeoutMs: 280_000 });
    const out = `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
    assert.is(r.code, 0, out);
    assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'a: greet in French', out);
    assert.is(readFileSync(join(repo, 'greeting.txt'), 'utf8'), 'bonjour\n', "Codex's change, committed by opencode, is on main");

    // the dispatch ran on Gemini CLI
    assert.ok(dispatchApi.agentTurns().some((t) => t.prompt.includes(DISPATCH)), 'Gemini CLI answered the dispatch');
    // Codex worked in the worktree, then was refused for quota: one call after its command, no more
    const codexTurns = codexApi.agentTurns();
    assert.is(codexTurns.length, 2, 'the command, then the call answered with the quota error');
    assert.is(codexTurns[0]!.cwd, join(base, 'project', 'coven', 'w1'), 'Codex worked in the worktree');
    // opencode took over in the same worktree, told what Codex did and left
    const takeover = opencodeApi.agentTurns();
    assert.ok(takeover.length >= 1, out);
    assert.match(takeover[0]!.prompt, /A Codex session worked on this before and stopped because its quota ran out/);
    assert.match(takeover[0]!.prompt, /its uncommitted changes \(greeting\.txt\) are kept in this worktree/);
    assert.is(takeover[0]!.cwd, join(base, 'project', 'coven', 'w1'), 'opencode worked in the same worktree');
    // the worker said which CLI ran and why it changed
    assert.match(out, /on opencode \(codex refused: quota\)/);
    assert.match(out, /landed 1 commit\(s\) on main/);
    process.stdout.write(`    (mixed run: ${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
  } finally {
    await Promise.all([dispatchApi.close(), codexApi.close(), opencodeApi.close()]);
  }
});

test.run();
