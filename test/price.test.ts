// price — a session's cost: the CLI's dollars, else tokens × COVEN_PRICE_<CLI>, else 0
// with the tokens shown; a bad price is named, never a crash.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addTokens, formatTokens, priceOf, sessionCost } from '../scripts/lib/clis/price.js';

const codex = { name: 'codex', costInDollars: false } as const;
const claude = { name: 'claude', costInDollars: true } as const;
const tokens = { input: 2_000_000, output: 500_000, cachedInput: 1_000_000 };

test('COVEN_PRICE_<CLI>: "<input $ per Mtok>,<output $ per Mtok>"', () => {
  assert.equal(priceOf('codex', { COVEN_PRICE_CODEX: '1.25,10' }), { kind: 'price', price: { inputPerMtok: 1.25, outputPerMtok: 10 } });
  assert.equal(priceOf('gemini', { COVEN_PRICE_GEMINI: ' 0.3 , 2.5 ' }), { kind: 'price', price: { inputPerMtok: 0.3, outputPerMtok: 2.5 } });
  assert.equal(priceOf('codex', {}), { kind: 'none' });
  assert.equal(priceOf('codex', { COVEN_PRICE_CODEX: '  ' }), { kind: 'none' });
  for (const bad of ['1.25', '1,2,3', 'a,b', '-1,2', '1e3,2', '$1,2', ',']) {
    const p = priceOf('codex', { COVEN_PRICE_CODEX: bad });
    assert.is(p.kind, 'bad', bad);
    if (p.kind === 'bad') assert.match(p.problem, /^COVEN_PRICE_CODEX=".*" is not "<input \$ per Mtok>,<output \$ per Mtok>" \(e\.g\. COVEN_PRICE_CODEX=1\.25,10\); the cost is shown as tokens$/);
  }
});

test('the CLI\'s dollars first; else tokens × the price; else 0, unpriced', () => {
  assert.equal(sessionCost(claude, 0.42, tokens, { COVEN_PRICE_CLAUDE: '100,100' }), { costUsd: 0.42, priced: true });
  assert.equal(sessionCost(codex, undefined, tokens, { COVEN_PRICE_CODEX: '1.25,10' }), { costUsd: 2.5 + 5, priced: true });
  assert.equal(sessionCost(codex, undefined, tokens, {}), { costUsd: 0, priced: false });
  assert.equal(sessionCost(codex, undefined, undefined, { COVEN_PRICE_CODEX: '1,1' }), { costUsd: 0, priced: true });
  const bad = sessionCost(codex, undefined, tokens, { COVEN_PRICE_CODEX: 'x' });
  assert.is(bad.costUsd, 0);
  assert.is(bad.priced, false);
  assert.match(bad.problem ?? '', /COVEN_PRICE_CODEX="x"/);
});

test('tokens as shown: 950 tokens, 12.3k tokens, 4.1M tokens; counts add up', () => {
  assert.is(formatTokens({ input: 900, output: 50, cachedInput: 0 }), '950 tokens');
  assert.is(formatTokens({ input: 10_000, output: 2_345, cachedInput: 0 }), '12.3k tokens');
  assert.is(formatTokens({ input: 4_000_000, output: 100_000, cachedInput: 0 }), '4.1M tokens');
  assert.equal(addTokens(undefined, undefined), undefined);
  assert.equal(addTokens(tokens, undefined), tokens);
  assert.equal(addTokens(tokens, { input: 1, output: 2, cachedInput: 3 }), { input: 2_000_001, output: 500_002, cachedInput: 1_000_003 });
});

test.run();
