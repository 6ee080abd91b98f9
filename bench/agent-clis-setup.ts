// agent-clis-setup — for the agent-clis bench: per CLI, its local mock of the model API
// (the start functions of test/real-cli/mock-*.ts) scripted for one turn ("say hi" →
// "hi"), an isolated HOME, the CLI's adapter (the command line coven gives it, and the
// parser that says which line is its result) and the env the session runner needs.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliAdapter, CliName } from '../scripts/lib/clis/adapter.js';
import { codexAdapter } from '../scripts/lib/clis/codex.js';
import { geminiAdapter } from '../scripts/lib/clis/gemini.js';
import { opencodeAdapter } from '../scripts/lib/clis/opencode.js';
import { claudeAdapter } from '../scripts/lib/clis/claude.js';
import * as messages from '../test/real-cli/mock-messages-api.js';
import * as responses from '../test/real-cli/mock-responses-api.js';
import * as geminiApi from '../test/real-cli/mock-gemini-api.js';
import * as chat from '../test/real-cli/mock-chat-api.js';
import { claudeEnv } from '../test/real-cli/run-claude.js';
import { geminiEnv } from '../test/real-cli/run-gemini.js';
import { opencodeEnv } from '../test/real-cli/run-opencode.js';
import { tempDir } from '../test/helpers/repo.js';

/** The prompt of the one-turn session, and what the mock answers. */
export const PROMPT = 'say hi';
export const ANSWER = 'hi';

/** How the CLI is started for one session, as coven starts it. */
export interface Start {
  args: string[];
  /** written to stdin, which is then closed (a steering CLI: closed at the result); null: /dev/null */
  stdin: string | null;
  keepStdinOpen: boolean;
  env: Record<string, string>;
  /** whether a stdout line is the CLI's result (null: it has none; the exit is the result) */
  isResult: ((line: string) => boolean) | null;
}

/** One CLI ready to bench: its mock is running. */
export interface Setup {
  /** the CLI's environment (mock url, isolated HOME, COVEN_<CLI> = the binary) */
  env: NodeJS.ProcessEnv;
  start: (cwd: string) => Start;
  close: () => Promise<void>;
}

export interface BenchCli {
  cli: CliName;
  setup: (bin: string) => Promise<Setup>;
}

/** The start of a CLI with an adapter: its command, and its parser to find the result. */
function adapterStart(adapter: CliAdapter, cwd: string, hasResult: boolean): Start {
  const c = adapter.command({ cwd, prompt: PROMPT, args: [] });
  const parser = adapter.parser();
  return { ...c, isResult: hasResult ? (line) => parser.line(line).some((e) => e.kind === 'result') : null };
}

/** Only the parent's environment without a vendor's keys or endpoints. */
function cleanEnv(drop: RegExp): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!drop.test(k)) env[k] = v;
  return env;
}

const claude: BenchCli = {
  cli: 'claude',
  async setup(bin) {
    const api = await messages.startMockMessagesApi(messages.conversation([{ when: PROMPT, replies: [messages.say(messages.text(ANSWER))] }]));
    const env = claudeEnv(api.url, tempDir('coven-bench-home-'), { COVEN_CLAUDE: bin });
    return { env, start: (cwd) => adapterStart(claudeAdapter, cwd, true), close: () => api.close() };
  },
};

const codex: BenchCli = {
  cli: 'codex',
  async setup(bin) {
    const api = await responses.startMockResponsesApi(responses.conversation([{ when: PROMPT, replies: [responses.say(responses.text(ANSWER))] }]));
    const home = tempDir('coven-bench-home-');
    mkdirSync(join(home, '.codex'));
    writeFileSync(join(home, '.codex', 'config.toml'), responses.codexConfig(api.baseUrl));
    const env = { ...cleanEnv(/^(OPENAI_|CODEX_)/), HOME: home, CODEX_HOME: join(home, '.codex'), MOCK_OPENAI_KEY: 'mock-key', COVEN_CODEX: bin };
    return { env, start: (cwd) => adapterStart(codexAdapter, cwd, true), close: () => api.close() };
  },
};

const gemini: BenchCli = {
  cli: 'gemini',
  async setup(bin) {
    const api = await geminiApi.startMockGeminiApi(geminiApi.conversation([{ when: PROMPT, replies: [geminiApi.say(geminiApi.text(ANSWER))] }]));
    const env = geminiEnv(api.url, tempDir('coven-bench-home-'), { COVEN_GEMINI: bin });
    return { env, start: (cwd) => adapterStart(geminiAdapter, cwd, true), close: () => api.close() };
  },
};

const opencode: BenchCli = {
  cli: 'opencode',
  async setup(bin) {
    const api = await chat.startMockChatApi(chat.conversation([{ when: PROMPT, replies: [chat.say(chat.text(ANSWER))] }]));
    // opencodeEnv points npm_config_registry at a dead loopback port (opencode installs packages in a fresh HOME)
    const env = { ...cleanEnv(/^(OPENCODE_|OPENAI_|npm_config_)/), ...opencodeEnv(api, tempDir('coven-bench-opencode-')), COVEN_OPENCODE: bin };
    return { env, start: (cwd) => adapterStart(opencodeAdapter, cwd, false), close: () => api.close() };
  },
};

/** The CLIs the bench knows how to run, by name. */
export const BENCH_CLIS: Record<CliName, BenchCli> = { claude, codex, gemini, opencode };
