// record-refs — refs that each point at a record: a commit with the empty tree and no
// parent whose message is the record (JSON). coven keeps its worker states on the remote
// this way (lib/remote/worker-record.ts); a ref moves to a new record commit by CAS.
//
// A record ref may have been written by another machine: nothing read here is trusted. A
// ref that points at something other than a small parentless commit with the empty tree
// is read as damaged (`problem`), never thrown; its message is the caller's to parse.
//
// Inputs: a repository (any folder in it), refs. Outputs: commits, values.

import type { z } from 'zod';
import { git, gitBytes, gitMessage } from './runner.js';

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
/** A record commit's message checked against `schema`: the record, or why it is not one ("over the cap", "not JSON", or zod's first complaint). */
export function parseRecordMessage<T>(text: string, schema: z.ZodType<T>, maxBytes: number): { record: T } | { problem: 'over' | 'not-json'; text: string } | { problem: 'schema'; json: unknown; text: string } {
  if (Buffer.byteLength(text) > maxBytes) return { problem: 'over', text: `its message is over ${maxBytes} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(text.trim());
  } catch {
    return { problem: 'not-json', text: 'its message is not JSON' };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { record: parsed.data };
  const issue = parsed.error.issues[0];
  return { problem: 'schema', json, text: issue ? `${issue.path.join('.') || 'record'}: ${issue.message}` : 'invalid' };
}

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
 * commands whatever their number: one lists the refs with their objects' type and size
 * (no content), the second prints, by object id, only the commits that can be records (at
 * most `maxBytes`). A ref over the limit is never read, however many refs there are; and
 * an object id names fixed content, so a ref moved meanwhile cannot make the read bigger.
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
      : !(Number(size) <= maxBytes + 1024) ? `its commit is ${size} bytes, over the limit of ${maxBytes}`
      : treeOf !== tree ? 'its commit has files (a record has the empty tree)'
      : parents.trim() !== '' ? 'its commit has a parent (a record has none)'
      : null;
    found.push({ ref, sha, text: null, problem });
  }
  const readable = found.filter((f) => f.problem === null);
  if (readable.length === 0) return found;
  const messages = await recordMessages(repo, readable.map((f) => f.sha), maxBytes);
  for (const f of readable) {
    const text = messages.get(f.sha);
    if (text === undefined) f.problem = 'it could not be read';
    else f.text = text;
  }
  return found;
}

/**
 * commit id → its message, for commits already checked to be small: one `cat-file --batch`
 * given their ids. Each answer is `<id> <type> <size>` then that many bytes; one that is
 * not a commit within the limit is left out (read as unreadable by the caller).
 */
async function recordMessages(repo: string, shas: string[], maxBytes: number): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const r = await gitBytes(repo, ['cat-file', '--batch'], undefined, { input: [...new Set(shas)].join('\n') + '\n' });
  if (!r.ok) return out;
  const buf = r.stdout;
  for (let at = 0; at < buf.length; ) {
    const eol = buf.indexOf(0x0a, at);
    if (eol < 0) break;
    const [sha = '', type = '', size = '', ...more] = buf.subarray(at, eol).toString('utf8').split(' ');
    if (!/^\d+$/.test(size) || more.length > 0) {
      at = eol + 1; // `<id> missing`: no content follows
      continue;
    }
    const n = Number(size);
    const body = buf.subarray(eol + 1, eol + 1 + n);
    at = eol + 1 + n + 1; // the content, then a newline
    if (type !== 'commit' || n > maxBytes + 1024) continue;
    const split = body.indexOf('\n\n');
    out.set(sha, split < 0 ? '' : body.subarray(split + 2).toString('utf8'));
  }
  return out;
}
