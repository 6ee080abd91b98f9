// session-record — what run-agent hands land and resolve-conflict: the record of the
// agent session that made the worktree's commits, as a JSON file, so that a conflict is
// resolved by resuming that very session (same CLI, same session id, same cwd, the
// agent's own CLI arguments).
//
//   {"coven": "session/1", "cli": "claude", "agent": "implement",
//    "args": {"issue": "issues/fix-scroll.md"}, "cli_args": ["--allowedTools=…"],
//    "session_id": "5c1e…", "cwd": "/…/coven/brave-otter", "branch": "coven/brave-otter",
//    "worker": "brave-otter", "outcome": "success", "detail": "",
//    "cost_usd": 0.12, "kept": [], "started_at": "…", "ended_at": "…"}
//
// `cli` is the CLI that ran the job's last session (after a fallback, not the agent's
// first): a resume uses it. A record without it (or with a command path, as older ones
// have) means claude.
// `outcome` is how the session ended, judged by its events (not the exit code);
// `kept` lists the refs under refs/coven/ where work that could not stay on the branch
// was saved. resolve-conflict rewrites the record with the session it ended with.

import { z } from 'zod';
import { WORKER_NAME } from '../worker/name.js';
import { writeAtomic } from '../files/write-atomic.js';
import { parseStepFile } from './decision-file.js';
import { isCliName, type CliName } from '../clis/adapter.js';

export const SESSION_FORMAT = 'session/1';

export const SESSION_OUTCOMES = ['success', 'agent-error', 'crashed', 'timed-out', 'aborted', 'cli-not-found', 'too-big', 'refused', 'bad-args', 'worktree-gone'] as const;

export const SessionRecordSchema = z.object({
  coven: z.literal(SESSION_FORMAT),
  cli: z.string().min(1).default('claude'),
  agent: z.string().min(1).max(100),
  args: z.record(z.string(), z.string().max(1000)),
  cli_args: z.array(z.string()).default([]),
  session_id: z.string().nullable(),
  cwd: z.string().min(1),
  branch: z.string().min(1),
  worker: z.string().regex(WORKER_NAME, 'is not a worker name (lower case letters, digits and -, starting with a letter)'),
  outcome: z.enum(SESSION_OUTCOMES),
  detail: z.string().max(64 * 1024).default(''),
  cost_usd: z.number().nonnegative().default(0),
  kept: z.array(z.string()).default([]),
  started_at: z.string(),
  ended_at: z.string(),
});

export type SessionRecord = z.infer<typeof SessionRecordSchema>;

/** The CLI whose session the record names (`claude` for a record without one, or an older one that held the command). */
export function cliOfRecord(r: Pick<SessionRecord, 'cli'>): CliName {
  return isCliName(r.cli) ? r.cli : 'claude';
}

export async function writeSessionRecord(path: string, r: SessionRecord): Promise<void> {
  await writeAtomic(path, JSON.stringify(SessionRecordSchema.parse(r), null, 2) + '\n');
}

export async function readSessionRecord(path: string): Promise<{ kind: 'read'; record: SessionRecord } | { kind: 'bad'; problem: string }> {
  const r = await parseStepFile(path, SessionRecordSchema, 'session record');
  return r.kind === 'read' ? { kind: 'read', record: r.value } : r;
}
