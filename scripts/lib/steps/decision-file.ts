// decision-file — what dispatch hands run-agent: the decision, as a JSON file.
//
//   {"coven": "decision/1", "kind": "run", "agent": "implement",
//    "args": {"issue": "issues/fix-scroll.md"}, "reasoning": "…",
//    "worktree": "/…/coven/brave-otter", "worker": "brave-otter", "main_tip": "3f2a…",
//    "session_id": "…", "cost_usd": 0.01, "corrections": 0, "at": "2026-12-06T12:00:00.000Z"}
//   or "kind": "sleep" with "reason" in place of "agent" and "args".
//   A run decision also names the job's claim (lib/claims/claim.ts) that dispatch took:
//    "claim": {"key": "implement--issues-fix-scroll-md--3f2a0c9d4e5b",
//              "ref": "refs/coven/claims/implement--…", "sha": "9c1e…"}   (null: none taken)
//   The land releases it (a tombstone naming the landed commit); `sha` is the claim
//   commit as dispatch wrote it (a heartbeat moves the ref on; the land reads it again).
//
// `main_tip` is the main branch's tip when dispatch looked: a sleeping worker waits for
// main to move away from it. The file is untrusted input to its reader (anyone can
// write it): it is read with a size cap and validated, and run-agent validates the
// agent and its arguments against the registry again before anything runs.

import { z } from 'zod';
import { WORKER_NAME } from '../worker/name.js';
import { describeCappedRead, readCapped } from '../files/read-capped.js';
import { writeAtomic } from '../files/write-atomic.js';

export const DECISION_FORMAT = 'decision/1';

const common = {
  coven: z.literal(DECISION_FORMAT),
  reasoning: z.string().max(64 * 1024).default(''),
  worktree: z.string().min(1),
  worker: z.string().regex(WORKER_NAME, 'is not a worker name (lower case letters, digits and -, starting with a letter)'),
  main_tip: z.string().regex(/^([0-9a-f]{40}|[0-9a-f]{64})?$/, 'is not a commit id'),
  session_id: z.string().nullable().default(null),
  cost_usd: z.number().nonnegative().default(0),
  corrections: z.number().int().nonnegative().default(0),
  at: z.string(),
};

/** the claim a run decision took: where it is and the commit dispatch wrote */
export const DecisionClaimSchema = z.object({
  key: z.string().min(1).max(300).regex(/^[a-z0-9][a-z0-9-]*$/, 'is not a claim key'),
  ref: z.string().max(400).regex(/^refs\/coven\/claims\/[a-z0-9][a-z0-9-]*$/, 'is not a claim ref'),
  sha: z.string().regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, 'is not a commit id'),
});
export type DecisionClaim = z.infer<typeof DecisionClaimSchema>;

export const DecisionFileSchema = z.discriminatedUnion('kind', [
  z.object({ ...common, kind: z.literal('run'), agent: z.string().min(1).max(100), args: z.record(z.string(), z.string().max(1000)), claim: DecisionClaimSchema.nullable().default(null) }),
  z.object({ ...common, kind: z.literal('sleep'), reason: z.string().max(1000) }),
]);

export type DecisionFile = z.infer<typeof DecisionFileSchema>;

export type DecisionRead = { kind: 'read'; decision: DecisionFile } | { kind: 'bad'; problem: string };

export async function writeDecisionFile(path: string, d: DecisionFile): Promise<void> {
  await writeAtomic(path, JSON.stringify(DecisionFileSchema.parse(d), null, 2) + '\n');
}

export async function readDecisionFile(path: string): Promise<DecisionRead> {
  const r = await parseStepFile(path, DecisionFileSchema, 'decision');
  return r.kind === 'read' ? { kind: 'read', decision: r.value } : r;
}

/** Reads and validates one of the files steps hand each other; every problem names the file and the field. */
export async function parseStepFile<T>(path: string, schema: z.ZodType<T>, what: string): Promise<{ kind: 'read'; value: T } | { kind: 'bad'; problem: string }> {
  const read = await readCapped(path, 256 * 1024, { followSymlink: true });
  if (read.kind !== 'read') return { kind: 'bad', problem: describeCappedRead(read) };
  let json: unknown;
  try {
    json = JSON.parse(read.text);
  } catch {
    return { kind: 'bad', problem: `${path}: is not JSON` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { kind: 'bad', problem: `${path}: not a ${what} file: ${issue ? `${issue.path.join('.') || '(top)'}: ${issue.message}` : 'invalid'}` };
  }
  return { kind: 'read', value: parsed.data };
}
