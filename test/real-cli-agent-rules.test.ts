// real-cli-agent-rules — the permission rules the agents declare (`claude_args` of
// templates/agents/*.md and of this repository's .coven/agents/*.md) do what the
// prompts and .coven/workflow.md promise, in the real Claude Code CLI: a scripted
// model tries a set of commands and the CLI's `permission_denials` must be exactly
// the ones the rules forbid (git push everywhere, edits in dispatch, installs, …).
// Each session runs with coven's session flags (acceptEdits) followed by the agent's
// claude_args, and no other --allowedTools: a blanket `--allowedTools=Bash` from the
// session runner would allow every command and leave only the deny rules standing.
// (acceptEdits itself lets plain file commands such as rm, mv, mkdir run inside the
// worktree; dispatch turns that off with --permission-mode=dontAsk.)
//
//   env:  COVEN_REAL_CLI=1 to run (`npm run test:real-cli`); otherwise skipped (see real-cli/gate.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadRegistry, parseAgentFile, type AgentDef } from '../scripts/lib/agents/registry.js';
import { projectRoot, tempDir, tempRepo } from './helpers/repo.js';
import { realCli, realCliTests } from './real-cli/gate.js';
import { bash, conversation, say, startMockMessagesApi, text, writeFile, type MockApi, type Play } from './real-cli/mock-messages-api.js';
import { claudeEnv, runClaude, type ClaudeRun } from './real-cli/run-claude.js';

/** coven's session flags without any --allowedTools: the agent's claude_args decide. */
const BASE_ARGS = ['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json', '--permission-mode', 'acceptEdits'];

// a check that was asked for (COVEN_REAL_CLI=1) fails unless the registry is unreachable (real-cli/gate.ts)
const cli = await realCli('claude', 'run these against the real Claude Code CLI');
const realTest = realCliTests('real-cli-agent-rules', cli);

/** What each agent must be allowed, and refused, to run. */
interface Expectation {
  allowed: string[];
  denied: string[];
}
const everyone: Expectation = { allowed: ['git log -1 --format=%s'], denied: ['git push origin main', 'curl -s http://127.0.0.1:9/'] };
const expectations: Record<string, Record<string, Expectation>> = {
  'templates/agents': {
    dispatch: { allowed: ['coven issues', 'cat README.md'], denied: ['git commit --allow-empty -m dispatch-commits', 'npm test', 'touch dispatch-touched.txt', 'rm README.md'] },
    plan: { allowed: ['coven issues', 'git mv issues/a.md review/a.md'], denied: ['npm test'] },
    implement: { allowed: ['npm test', 'make test', 'pytest -q', 'cargo test', 'go test ./...'], denied: ['npm install left-pad', 'node -e 1'] },
    audit: { allowed: ['coven issues', 'npm test'], denied: ['npm install left-pad', 'node -e 1'] },
  },
  '.coven/agents': {
    dispatch: { allowed: ['coven issues', 'cat README.md'], denied: ['git commit --allow-empty -m dispatch-commits', 'npm test', 'touch dispatch-touched.txt', 'rm README.md'] },
    plan: { allowed: ['coven issues', 'git mv issues/a.md review/a.md'], denied: ['npm test'] },
    implement: { allowed: ['npm test', 'npm run build', 'node dist/test/run-tests.js init'], denied: ['npm install left-pad', 'make test'] },
    audit: { allowed: ['coven issues', 'npm test'], denied: ['npm install left-pad', 'node -e 1'] },
  },
};

function templateAgents(): AgentDef[] {
  const dir = join(projectRoot, 'templates', 'agents');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .flatMap((f) => {
      const r = parseAgentFile(f, readFileSync(join(dir, f), 'utf8'));
      return r.kind === 'agent' ? [r.agent] : [];
    });
}

const promptOf = (where: string, agent: string) => `permission check: ${where}/${agent}`;
const commandsOf = (e: Expectation) => [...everyone.allowed, ...e.allowed, ...everyone.denied, ...e.denied];

let api: MockApi | null = null;
let env: NodeJS.ProcessEnv = {};
let claude = '';

if (cli.kind === 'run') {
  claude = cli.bin;
  test.before(async () => {
    const plays: Play[] = [];
    for (const [where, agents] of Object.entries(expectations)) {
      for (const [agent, e] of Object.entries(agents)) {
        const calls = commandsOf(e).map((c) => bash(c, `try ${c}`));
        // dispatch also tries to write a file: its Write tool must not exist
        if (agent === 'dispatch') calls.push(writeFile('dispatch-wrote-this.txt', 'no'));
        plays.push({ when: promptOf(where, agent), replies: [say(text('Trying the commands.'), ...calls), say(text('Done.'))] });
      }
    }
    api = await startMockMessagesApi(conversation(plays));
    env = claudeEnv(api.url, tempDir('coven-claude-home-'));
  });
  test.after(async () => {
    await api?.close();
  });
}

function deniedCommands(r: ClaudeRun): string[] {
  const denials = (r.result?.permission_denials ?? []) as { tool_name: string; tool_input: { command?: string } }[];
  return denials.filter((d) => d.tool_name === 'Bash').map((d) => d.tool_input.command ?? '').sort();
}

async function check(where: string, agent: AgentDef): Promise<void> {
  const e = expectations[where]?.[agent.name];
  assert.ok(e, `no expectation for ${where}/${agent.name}`);
  if (!e || !api) return;
  const repo = await tempRepo('agent-rules');
  const r = await runClaude({ claude, cwd: repo, env, prompt: promptOf(where, agent.name), sessionArgs: [...BASE_ARGS, ...agent.claudeArgs], timeoutMs: 120_000 });
  const what = `${where}/${agent.name}: exit ${r.code}, result ${JSON.stringify(r.result?.result ?? r.result?.errors)}, stderr ${JSON.stringify(r.stderr.slice(0, 300))}`;
  assert.is(r.result?.subtype, 'success', what);
  assert.equal(deniedCommands(r), [...everyone.denied, ...e.denied].sort(), `${what}: denied commands`);
  if (agent.name === 'dispatch') {
    const turn = api.agentTurns().find((t) => t.prompt === promptOf(where, agent.name));
    assert.ok(turn, `${where}/dispatch reached the model`);
    for (const tool of ['Edit', 'Write', 'NotebookEdit']) assert.not.ok(turn?.tools.includes(tool), `${where}/dispatch is offered ${tool}`);
    assert.not.ok(existsSync(join(repo, 'dispatch-wrote-this.txt')), `${where}/dispatch wrote a file`);
    assert.ok(existsSync(join(repo, 'README.md')), `${where}/dispatch removed a file`);
  }
}

realTest('the template agents may run what their prompts need, and are refused git push, installs and the rest', async () => {
  const agents = templateAgents();
  assert.is(agents.length, 4);
  for (const agent of agents) await check('templates/agents', agent);
});

realTest("this repository's own agents may run what their prompts need, and are refused the rest", async () => {
  const registry = await loadRegistry(projectRoot);
  assert.is(registry.agents.length, 4);
  for (const agent of registry.agents) await check('.coven/agents', agent);
});

test.run();
