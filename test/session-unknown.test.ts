// session-unknown — a resume the CLI does not know (its transcript or thread is gone)
// starts a fresh session with the same instructions: each CLI says so in its own words,
// kept in its adapter (unknownSession), read by clis/index.ts sessionUnknown.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sessionUnknown } from '../scripts/lib/clis/index.js';
import type { SessionOutcome } from '../scripts/lib/session/session-contract.js';

const failed = (errors: string[]): SessionOutcome => ({ kind: 'agent-error', subtype: 'error', errors, sessionId: 's', costUsd: 0, turns: 0, durationMs: 0 });
const crashed = (stderrTail: string[]): SessionOutcome => ({ kind: 'crashed', exitCode: 1, signal: null, stderrTail });

// what each real CLI printed for an unknown session id (reference and fixtures)
const words = {
  claude: 'No conversation found with session ID: 1234',
  codex: 'Error: thread/resume: thread/resume failed: no rollout found for thread id 01a2 (code -32600)',
  gemini: 'Error resuming session: No previous sessions found for this project.',
  opencode: 'Error: Session not found',
} as const;

test("each CLI's own words for an unknown session, in its result or on stderr; another CLI's words do not count", () => {
  for (const [cli, said] of Object.entries(words) as [keyof typeof words, string][]) {
    assert.ok(sessionUnknown(failed([said]), cli), `${cli}: in the errors`);
    assert.ok(sessionUnknown(crashed(['noise', said]), cli), `${cli}: on stderr`);
    for (const [other, theirs] of Object.entries(words)) if (other !== cli) assert.not.ok(sessionUnknown(failed([theirs]), cli), `${cli} is not told by ${other}'s words`);
  }
  assert.not.ok(sessionUnknown(failed(['rate limit']), 'codex'));
  assert.not.ok(sessionUnknown({ kind: 'timed-out', timeoutMs: 1 }, 'claude'));
});

test.run();
