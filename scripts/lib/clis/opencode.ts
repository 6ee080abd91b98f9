// opencode — the adapter for opencode (`opencode-ai`, observed at 1.18.33; see
// shared/reference/agent-clis.md and test/fixtures/agent-cli-samples/opencode/).
//
// Start: `opencode run --format json --print-logs --log-level WARN <args>`, the prompt on
// stdin (a prompt argument with spaces reaches the model in literal quotes). Resume: the
// same with `--session <sessionID>`. opencode takes its directory from $PWD, not from its
// cwd, so PWD is set to the worktree for every run. It has no system prompt option: coven's
// protocol text goes at the head of the first prompt (a resume's history holds it).
//
// The stream: `step_start`, `text`, `tool_use`, `step_finish` (tokens and cost per model
// call), `error`, every line with `sessionID`. There is no final result event: end()
// makes it up. Success is exit 0 with a last step_finish whose reason is "stop" (after a
// permission it rejects, opencode exits 0 with a last reason "tool-calls").
//
// Refusals: opencode retries a 429 or a 503 for over a minute and prints nothing on stdout
// meanwhile. With --print-logs it logs each failed attempt on stderr as
// `level=ERROR … message="stream error" … error.error="AI_APICallError: <the API's message>"`;
// that first line is the first sign, and it only has the API's words (no status). The final
// `error` event has the status (a 401 comes at once, without retries).

import { z } from 'zod';
import type { CliAdapter, CliCommand, CliEvent, CliRun, RefusalReason, StreamParser, TokenCounts } from './adapter.js';
import { refuseOnce } from './adapter.js';
import { oneLine } from './words.js';

export const opencodeAdapter: CliAdapter = {
  name: 'opencode',
  label: 'opencode',
  envVar: 'COVEN_OPENCODE',
  defaultCommand: 'opencode',
  install: 'npm install -g opencode-ai',
  argsKey: 'opencode_args',
  steering: false,
  costInDollars: false,
  limits: [
    'no steering: messages cannot be added while a session runs',
    'no final result event: success is judged from the exit code and the last step ("stop")',
    'cost in dollars only when the model config declares prices; else tokens × COVEN_PRICE_OPENCODE',
    'no system prompt option: coven\'s instructions are put at the head of the prompt',
    'permissions come from opencode\'s config (`permission`); only bypassPermissions maps, to --auto',
    'a resume from another directory hangs silently (opencode works in the session\'s own directory)',
  ],
  command: opencodeCommand,
  parser: () => new OpencodeParser(),
  unknownSession: /Session not found/i,
};

export function opencodeCommand(run: CliRun): CliCommand {
  const args = ['run', '--format', 'json', '--print-logs', '--log-level', 'WARN'];
  if (run.resume) args.push('--session', run.resume);
  if (run.permissionMode === 'bypassPermissions') args.push('--auto');
  args.push(...run.args);
  // a resume does not repeat coven's text: the session's history holds it
  const prompt = run.systemText && !run.resume ? `${run.systemText}\n\n${run.prompt}` : run.prompt;
  return { args, stdin: prompt, keepStdinOpen: false, env: { PWD: run.cwd } };
}

// ---------------------------------------------------------------- events

const sessionLine = z.object({ type: z.string(), sessionID: z.string().optional() });
const textPart = z.object({ part: z.object({ text: z.string() }) });
const toolPart = z.object({
  part: z.object({
    tool: z.string(),
    state: z.object({
      status: z.string(),
      title: z.string().optional(),
      input: z.record(z.string(), z.unknown()).optional(),
      error: z.string().optional(),
      metadata: z.object({ exit: z.number().nullable().optional() }).loose().optional(),
    }),
  }),
});
const count = z.number().nonnegative().catch(0);
const stepFinish = z.object({
  part: z.object({
    reason: z.string().catch('unknown'),
    cost: count.optional(),
    tokens: z.object({ input: count, output: count, cache: z.object({ read: count }).catch({ read: 0 }) }).optional(),
  }),
});
const errorLine = z.object({
  error: z.object({
    name: z.string().catch('Error'),
    data: z.object({ message: z.string().optional(), statusCode: z.number().optional(), responseBody: z.string().optional() }).loose().catch({}),
  }),
});

/** The refusal a vendor's error means, from its HTTP status and words (null: not a refusal). */
export function refusalOf(status: number | undefined, words: string): RefusalReason | null {
  if (/insufficient_quota|exceeded your current quota|quota exceeded|billing|credit balance/i.test(words)) return 'quota';
  if (status === 429 || /rate.?limit|too many requests/i.test(words)) return 'rate-limit';
  if (status === 401 || status === 403 || /api key|unauthori[sz]ed|authentication|invalid_api_key/i.test(words)) return 'auth';
  if (status === 503 || status === 529 || /overloaded|service unavailable|capacity/i.test(words)) return 'overloaded';
  return null;
}

const ansi = /\x1b\[[0-9;]*m/g;
/** `error.error="AI_APICallError: …"` in a `stream error` log line */
const streamError = /message="stream error".*error\.error="(?:AI_\w+: )?((?:[^"\\]|\\.)*)"/;

class OpencodeParser implements StreamParser {
  private sessionId: string | null = null;
  private lastText: string | undefined;
  private lastReason: string | null = null;
  private steps = 0;
  private tokens: TokenCounts = { input: 0, output: 0, cachedInput: 0 };
  private cost = 0;
  private errors: string[] = [];
  private errorName: string | null = null;
  /** a refusal was emitted (refuseOnce) */
  refused = false;

  line(line: string): CliEvent[] {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      return [];
    }
    const head = sessionLine.safeParse(json);
    if (!head.success) return [];
    const events: CliEvent[] = [];
    if (head.data.sessionID && this.sessionId === null) {
      this.sessionId = head.data.sessionID;
      events.push({ kind: 'session', sessionId: this.sessionId });
    }
    events.push(...this.event(head.data.type, json));
    return events;
  }

  private event(type: string, json: unknown): CliEvent[] {
    if (type === 'text') {
      const t = textPart.safeParse(json);
      if (!t.success) return [];
      this.lastText = t.data.part.text;
      return [{ kind: 'text', text: t.data.part.text }];
    }
    if (type === 'tool_use') return this.tool(json);
    if (type === 'step_finish') {
      const s = stepFinish.safeParse(json);
      if (!s.success) return [];
      this.steps++;
      this.lastReason = s.data.part.reason;
      const t = s.data.part.tokens;
      if (t) this.tokens = { input: this.tokens.input + t.input, output: this.tokens.output + t.output, cachedInput: this.tokens.cachedInput + t.cache.read };
      this.cost += s.data.part.cost ?? 0;
      return [];
    }
    if (type === 'error') return this.error(json);
    return [];
  }

  private tool(json: unknown): CliEvent[] {
    const t = toolPart.safeParse(json);
    if (!t.success) return [];
    const { tool, state } = t.data.part;
    const command = typeof state.input?.command === 'string' ? state.input.command : undefined;
    const file = typeof state.input?.filePath === 'string' ? state.input.filePath : undefined;
    const summary = `${tool}: ${oneLine(command ?? state.title ?? file ?? '')}`;
    const events: CliEvent[] = [{ kind: 'tool', summary }];
    const exit = state.metadata?.exit;
    if (state.status === 'error') events.push({ kind: 'tool-failed', summary: `${summary}: ${oneLine(state.error ?? 'failed')}` });
    else if (typeof exit === 'number' && exit !== 0) events.push({ kind: 'tool-failed', summary: `${summary}: exit ${exit}` });
    return events;
  }

  private error(json: unknown): CliEvent[] {
    const e = errorLine.safeParse(json);
    const name = e.success ? e.data.error.name : 'Error';
    const data = e.success ? e.data.error.data : {};
    const status = data.statusCode;
    const message = oneLine(data.message ?? name);
    this.errorName = name;
    this.errors.push(status ? `${name} ${status}: ${message}` : `${name}: ${message}`);
    const reason = refusalOf(status, `${message} ${data.responseBody ?? ''}`);
    return reason ? this.refuse(reason, message) : [];
  }

  private refuse(reason: RefusalReason, message: string): CliEvent[] {
    return refuseOnce(this, { reason, message });
  }

  stderr(raw: string): CliEvent[] {
    const line = raw.replace(ansi, '').trim();
    const failed = streamError.exec(line);
    if (failed) {
      const words = failed[1]!.replace(/\\"/g, '"');
      const reason = refusalOf(undefined, words);
      return reason ? this.refuse(reason, oneLine(words)) : [{ kind: 'notice', text: `opencode: the model API failed (opencode retries): ${oneLine(words)}` }];
    }
    if (/^Error: /.test(line)) {
      this.errors.push(line.slice('Error: '.length));
      return [{ kind: 'notice', text: `opencode: ${line}` }];
    }
    if (line.startsWith('opencode run [message..]')) {
      // an option it does not know: it prints its usage and exits 1, naming nothing
      this.errors.push('opencode refused its command line (an option it does not know) and printed its usage');
      return [];
    }
    if (/^! permission requested: /.test(line)) return [{ kind: 'notice', text: `opencode: ${line.slice(2)}` }];
    return [];
  }

  end(exit: { code: number | null; signal: NodeJS.Signals | null }): CliEvent[] {
    const stopped = this.lastReason === 'stop';
    const ok = exit.code === 0 && stopped && this.errorName === null;
    const errors = [...this.errors];
    if (!ok && errors.length === 0) {
      if (exit.code !== 0) errors.push(exit.signal ? `opencode was ended by ${exit.signal}` : `opencode exited with code ${exit.code}`);
      else if (this.lastReason === null) errors.push('opencode exited 0 without finishing a step');
      else errors.push(`opencode's last step ended with "${this.lastReason}", not "stop" (a tool call it refused, or the output cut off)`);
    }
    const subtype = ok ? 'success' : this.errorName !== null ? 'api_error' : exit.code === 0 ? 'unfinished' : 'error_exit';
    return [
      {
        kind: 'result',
        ok,
        subtype,
        ...(this.lastText !== undefined ? { text: this.lastText } : {}),
        errors: ok ? [] : errors,
        ...(this.cost > 0 ? { costUsd: this.cost } : {}),
        tokens: this.tokens,
        turns: this.steps,
      },
    ];
  }
}

