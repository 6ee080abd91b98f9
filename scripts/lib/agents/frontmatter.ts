// frontmatter — split a markdown file into its YAML frontmatter and body, with every
// way that can go wrong returned as a value (agent files and issue files share this).
//
// Inputs: the file's bytes or text. Outputs: a typed result; nothing is thrown for
// bad input. Uses gray-matter, minding its pitfalls:
//   - it caches results per input string when called without options, and caches
//     before parsing, so a YAML error is thrown once and then silently forgotten;
//     we always pass a fresh options object, which bypasses the cache;
//   - it throws on YAML syntax errors; we return them with the file line;
//   - an unclosed `---` makes the whole rest of the file frontmatter and the body
//     empty; we report it instead;
//   - `---js` / `---javascript` would eval the frontmatter as code; only YAML is
//     accepted (the first line must be exactly `---`);
//   - js-yaml parses nesting recursively: thousands of `[` run out of stack (a
//     RangeError), reported as nested too deeply. Aliases are kept as shared
//     references, never expanded, so a "billion laughs" costs only its own size.

import matter from 'gray-matter';

export type Frontmatter =
  | { kind: 'ok'; data: Record<string, unknown>; body: string; bodyLine: number }
  | { kind: 'none'; body: string }
  | { kind: 'unclosed' }
  | { kind: 'not-yaml'; language: string }
  | { kind: 'yaml-error'; message: string; line: number | null }
  | { kind: 'too-deep' }
  | { kind: 'not-a-mapping'; got: string };

export type Decoded = { kind: 'text'; text: string } | { kind: 'not-utf8' };

/** Decodes UTF-8 strictly (a byte sequence that is not UTF-8 is reported, not replaced); drops a BOM. */
export function decodeUtf8(bytes: Uint8Array): Decoded {
  try {
    return { kind: 'text', text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { kind: 'not-utf8' };
  }
}

/** Splits `text` into frontmatter data and body. `bodyLine` is the 1-based file line the body starts on. */
export function readFrontmatter(text: string): Frontmatter {
  const source = text.replace(/^\uFEFF/, '');
  const firstLine = source.split(/\r?\n/, 1)[0] ?? '';
  if (!firstLine.startsWith('---') || firstLine.startsWith('----')) return { kind: 'none', body: source };
  const language = firstLine.slice(3).trim();
  if (language) return { kind: 'not-yaml', language };
  // gray-matter ends the frontmatter at the first "\n---" after the opening line
  if (source.indexOf('\n---', 3) === -1) return { kind: 'unclosed' };

  let file: matter.GrayMatterFile<string>;
  try {
    file = matter(source, { language: 'yaml' });
  } catch (err) {
    return yamlError(err);
  }
  const data: unknown = file.data;
  if (data === null || data === undefined) return { kind: 'ok', data: {}, body: file.content, bodyLine: bodyLineOf(source, file.content) };
  if (typeof data !== 'object' || Array.isArray(data) || data instanceof Date) return { kind: 'not-a-mapping', got: describeValue(data) };
  return { kind: 'ok', data: data as Record<string, unknown>, body: file.content, bodyLine: bodyLineOf(source, file.content) };
}

/** One line saying what went wrong with the frontmatter, or null when it is fine / absent. */
export function frontmatterProblem(fm: Frontmatter): string | null {
  switch (fm.kind) {
    case 'ok':
    case 'none':
      return null;
    case 'unclosed':
      return "not closed: add a line '---' after the last key";
    case 'not-yaml':
      return `language '${fm.language}' is not supported: the first line must be exactly '---' (YAML only)`;
    case 'too-deep':
      return 'nested too deeply: lists or mappings inside each other, deeper than YAML a human writes';
    case 'yaml-error':
      return `YAML syntax error${fm.line === null ? '' : ` at line ${fm.line}`}: ${fm.message}`;
    case 'not-a-mapping':
      return `must be YAML "key: value" lines, got ${fm.got}`;
  }
}

/** A short name for the kind of a YAML value, for messages ("a list", "a number", …). */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return `${value}`;
  return typeof value;
}

function yamlError(err: unknown): Frontmatter {
  // js-yaml reads nested lists and mappings recursively: thousands of levels run out of stack
  if (err instanceof RangeError) return { kind: 'too-deep' };
  const e = err as { reason?: unknown; message?: unknown; mark?: { line?: unknown } };
  const reason = typeof e.reason === 'string' && e.reason ? e.reason : String(e.message ?? err).split('\n')[0] ?? 'invalid YAML';
  // js-yaml counts lines from 0 within the frontmatter, which starts on the `---` line
  const line = typeof e.mark?.line === 'number' ? e.mark.line + 1 : null;
  return { kind: 'yaml-error', message: reason, line };
}

function bodyLineOf(source: string, body: string): number {
  const head = source.slice(0, source.length - body.length);
  return head.split('\n').length;
}
