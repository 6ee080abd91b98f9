// session-events — what a session runner keeps of the CliEvents of one session: the
// session id, the last text, the results (the last one judges), the turns taken, the
// tokens, a refusal. Constant size, whatever the stream length. Pure.

import type { CliEvent, Refusal, TokenCounts } from '../clis/adapter.js';
import { addTokens } from '../clis/price.js';

export type ResultOf = Extract<CliEvent, { kind: 'result' }>;

export class SessionEvents {
  /** from the newest `session` event */
  sessionId?: string;
  model?: string;
  /** the last whole text the agent wrote (deltas joined) */
  lastText?: string;
  /** deltas of a text still being written */
  private pending = '';
  /** every result seen; the last one judges the session */
  results = 0;
  lastResult?: ResultOf;
  /** stdin messages the CLI said a turn took (steering CLIs) */
  replays = 0;
  /** summed over the results (one per turn) */
  turns = 0;
  durationMs = 0;
  tokens?: TokenCounts;
  /** the first refusal */
  refusal?: Refusal;

  /** Folds one event in (a delta of text is held until takePending). */
  fold(e: CliEvent): void {
    switch (e.kind) {
      case 'session':
        this.sessionId = e.sessionId;
        if (e.model !== undefined) this.model = e.model;
        break;
      case 'text':
        if (e.delta) this.pending += e.text;
        else this.lastText = e.text;
        break;
      case 'replay':
        this.replays++;
        break;
      case 'refused':
        this.refusal ??= e.refusal;
        break;
      case 'result':
        this.results++;
        this.lastResult = e;
        this.turns += e.turns ?? 0;
        this.durationMs += e.durationMs ?? 0;
        this.tokens = addTokens(this.tokens, e.tokens);
        break;
    }
  }

  /** Ends a text still being written (the next event is not a delta, or the CLI exited): its whole text. */
  takePending(): string | undefined {
    if (this.pending === '') return undefined;
    const text = this.pending;
    this.pending = '';
    this.lastText = text;
    return text;
  }
}
