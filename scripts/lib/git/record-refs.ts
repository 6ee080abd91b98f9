// record-refs — refs that each point at a record: a commit with the empty tree and no
// parent whose message is the record (JSON). coven keeps its worker states on the remote
// this way (lib/remote/worker-record.ts); a ref moves to a new record commit by CAS.
//
// A record ref may have been written by another machine: nothing read here is trusted. A
// ref that points at something other than a small parentless commit with the empty tree
// is read as damaged (`problem`), never thrown; its message is the caller's to parse.
//
// Inputs: a repository (any folder in it), refs. Outputs: commits, values.

import { randomBytes } from 'node:crypto';
import { git, gitMessage } from './runner.js';

/** The identity every record commit is made with (a record is coven's, not a person's). */
const IDENTITY: NodeJS.ProcessEnv = { GIT_AUTHOR_NAME: 'coven', GIT_AUTHOR_EMAIL: 'coven@localhost', GIT_COMMITTER_NAME: 'coven', GIT_COMMITTER_EMAIL: 'coven@localhost' };

const emptyTrees = new Map<string, string>();

/** The empty tree's id in this repository (sha1 or sha256), written once so a push carries it. */
export async function emptyTreeOf(repo: string): Promise<string> {
  const known = emptyTrees.get(repo);
  if (known) return known;
  const r = await git(repo, ['hash-object', '-t', 'tree', '-w', '/dev/null']);
  if (!r.ok) throw new Error(`git hash-object of the empty tree failed in ${repo}: ${gitMessage(r)}`);
  emptyTrees.set(repo, r.stdout.trim());
  return r.stdout.trim();
}

/** Makes a record commit with `message` (on no ref yet) and returns its id. */
export async function writeRecordCommit(repo: string, message: string): Promise<string> {
  const r = await git(repo, ['-c', 'commit.gpgSign=false', 'commit-tree', '--no-gpg-sign', await emptyTreeOf(repo), '-m', message], IDENTITY);
  if (!r.ok) throw new Error(`git commit-tree failed in ${repo}: ${gitMessage(r)}`);
  return r.stdout.trim();
}

/** One record ref as found: its message, or why it cannot be a record. */
export interface RecordRef {
  ref: string;
  sha: string;
  /** the commit's message (null when `problem` says why not) */
  text: string | null;
  problem: string | null;
}

const FIELDS = ['%(refname)', '%(objectname)', '%(objecttype)', '%(objectsize)', '%(tree)', '%(parent)'];

/**
 * Every ref under `prefix` (or only `exact`, a full ref name) with its message, in two git
 * commands whatever their number: one lists the refs with their objects' type and size,
 * the second prints the messages of those that can be records (at most `maxBytes`).
 */
export async function readRecordRefs(repo: string, prefix: string, maxBytes: number, exact?: string): Promise<RecordRef[] | { failed: string }> {
  const listed = await git(repo, ['for-each-ref', `--format=${FIELDS.join('%00')}`, exact ?? prefix]);
  if (!listed.ok) return { failed: gitMessage(listed, { strip: true }) };
  const tree = await emptyTreeOf(repo);
  const found: RecordRef[] = [];
  for (const line of listed.stdout.split('\n')) {
    const [ref = '', sha = '', type = '', size = '', treeOf = '', parents = ''] = line.split('\0');
    if (!ref.startsWith(prefix) || (exact !== undefined && ref !== exact)) continue;
    const problem =
      type !== 'commit' ? `it points at a ${type || 'missing object'}, not a commit`
      : Number(size) > maxBytes + 1024 ? `its commit is ${size} bytes, over the limit of ${maxBytes}`
      : treeOf !== tree ? 'its commit has files (a record has the empty tree)'
      : parents.trim() !== '' ? 'its commit has a parent (a record has none)'
      : null;
    found.push({ ref, sha, text: null, problem });
  }
  const readable = found.filter((f) => f.problem === null);
  if (readable.length === 0) return found;
  const messages = await recordMessages(repo, prefix, readable.map((f) => f.ref), maxBytes);
  for (const f of readable) {
    const m = messages.get(f.ref);
    if (!m) f.problem = 'it could not be read';
    else if (m.sha !== f.sha) f.problem = 'it changed while it was read';
    else f.text = m.text;
  }
  return found;
}

/** ref → the message of the commit it points at (and that commit), for refs already checked to be small commits. */
async function recordMessages(repo: string, prefix: string, refs: string[], maxBytes: number): Promise<Map<string, { sha: string; text: string }>> {
  const out = new Map<string, { sha: string; text: string }>();
  const wanted = new Set(refs);
  // an end mark no message can forge; the size again: a ref moved between the two
  // commands to a big object is not kept (many refs: named by their prefix, not one by one)
  const end = `--coven-end-${randomBytes(12).toString('hex')}--`;
  const r = await git(repo, ['for-each-ref', `--format=%(refname)%00%(objectname)%00%(objectsize)%00%(contents)${end}`, ...(refs.length <= 200 ? refs : [prefix])]);
  if (!r.ok) return out;
  for (const entry of r.stdout.split(`${end}\n`)) {
    const [ref = '', sha = '', size = '', ...text] = entry.split('\0');
    if (!wanted.has(ref) || Number(size) > maxBytes + 1024) continue;
    out.set(ref, { sha, text: text.join('\0') });
  }
  return out;
}
