// event-shape — reduces stream-json events to their shapes (event kind + key sets), so a
// capture of the real CLI can be compared with the reference samples and with the fake
// claude without comparing ids, times or costs.
//
//   input:  parsed stream-json events
//   output: a map "kind → keys", and the differences between two such maps

import type { StreamEvent } from './run-claude.js';

/** `system/init`, `assistant/text`, `assistant/tool_use`, `user/tool_result`, `result/success`, … */
export function eventKind(e: StreamEvent): string {
  const message = e.message as { content?: unknown } | undefined;
  if ((e.type === 'assistant' || e.type === 'user') && message && Array.isArray(message.content)) {
    const types = (message.content as { type?: string }[]).map((b) => b.type ?? '?');
    return `${e.type}/${[...new Set(types)].join('+')}`;
  }
  return e.subtype ? `${e.type}/${e.subtype}` : e.type;
}

function keysOf(value: unknown): string[] {
  return value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
}

/** The keys of an event, with one level of nesting for the parts a consumer reads. */
export function eventKeys(e: StreamEvent): string[] {
  const keys = Object.keys(e).map((k) => k);
  for (const nested of ['message', 'tool_use_result', 'usage']) {
    const v = e[nested];
    if (typeof v === 'string') keys.push(`${nested}:string`);
    for (const k of keysOf(v)) keys.push(`${nested}.${k}`);
  }
  const content = (e.message as { content?: unknown } | undefined)?.content;
  if (Array.isArray(content)) for (const block of content) for (const k of keysOf(block)) keys.push(`message.content[].${k}`);
  return [...new Set(keys)].sort();
}

export type Shapes = Map<string, Set<string>>;

export function shapesOf(events: StreamEvent[]): Shapes {
  const shapes: Shapes = new Map();
  for (const e of events) {
    const kind = eventKind(e);
    const set = shapes.get(kind) ?? new Set<string>();
    for (const k of eventKeys(e)) set.add(k);
    shapes.set(kind, set);
  }
  return shapes;
}

export interface ShapeDiff {
  kind: string;
  /** keys the expected shape has and the actual one lacks */
  missing: string[];
  /** keys only the actual shape has */
  extra: string[];
  /** the kind appears on one side only */
  only?: 'expected' | 'actual';
}

/** What differs between the expected shapes (e.g. a reference sample) and the actual ones. */
export function diffShapes(expected: Shapes, actual: Shapes): ShapeDiff[] {
  const diffs: ShapeDiff[] = [];
  for (const [kind, keys] of expected) {
    const got = actual.get(kind);
    if (!got) {
      diffs.push({ kind, missing: [...keys], extra: [], only: 'expected' });
      continue;
    }
    const missing = [...keys].filter((k) => !got.has(k));
    const extra = [...got].filter((k) => !keys.has(k));
    if (missing.length || extra.length) diffs.push({ kind, missing, extra });
  }
  for (const [kind, keys] of actual) if (!expected.has(kind)) diffs.push({ kind, missing: [], extra: [...keys], only: 'actual' });
  return diffs;
}

/** The order of event kinds in a run, e.g. "system/init assistant/text assistant/tool_use user/tool_result … result/success". */
export function kindSequence(events: StreamEvent[]): string {
  return events.map(eventKind).join(' ');
}
