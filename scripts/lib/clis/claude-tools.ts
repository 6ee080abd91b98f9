// claude-tools — Claude Code's tool calls as one line of the live view: the tool and
// the input that says most (`Bash: npm test`, `Edit: src/a.ts`). Pure.

import { isAbsolute, relative } from 'node:path';
import { clip, firstLine } from '../session/clip.js';

/** `Bash: npm test`, `Edit: src/a.ts`, `Grep: TODO`. `cwd` shortens file paths (none given: paths stay absolute). */
export function toolCallSummary(name: string, input: Record<string, unknown>, cwd?: string): string {
  const key = keyInput(name, input, cwd);
  return key === undefined ? clip(name) : clip(`${name}: ${firstLine(key)}${key.includes('\n') ? ' …' : ''}`);
}

function keyInput(name: string, input: Record<string, unknown>, cwd: string | undefined): string | undefined {
  const str = (k: string): string | undefined => (typeof input[k] === 'string' ? (input[k] as string) : undefined);
  switch (name) {
    case 'Bash':
      return str('command');
    case 'Read':
    case 'Edit':
    case 'MultiEdit':
    case 'Write':
    case 'NotebookEdit':
      return displayPath(str('file_path') ?? str('notebook_path'), cwd);
    case 'Glob':
    case 'Grep':
      return str('pattern');
    case 'WebFetch':
      return str('url');
    case 'WebSearch':
      return str('query');
    case 'Task':
    case 'Agent':
      return str('description');
    default:
      return Object.values(input).find((v): v is string => typeof v === 'string');
  }
}

/** A path under cwd relative to it; any other path as it is. */
export function displayPath(path: string | undefined, cwd: string | undefined): string | undefined {
  if (path === undefined || cwd === undefined || !isAbsolute(path)) return path;
  const rel = relative(cwd, path);
  return rel.startsWith('..') || rel === '' || isAbsolute(rel) ? path : rel;
}
