// remote-help — every step that talks to the remote names, in its --help, the env of
// remote mode it reads (its usage text is its contract).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { coven } from './helpers/repo.js';

const everyStep = ['worker', 'land', 'resolve', 'spawn', 'wait', 'status', 'gc', 'dispatch'];
const reads: Record<string, string[]> = {
  COVEN_MACHINE: everyStep,
  COVEN_REMOTE_TIMEOUT_MS: everyStep,
  COVEN_REMOTE_POLL_MS: ['worker', 'wait'],
  COVEN_CLAIM_LEASE_MS: ['worker', 'dispatch', 'status'],
};

test('each remote step\'s --help lists COVEN_MACHINE, COVEN_REMOTE_TIMEOUT_MS and, where it reads them, COVEN_REMOTE_POLL_MS and COVEN_CLAIM_LEASE_MS', async () => {
  for (const step of everyStep) {
    const r = await coven([step, '--help']);
    assert.is(r.code, 0, `${step}: ${r.stderr}`);
    for (const [env, steps] of Object.entries(reads)) if (steps.includes(step)) assert.ok(r.stdout.includes(env), `coven ${step} --help names ${env}`);
    assert.match(r.stdout, /--remote/, `coven ${step} --help names --remote`);
  }
});

test.run();
