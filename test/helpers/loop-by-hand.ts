// loop-by-hand — the README's "loop by hand" shell script, read from the markdown so that
// the tests run exactly what the README shows.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { projectRoot } from './repo.js';

/** The first ```sh block under the "## The loop by hand" heading of a markdown file of the project. */
export function loopFrom(file: string): string {
  const text = readFileSync(join(projectRoot, file), 'utf8');
  const at = text.indexOf('\n## The loop by hand\n');
  assert.ok(at >= 0, `${file} has a "## The loop by hand" section`);
  const section = text.slice(at + 1).split(/\n## /)[0]!;
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  assert.ok(block, `the section of ${file} has a \`\`\`sh block`);
  return block[1]!;
}
