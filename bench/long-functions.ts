// long-functions — lists the functions longer than a limit (default 80 lines) and the
// files longer than 400 lines, for the house rule "no file over 400 lines, no function
// over 80". Not a benchmark: a measuring tool, run by hand. (TypeScript 7 has no JS
// API, so this is a small scanner: it skips comments, strings, templates and regular
// expressions and counts a `{ … }` as a function body when it follows `=>`, or a `)`
// (optionally with a return type) that does not close an if/for/while/switch/catch.)
//
//   node dist/bench/long-functions.js [--max N] [folder…]   (default folders: scripts bin)
//   prints: one line per long function (lines, file:line, name), then long files

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const argv = process.argv.slice(2);
const maxAt = argv.indexOf('--max');
const max = maxAt >= 0 ? Number(argv.splice(maxAt, 2)[1]) : 80;
const roots = argv.length > 0 ? argv : ['scripts', 'bin'];

function tsFiles(dir: string): string[] {
  if (statSync(dir).isFile()) return [dir];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

interface Found {
  line: number;
  lines: number;
  name: string;
}

const keywordsBeforeParen = new Set(['if', 'for', 'while', 'switch', 'catch', 'with']);
const regexAfter = new Set(['return', 'typeof', 'case', 'in', 'of', 'delete', 'void', 'throw', 'new', 'else', 'do', 'yield', 'await']);

/** Function bodies in `src` (TypeScript) with their first line, length and a name guess. */
export function functionsIn(src: string): Found[] {
  const found: Found[] = [];
  let line = 1;
  // significant tokens seen so far (identifiers, or single punctuation), the last few
  const recent: string[] = [];
  const push = (t: string) => {
    recent.push(t);
    if (recent.length > 8) recent.shift();
  };
  const last = () => recent[recent.length - 1] ?? '';
  // brace stack: function bodies carry their start line and name; 'template' marks `${`
  const braces: ({ kind: 'fn'; line: number; name: string } | { kind: 'block' } | { kind: 'template' })[] = [];
  // paren stack: the token before each `(`
  const parens: string[] = [];
  let afterControlParen = false; // the last `)` closed if/for/…(…)
  let inReturnType = false; // between `):` and a function body
  let fnName = '';
  let i = 0;
  const n = src.length;
  const template = (): void => {
    // inside a template literal, after the opening backtick or a closing `}` of `${`
    while (i < n) {
      const c = src[i]!;
      if (c === '\\') i += 2;
      else if (c === '`') {
        i++;
        push('`');
        return;
      } else if (c === '$' && src[i + 1] === '{') {
        i += 2;
        braces.push({ kind: 'template' });
        push('{');
        return;
      } else {
        if (c === '\n') line++;
        i++;
      }
    }
  };
  while (i < n) {
    const c = src[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '/' && src[i + 1] === '/') while (i < n && src[i] !== '\n') i++;
    else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      for (let k = i; k < stop; k++) if (src[k] === '\n') line++;
      i = stop;
    } else if (c === '"' || c === "'") {
      i++;
      while (i < n && src[i] !== c) i += src[i] === '\\' ? 2 : 1;
      i++;
      push('str');
    } else if (c === '`') {
      i++;
      template();
    } else if (c === '/' && (recent.length === 0 || /^[(,=:[!&|?{};+\-*%<>~^]$/.test(last()) || regexAfter.has(last()))) {
      i++;
      let inClass = false;
      while (i < n && (inClass || src[i] !== '/')) {
        if (src[i] === '\\') i++;
        else if (src[i] === '[') inClass = true;
        else if (src[i] === ']') inClass = false;
        i++;
      }
      i++;
      while (i < n && /[a-z]/.test(src[i]!)) i++;
      push('re');
    } else if (/[A-Za-z_$0-9]/.test(c)) {
      let j = i;
      while (j < n && /[A-Za-z_$0-9]/.test(src[j]!)) j++;
      push(src.slice(i, j));
      i = j;
    } else if (c === '=' && src[i + 1] === '>') {
      i += 2;
      push('=>');
      inReturnType = false;
    } else if (c === '(') {
      parens.push(last());
      const prev2 = recent[recent.length - 2] ?? '';
      if (/^[A-Za-z_$][\w$]*$/.test(last()) && !keywordsBeforeParen.has(last()) && last() !== 'function') fnName = last();
      else if (last() === '=' && /^[A-Za-z_$][\w$]*$/.test(prev2)) fnName = prev2;
      else if (!keywordsBeforeParen.has(last())) fnName = `(a callback, after ${fnName || 'the top'})`;
      push('(');
      i++;
    } else if (c === ')') {
      const before = parens.pop() ?? '';
      afterControlParen = keywordsBeforeParen.has(before);
      push(')');
      i++;
      let j = i;
      while (j < n && /\s/.test(src[j]!)) j++;
      if (src[j] === ':' && !afterControlParen) inReturnType = true;
    } else if (c === '{') {
      const prev = last();
      const typeLiteral = inReturnType && /^[:|&<,(]$|^=>$/.test(prev);
      const isFn = !typeLiteral && (prev === '=>' || (prev === ')' && !afterControlParen) || (inReturnType && prev !== ':'));
      if (isFn) {
        braces.push({ kind: 'fn', line, name: fnName || '(anonymous)' });
        inReturnType = false;
      } else braces.push({ kind: 'block' });
      push('{');
      i++;
    } else if (c === '}') {
      const open = braces.pop();
      i++;
      if (open?.kind === 'template') template();
      else {
        if (open?.kind === 'fn') found.push({ line: open.line, lines: line - open.line + 1, name: open.name });
        push('}');
      }
    } else {
      push(c);
      i++;
    }
  }
  return found;
}

const long: { lines: number; where: string; name: string }[] = [];
const bigFiles: { lines: number; file: string }[] = [];
for (const root of roots) {
  for (const file of tsFiles(root)) {
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (lines > 400) bigFiles.push({ lines, file: relative('.', file) });
    for (const f of functionsIn(text)) if (f.lines > max) long.push({ lines: f.lines, where: `${relative('.', file)}:${f.line}`, name: f.name });
  }
}
long.sort((a, b) => b.lines - a.lines);
console.log(`functions over ${max} lines: ${long.length}`);
for (const f of long) console.log(`  ${String(f.lines).padStart(4)}  ${f.where}  ${f.name}`);
bigFiles.sort((a, b) => b.lines - a.lines);
console.log(`files over 400 lines: ${bigFiles.length}`);
for (const f of bigFiles) console.log(`  ${String(f.lines).padStart(4)}  ${f.file}`);
