// commit-identity — tells whether a commit survives in another form. A rebase, an
// amend without a new message, or a conflict resolution makes a new commit but keeps
// the author, the author date and the subject; coven uses that triple to tell a copy
// (nothing lost) from a commit that was dropped (to be kept under refs/coven/).
//
// Inputs: a repository and `git log` arguments. Outputs: one entry per non-merge commit.

import { git } from './runner.js';

export interface CommitIdentity {
  sha: string;
  /** author email, author date, subject */
  key: string;
  /** author date, seconds since 1970 */
  authored: number;
}

/** The non-merge commits `git log <args>` lists; a range git cannot read gives none. */
export async function commitIdentities(cwd: string, args: string[]): Promise<CommitIdentity[]> {
  const r = await git(cwd, ['log', '--no-merges', '--format=%H%x1f%ae%x1f%at%x1f%s', ...args, '--']);
  if (!r.ok) return [];
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [sha = '', email = '', at = '', subject = ''] = line.split('\x1f');
      return { sha, key: `${email}\x1f${at}\x1f${subject}`, authored: Number(at) };
    });
}
