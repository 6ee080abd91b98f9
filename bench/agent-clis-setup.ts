// agent-clis-setup — for the agent-clis bench: per CLI, its local mock of the model API
// scripted for one turn ("say hi" → "hi"), an isolated HOME, the command line coven gives
// the CLI (to spawn it alone) and the session options that run the same through coven's
// session runner.

import { sessionArgs, userMessageLine, type SessionOptions } from '../scripts/lib/session/session-contract.js';
import type { CliName } from '../scripts/lib/clis/adapter.js';
import { conversation, say, startMockMessagesApi, text } from '../test/real-cli/mock-messages-api.js';
import { claudeEnv } from '../test/real-cli/run-claude.js';
import { tempDir } from '../test/helpers/repo.js';
import { geminiAdapter } from '../scripts/lib/clis/gemini.js';
import * as geminiApi from '../test/real-cli/mock-gemini-api.js';
import { geminiEnv } from '../test/real-cli/run-gemini.js';

/** The prompt of the one-turn session, and what the mock answers. */
export const PROMPT = 'say hi';
export const ANSWER = 'hi';

/** How to run the CLI alone. */
export interface Direct {
  command: string;
  args: string[];
  /** written to stdin (then closed at the result); undefined: stdin is /dev/null */
  stdin?: string;
  /** whether a parsed stdout line is the CLI's final result event */
  isResult: (event: unknown) => boolean;
}

/** One CLI ready to bench: its mock is running. */
export interface Setup {
  env: NodeJS.ProcessEnv;
  direct: (cwd: string) => Direct;
  session: (cwd: string) => SessionOptions;
  close: () => Promise<void>;
}

export interface BenchCli {
  cli: CliName;
  setup: (bin: string) => Promise<Setup>;
}

const typeIs = (event: unknown, type: string): boolean => !!event && typeof event === 'object' && (event as { type?: unknown }).type === type;

const claude: BenchCli = {
  cli: 'claude',
  async setup(bin) {
    const api = await startMockMessagesApi(conversation([{ when: PROMPT, replies: [say(text(ANSWER))] }]));
    const env = claudeEnv(api.url, tempDir('coven-bench-home-'), { COVEN_CLAUDE: bin });
    return {
      env,
      direct: () => ({ command: bin, args: sessionArgs({}), stdin: userMessageLine(PROMPT), isResult: (e) => typeIs(e, 'result') }),
      session: (cwd) => ({ cwd, prompt: PROMPT, env }),
      close: () => api.close(),
    };
  },
};

const gemini: BenchCli = {
  cli: 'gemini',
  async setup(bin) {
    const api = await geminiApi.startMockGeminiApi(geminiApi.conversation([{ when: PROMPT, replies: [geminiApi.say(geminiApi.text(ANSWER))] }]));
    const env = geminiEnv(api.url, tempDir('coven-bench-home-'), { COVEN_GEMINI: bin });
    return {
      env,
      direct: (cwd) => ({ command: bin, args: geminiAdapter.command({ cwd, prompt: PROMPT, args: [] }).args, isResult: (e) => typeIs(e, 'result') }),
      session: (cwd) => ({ cwd, prompt: PROMPT, env, cli: 'gemini' }),
      close: () => api.close(),
    };
  },
};

/** The CLIs the bench knows how to run, by name. */
export const BENCH_CLIS: Partial<Record<CliName, BenchCli>> = { claude, gemini };
