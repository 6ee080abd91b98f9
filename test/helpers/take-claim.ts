// take-claim — one take of a job's claim in a process of its own, for the race tests:
//   node take-claim.js <repo> <state dir> <worker> <machine> <seen main> <agent> <issue> [remote]
// The holder is the parent process (the test), which outlives this one: a holder whose
// process is gone would be taken over at once by the next taker on this host.
// Prints the TakeResult's kind (and, when taken, the claim's sha) as one JSON line.

import { hostname } from 'node:os';
import { openClaimStore } from '../../scripts/lib/claims/index.js';
import { processStartTime } from '../../scripts/lib/locks/process-identity.js';
import { machineName } from '../../scripts/lib/remote/target.js';

const [repo = '', stateDir = '', worker = '', machine = '', seenMain = '', agent = '', issue = '', remote] = process.argv.slice(2);
const store = openClaimStore({ repo, stateDir, remote: remote ? { name: remote, url: remote, main: 'main', machine: machineName({ COVEN_MACHINE: machine }) } : null });
const r = await store.take({ agent, args: { issue } }, { worker, machine, host: hostname(), pid: process.ppid, pid_start: processStartTime(process.ppid) }, seenMain);
process.stdout.write(JSON.stringify({ kind: r.kind, sha: r.kind === 'taken' ? r.claim.sha : null }) + '\n');
