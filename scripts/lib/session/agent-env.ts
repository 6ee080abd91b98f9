// agent-env — the environment of an agent session: the caller's, with coven's shim
// folder first on PATH so the agent can run `coven issues` even when coven is not
// installed globally.

import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** <package>/shims (this file is <package>/dist/scripts/lib/agent-env.js once built). */
export const shimsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'shims');

export function agentEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const path = base.PATH ?? '';
  if (path.split(delimiter).includes(shimsDir)) return { ...base };
  return { ...base, PATH: path ? `${shimsDir}${delimiter}${path}` : shimsDir };
}
