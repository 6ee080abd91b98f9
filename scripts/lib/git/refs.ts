// refs — the refs under one prefix and the objects they point at, for the guards that
// note them before an agent session and compare afterwards (job-guard: refs/coven/,
// history-guard: refs/replace/). Ref names hold no NUL and no newline, so
// `%(refname)%00%(objectname)` per line parses whatever an agent named them.
// Inputs: a directory in the repository, a prefix such as `refs/coven/`. Outputs: a map.

import { git } from './runner.js';

/** ref name → object id, for every ref under `prefix`; empty when git fails. */
export async function refsUnder(cwd: string, prefix: string): Promise<Map<string, string>> {
  const r = await git(cwd, ['for-each-ref', '--format=%(refname)%00%(objectname)', prefix]);
  const refs = new Map<string, string>();
  for (const line of r.ok ? r.stdout.split('\n') : []) {
    const [ref, oid] = line.split('\0');
    if (ref && oid) refs.set(ref, oid);
  }
  return refs;
}
