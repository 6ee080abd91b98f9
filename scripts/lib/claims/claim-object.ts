// claim-object — the git objects behind a claim: writing one claim commit (the empty
// tree, no parent, the ClaimRecord as its message, written by a fixed coven identity)
// and reading the claim refs under a prefix back (claim.ts, the contract).
//
// A claim ref may have been written by another machine, or by an agent in local mode:
// nothing read here is trusted. A ref that points at something other than a parentless
// commit with the empty tree, a message over MAX_CLAIM_BYTES or a message that is not a
// ClaimRecord is read as damaged (`problem`), never thrown.
//
// Inputs: a repository (any folder in it), refs. Outputs: values.

import { randomBytes } from 'node:crypto';
import { git, gitMessage } from '../git/runner.js';
import { CLAIM_FORMAT, ClaimRecordSchema, MAX_CLAIM_BYTES, type ClaimRecord } from './claim.js';

/** The identity every claim commit is made with (a claim is coven's, not a person's). */
const IDENTITY: NodeJS.ProcessEnv = {
  GIT_AUTHOR_NAME: 'coven',
  GIT_AUTHOR_EMAIL: 'coven@localhost',
  GIT_COMMITTER_NAME: 'coven',
  GIT_COMMITTER_EMAIL: 'coven@localhost',
};

/** A claim ref as found, before any lease is judged: its record, or why it cannot be read. */
export interface ClaimRaw {
  ref: string;
  sha: string;
  record: ClaimRecord | null;
  /** why `record` is null: what is wrong with the ref's object */
  problem: string | null;
}

const emptyTrees = new Map<string, string>();

/** The empty tree's id in this repository (sha1 or sha256), written once so a push carries it. */
export async function emptyTree(repo: string): Promise<string> {
  const known = emptyTrees.get(repo);
  if (known) return known;
  const r = await git(repo, ['hash-object', '-t', 'tree', '-w', '/dev/null']);
  if (!r.ok) throw new Error(`git hash-object of the empty tree failed in ${repo}: ${gitMessage(r)}`);
  const id = r.stdout.trim();
  emptyTrees.set(repo, id);
  return id;
}

/** Makes the claim commit for `record` (not on any ref yet) and returns its id. */
export async function writeClaimCommit(repo: string, record: ClaimRecord): Promise<string> {
  const tree = await emptyTree(repo);
  const message = JSON.stringify(ClaimRecordSchema.parse(record));
  const r = await git(repo, ['-c', 'commit.gpgSign=false', 'commit-tree', '--no-gpg-sign', tree, '-m', message], IDENTITY);
  if (!r.ok) throw new Error(`git commit-tree failed in ${repo}: ${gitMessage(r)}`);
  return r.stdout.trim();
}

/** A claim commit's message as a record, or why it is not one. */
export function parseClaimMessage(text: string): { record: ClaimRecord } | { problem: string } {
  if (Buffer.byteLength(text) > MAX_CLAIM_BYTES) return { problem: `its message is over ${MAX_CLAIM_BYTES} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(text.trim());
  } catch {
    return { problem: 'its message is not JSON' };
  }
  const parsed = ClaimRecordSchema.safeParse(json);
  if (parsed.success) return { record: parsed.data };
  const format = (json as { coven?: unknown } | null)?.coven;
  if (format !== CLAIM_FORMAT) return { problem: `its message is not a ${CLAIM_FORMAT} record` };
  const issue = parsed.error.issues[0];
  return { problem: `its record is malformed (${issue ? `${issue.path.join('.') || 'record'}: ${issue.message}` : 'invalid'})`.slice(0, 300) };
}

const FIELDS = ['%(refname)', '%(objectname)', '%(objecttype)', '%(objectsize)', '%(tree)', '%(parent)'];

/**
 * Every claim ref under `prefix` (or only `exact`, a full ref name), read in two git
 * commands whatever their number: one lists the refs with their objects' type and size,
 * the second prints the messages of those that can be claims.
 */
export async function readClaimRefs(repo: string, prefix: string, exact?: string): Promise<ClaimRaw[] | { failed: string }> {
  const pattern = exact ?? prefix;
  const listed = await git(repo, ['for-each-ref', `--format=${FIELDS.join('%00')}`, pattern]);
  if (!listed.ok) return { failed: gitMessage(listed, { strip: true }) };
  const tree = await emptyTree(repo);
  const raws: ClaimRaw[] = [];
  const readable: string[] = [];
  for (const line of listed.stdout.split('\n')) {
    const [ref = '', sha = '', type = '', size = '', treeOf = '', parents = ''] = line.split('\0');
    if (!ref.startsWith(prefix) || (exact !== undefined && ref !== exact)) continue;
    const problem =
      type !== 'commit' ? `it points at a ${type || 'missing object'}, not a commit`
      : Number(size) > MAX_CLAIM_BYTES + 1024 ? `its commit is ${size} bytes, over the limit of ${MAX_CLAIM_BYTES}`
      : treeOf !== tree ? 'its commit has files (a claim has the empty tree)'
      : parents.trim() !== '' ? 'its commit has a parent (a claim has none)'
      : null;
    raws.push({ ref, sha, record: null, problem });
    if (problem === null) readable.push(ref);
  }
  if (readable.length === 0) return raws;
  const messages = await claimMessages(repo, prefix, readable);
  for (const raw of raws) {
    if (raw.problem !== null) continue;
    const m = messages.get(raw.ref);
    const parsed: { record: ClaimRecord } | { problem: string } =
      !m ? { problem: 'it could not be read' } : m.sha !== raw.sha ? { problem: 'it changed while it was read' } : parseClaimMessage(m.text);
    if ('record' in parsed) raw.record = parsed.record;
    else raw.problem = parsed.problem;
  }
  return raws;
}

/** ref → the message of the commit it points at (and that commit), for refs already checked to be small commits. */
async function claimMessages(repo: string, prefix: string, refs: string[]): Promise<Map<string, { sha: string; text: string }>> {
  const out = new Map<string, { sha: string; text: string }>();
  const wanted = new Set(refs);
  // an end mark no message can forge; %(objectsize) again: a ref moved between the two
  // commands to a big object is not kept (many refs: named by their prefix, not one by one)
  const end = `--coven-end-${randomBytes(12).toString('hex')}--`;
  const patterns = refs.length <= 200 ? refs : [prefix];
  const r = await git(repo, ['for-each-ref', `--format=%(refname)%00%(objectname)%00%(objectsize)%00%(contents)${end}`, ...patterns]);
  if (!r.ok) return out;
  for (const entry of r.stdout.split(`${end}\n`)) {
    const [ref = '', sha = '', size = '', ...text] = entry.split('\0');
    if (!wanted.has(ref) || Number(size) > MAX_CLAIM_BYTES + 1024) continue;
    out.set(ref, { sha, text: text.join('\0') });
  }
  return out;
}
