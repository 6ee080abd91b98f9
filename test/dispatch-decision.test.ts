import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkDispatchOutput, correctiveMessage, dispatchProtocol, type DispatchableAgent } from '../scripts/lib/agents/dispatch-decision.js';

const agents: DispatchableAgent[] = [
  { name: 'dispatch', description: 'chooses', args: [] },
  { name: 'plan', description: 'plans an issue', args: [{ name: 'issue', description: 'issue path', required: true }] },
  {
    name: 'implement',
    description: 'implements an issue',
    args: [
      { name: 'issue', description: 'issue path', required: true },
      { name: 'note', description: 'extra hint', required: false },
    ],
  },
  { name: 'audit', description: 'audits', args: [] },
];

const block = (...lines: string[]) => `Reasoning here.\n<dispatch>\n${lines.join('\n')}\n</dispatch>\n`;

const valid: [string, string, unknown][] = [
  ['an agent with its required arg', block('agent: plan', 'issue: issues/a.md'), { kind: 'run', agent: 'plan', args: { issue: 'issues/a.md' } }],
  ['an optional arg may be given', block('agent: implement', 'issue: review/b.md', 'note: be brief'), { kind: 'run', agent: 'implement', args: { issue: 'review/b.md', note: 'be brief' } }],
  ['values may contain colons', block('agent: plan', 'issue: issues/a.md: the one about x: y'), { kind: 'run', agent: 'plan', args: { issue: 'issues/a.md: the one about x: y' } }],
  ['an agent with no args', block('agent: audit'), { kind: 'run', agent: 'audit', args: {} }],
  ['sleep with a reason', block('sleep: 2 plans wait in review/'), { kind: 'sleep', reason: '2 plans wait in review/' }],
  ['the last of two blocks counts', `${block('agent: audit')}then\n${block('agent: plan', 'issue: issues/z.md')}`, { kind: 'run', agent: 'plan', args: { issue: 'issues/z.md' } }],
  ['a shell-looking value is kept as plain text', block('agent: plan', 'issue: $(touch /tmp/pwned)'), { kind: 'run', agent: 'plan', args: { issue: '$(touch /tmp/pwned)' } }],
  ['tabs around a key or value are trimmed like spaces', block('\tagent:\tplan', 'issue:\tissues/a.md\t'), { kind: 'run', agent: 'plan', args: { issue: 'issues/a.md' } }],
  ['non-ASCII text is plain text', block('agent: plan', 'issue: issues/ünï — 修正.md'), { kind: 'run', agent: 'plan', args: { issue: 'issues/ünï — 修正.md' } }],
  ['prose that names <dispatch> before the block', 'Reasoning here. I answer with a <dispatch> block.\n<dispatch>\nagent: audit\n</dispatch>', { kind: 'run', agent: 'audit', args: {} }],
  ['a complete block, then prose that only mentions </dispatch>', `${block('agent: audit')}As the </dispatch> above says.`, { kind: 'run', agent: 'audit', args: {} }],
];

for (const [name, text, expected] of valid) {
  test(`valid: ${name}`, () => {
    const r = checkDispatchOutput(text, agents);
    assert.is(r.kind, 'valid', JSON.stringify(r));
    if (r.kind !== 'valid') return;
    const { reasoning, ...decision } = r.decision;
    assert.equal(decision, expected);
    assert.is(reasoning.startsWith('Reasoning here.'), true);
  });
}

const invalid: [string, string, RegExp][] = [
  ['no block', 'I think we should plan issues/a.md.', /no <dispatch>/],
  ['two blocks where the last is invalid', `${block('agent: audit')}${block('agent: nope')}`, /no agent named "nope"/],
  ['a complete block, then an unclosed one', `${block('agent: audit')}<dispatch>\nagent: nope\n`, /ends with a <dispatch> that is never closed; the last block is the one that counts, so end it with <\/dispatch> \(the complete block before it was not used\)/],
  ['only an unclosed block', 'Reasoning.\n<dispatch>\nagent: audit\n', /ends with a <dispatch> that is never closed/],
  ['agent: dispatch', block('agent: dispatch'), /cannot choose itself/],
  ['unknown agent', block('agent: deploy'), /no agent named "deploy"/],
  ['a path as agent name', block('agent: ../../x'), /no agent named "\.\.\/\.\.\/x"/],
  ['missing required arg', block('agent: plan'), /needs argument "issue"/],
  ['undeclared arg', block('agent: plan', 'issue: a.md', 'force: yes'), /has no argument "force"/],
  ['a value with a newline', block('agent: plan', 'issue: issues/a.md', 'and then some more text'), /line 3 .* not "key: value"/],
  ['a 5,000-character value', block('agent: plan', `issue: ${'x'.repeat(5000)}`), /longer than 1000/],
  ['an empty value', block('agent: plan', 'issue:'), /"issue" is empty/],
  ['a duplicate key', block('agent: plan', 'issue: a', 'issue: b'), /more than once/],
  ['sleep mixed with an agent', block('sleep: tired', 'agent: plan'), /only "sleep: <reason>"/],
  ['no agent and no sleep', block('issue: a.md'), /names no agent/],
  ['an empty block', block(), /empty/],
];

for (const [name, text, pattern] of invalid) {
  test(`invalid: ${name}`, () => {
    const r = checkDispatchOutput(text, agents);
    assert.is(r.kind, 'invalid');
    if (r.kind !== 'invalid') return;
    assert.match(r.problems.join('\n'), pattern);
  });
}

// characters that are not plain single-line text: [name, character, how the problem names it]
const notPlain: [string, string, string][] = [
  ['ESC (a terminal escape sequence)', '\x1b', 'U+001B (ESC)'],
  ['a tab inside the value', '\t', 'U+0009 (tab)'],
  ['a vertical tab', '\v', 'U+000B (vertical tab)'],
  ['a form feed', '\f', 'U+000C (form feed)'],
  ['NUL', '\0', 'U+0000 (NUL)'],
  ['DEL', '\x7f', 'U+007F (DEL)'],
  ['NEL (U+0085)', '\u0085', 'U+0085 (NEL (next line))'],
  ['the C1 CSI (U+009B)', '\u009b', 'U+009B (CSI)'],
  ['the line separator U+2028', '\u2028', 'U+2028 (line separator)'],
  ['the paragraph separator U+2029', '\u2029', 'U+2029 (paragraph separator)'],
  ['a right-to-left override', '\u202e', 'U+202E (right-to-left override)'],
  ['another control character (U+0007 BEL)', '\x07', 'U+0007'],
];

const rawNotPlain = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

for (const [name, ch, described] of notPlain) {
  test(`invalid: ${name} in a value, a sleep reason, a key or the agent name; the problem shows it escaped`, () => {
    const escaped = `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
    const cases: [string, RegExp][] = [
      [block('agent: plan', `issue: issues/a${ch}[31m.md`), new RegExp(`argument "issue" has ${esc(described)} at character 9 of "issues/a${esc(escaped)}\\[31m\\.md": values are plain single-line text`)],
      [block(`sleep: all${ch}done`), new RegExp(`sleep reason has ${esc(described)} at character 4 `)],
      [block('agent: plan', 'issue: a.md', `no${ch}te: x`), new RegExp(`no argument "no${esc(escaped)}te"`)],
      [block(`agent: pl${ch}an`), new RegExp(`no agent named "pl${esc(escaped)}an"`)],
      [block('agent: plan', `issue a.md ${ch} no colon`), new RegExp(`not "key: value": "issue a\\.md ${esc(escaped)} no colon"`)],
    ];
    for (const [text, pattern] of cases) {
      const r = checkDispatchOutput(text, agents);
      assert.is(r.kind, 'invalid', JSON.stringify(text));
      if (r.kind !== 'invalid') continue;
      assert.match(r.problems.join('\n'), pattern);
      assert.not.match(r.problems.join('\n'), rawNotPlain, 'the problem holds no raw control character');
      assert.not.match(correctiveMessage(r.problems, agents).replace(/\n/g, ' '), rawNotPlain, 'nor does the corrective message (but its line breaks)');
    }
  });
}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('the corrective message says what was wrong and shows agents, arguments and an example', () => {
  const msg = correctiveMessage(['there is no agent named "deploy"'], agents);
  assert.match(msg, /no agent named "deploy"/);
  assert.match(msg, /plan — plans an issue/);
  assert.match(msg, /issue \(required\): issue path/);
  assert.match(msg, /note \(optional\)/);
  assert.match(msg, /<dispatch>\nagent: plan\nissue: <issue path>\n<\/dispatch>/);
  assert.not.match(msg, /dispatch — /);
});

test('the protocol lists every agent but dispatch and states the rules', () => {
  const text = dispatchProtocol(agents);
  for (const name of ['plan', 'implement', 'audit']) assert.match(text, new RegExp(`^${name} — `, 'm'));
  assert.not.match(text, /dispatch — /);
  assert.match(text, /split at the first colon/);
  assert.match(text, /sleep: <one-line reason/);
  assert.match(text, /no tabs or other\ncontrol characters/);
  assert.match(text, /The last block of your answer is the one that counts/);
});

test.run();
