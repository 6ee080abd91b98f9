// claim-object — the git objects behind a claim: writing one claim commit (the empty
// tree, no parent, the ClaimRecord as its message, written by a fixed coven identity)
// and reading the claim refs under a prefix back (claim.ts, the contract). The record
// refs themselves (commit, read with size caps) are lib/git/record-refs.ts.
//
// A claim ref may have been written by another machine, or by an agent in local mode:
// nothing read here is trusted. A ref that points at something other than a parentless
// commit with the empty tree, a message over MAX_CLAIM_BYTES or a message that is not a
// ClaimRecord is read as damaged (`problem`), never thrown.
//
// Inputs: a repository (any folder in it), refs. Outputs: values.

import { parseRecordMessage, readRecordRefs, writeRecordCommit } from '../git/record-refs.js';
import { CLAIM_FORMAT, ClaimRecordSchema, MAX_CLAIM_BYTES, type ClaimRecord } from './claim.js';

/** A claim ref as found, before any lease is judged: its record, or why it cannot be read. */
export interface ClaimRaw {
  ref: string;
  sha: string;
  record: ClaimRecord | null;
  /** why `record` is null: what is wrong with the ref's object */
  problem: string | null;
}

/** Makes the claim commit for `record` (not on any ref yet) and returns its id. */
export async function writeClaimCommit(repo: string, record: ClaimRecord): Promise<string> {
  return writeRecordCommit(repo, JSON.stringify(ClaimRecordSchema.parse(record)));
}

/** A claim commit's message as a record, or why it is not one. */
export function parseClaimMessage(text: string): { record: ClaimRecord } | { problem: string } {
  const parsed = parseRecordMessage(text, ClaimRecordSchema, MAX_CLAIM_BYTES);
  if ('record' in parsed) return parsed;
  if (parsed.problem !== 'schema') return { problem: parsed.text };
  if ((parsed.json as { coven?: unknown } | null)?.coven !== CLAIM_FORMAT) return { problem: `its message is not a ${CLAIM_FORMAT} record` };
  return { problem: `its record is malformed (${parsed.text})`.slice(0, 300) };
}

/** Every claim ref under `prefix` (or only `exact`, a full ref name), each with its record or why it has none. */
export async function readClaimRefs(repo: string, prefix: string, exact?: string): Promise<ClaimRaw[] | { failed: string }> {
  const found = await readRecordRefs(repo, prefix, MAX_CLAIM_BYTES, exact);
  if ('failed' in found) return found;
  return found.map((f) => {
    const parsed = f.text === null ? { problem: f.problem ?? 'it could not be read' } : parseClaimMessage(f.text);
    return 'record' in parsed ? { ref: f.ref, sha: f.sha, record: parsed.record, problem: null } : { ref: f.ref, sha: f.sha, record: null, problem: parsed.problem };
  });
}
