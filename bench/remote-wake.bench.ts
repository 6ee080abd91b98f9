// remote-wake — remote mode's waking at the DEFAULT interval (COVEN_REMOTE_POLL_MS unset:
// one `git ls-remote` every 30 s ± 20 % per sleeper): 16 sleeping `coven worker --remote
// origin` spread over 4 clones (= machines), the fake claude answering every dispatch with
// sleep, against `git daemon` on loopback.
//   (a) the server's load: requests per minute (git daemon --verbose: upload-pack = an
//       ls-remote or a fetch, receive-pack = a push: the state heartbeats, every lease/3)
//       and the CPU time of the daemon and all its children per minute (/proc/<pid>/stat:
//       utime + stime + cutime + cstime), idle and with the 16 sleepers;
//   (b) the wake latency: a human pushes the remote's main from another clone; the time
//       from the end of that push until each sleeper's state file leaves `sleeping`,
//       p50/p95 over several pushes × 16 sleepers.
// Prints figures; never asserts.
//   env: COVEN_BENCH_SLEEPERS (16), COVEN_BENCH_MACHINES (4), COVEN_BENCH_LOAD_MIN (3, the
//        window of (a)), COVEN_BENCH_IDLE_MIN (1), COVEN_BENCH_PUSHES (5; 0: the load only)

import { readdirSync, readFileSync } from 'node:fs';
import { startGitDaemon } from '../test/helpers/git-daemon.js';
import { machineClone, serveRepository } from '../test/helpers/git-daemon.js';
import { covenRepo } from '../test/helpers/coven-repo.js';
import { pushFrom, remoteWorker } from '../test/helpers/remote-machines.js';
import { phaseOf, stopAll, waitFor, type WorkerProc } from '../test/helpers/worker-procs.js';

const num = (name: string, d: number) => (Number(process.env[name]) >= 0 && process.env[name]?.trim() ? Number(process.env[name]) : d);
const SLEEPERS = num('COVEN_BENCH_SLEEPERS', 16);
const MACHINES = num('COVEN_BENCH_MACHINES', 4);
const LOAD_MIN = num('COVEN_BENCH_LOAD_MIN', 3);
const IDLE_MIN = num('COVEN_BENCH_IDLE_MIN', 1);
const PUSHES = num('COVEN_BENCH_PUSHES', 5);

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
}
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * CPU time (ms) of the daemon's process group (the `git` wrapper, `git-daemon` and the
 * children serving requests): each one's own time and that of the children it reaped.
 */
function cpuMs(pgid: number): number {
  let ticks = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) !== pgid) continue; // f[2]: the process group
      ticks += [11, 12, 13, 14].reduce((sum, i) => sum + Number(f[i] ?? 0), 0);
    } catch {
      // gone meanwhile: its time is in its parent's cutime once reaped
    }
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

interface Counts {
  upload: number;
  receive: number;
  connections: number;
}

async function window(pid: number, counts: Counts, minutes: number): Promise<{ perMin: Counts; cpuMsPerMin: number }> {
  const before = { ...counts };
  const cpu0 = cpuMs(pid);
  await new Promise((r) => setTimeout(r, minutes * 60_000));
  const cpu1 = cpuMs(pid);
  const per = (k: keyof Counts) => (counts[k] - before[k]) / minutes;
  return { perMin: { upload: per('upload'), receive: per('receive'), connections: per('connections') }, cpuMsPerMin: (cpu1 - cpu0) / minutes };
}

function describeLoad(label: string, l: { perMin: Counts; cpuMsPerMin: number }): string {
  return `${label}: ${l.perMin.connections.toFixed(1)} requests/min (upload-pack ${l.perMin.upload.toFixed(1)}, receive-pack ${l.perMin.receive.toFixed(1)}), daemon CPU ${l.cpuMsPerMin.toFixed(0)} ms/min`;
}

async function main(): Promise<void> {
  const counts: Counts = { upload: 0, receive: 0, connections: 0 };
  const daemon = await startGitDaemon(undefined, {
    onLog: (line) => {
      if (/Connection from/.test(line)) counts.connections++;
      if (/Request upload-pack/.test(line)) counts.upload++;
      if (/Request receive-pack/.test(line)) counts.receive++;
    },
  });
  const pid = daemon.pid!;
  const url = await serveRepository(daemon, await covenRepo({}, 'bench'));
  const machines = await Promise.all(Array.from({ length: MACHINES }, (_, i) => machineClone(url, `m${i + 1}`)));
  const human = await machineClone(url, 'human');
  console.log(`${SLEEPERS} sleepers over ${MACHINES} machines; poll interval: the default (30 s ± 20 %); lease: the default (5 min, state heartbeat every 100 s)`);

  const idle = await window(pid, counts, IDLE_MIN);
  console.log(describeLoad(`idle (${IDLE_MIN} min)`, idle));

  const workers: { w: WorkerProc; clone: string; name: string }[] = [];
  for (let i = 0; i < SLEEPERS; i++) {
    const m = i % MACHINES;
    const name = `w${i + 1}`;
    workers.push({ ...remoteWorker(machines[m]!, `m${m + 1}`, name), clone: machines[m]!, name });
  }
  const asleep = () => workers.every((x) => phaseOf(x.clone, x.name) === 'sleeping');
  try {
    await waitFor(asleep, 'every sleeper asleep', 300_000);
    const loaded = await window(pid, counts, LOAD_MIN);
    console.log(describeLoad(`${SLEEPERS} sleepers (${LOAD_MIN} min)`, loaded));
    console.log(`  per sleeper: ${(loaded.perMin.connections / SLEEPERS).toFixed(2)} requests/min, ${(loaded.cpuMsPerMin / SLEEPERS).toFixed(1)} ms of daemon CPU/min`);

    const latencies: number[] = [];
    for (let p = 1; p <= PUSHES; p++) {
      await waitFor(asleep, 'every sleeper asleep again', 300_000);
      await new Promise((r) => setTimeout(r, 2_000 + Math.random() * 5_000)); // the pollers' phases drift
      await pushFrom(human, p);
      const pushed = performance.now();
      const woke = new Map<string, number>();
      await waitFor(() => {
        for (const x of workers) if (!woke.has(x.name) && phaseOf(x.clone, x.name) !== 'sleeping') woke.set(x.name, performance.now() - pushed);
        return woke.size === workers.length;
      }, `push ${p}: every sleeper awake`, 180_000);
      latencies.push(...woke.values());
      console.log(`  push ${p}: first ${sec(Math.min(...woke.values()))}, last ${sec(Math.max(...woke.values()))}`);
    }
    if (latencies.length > 0) console.log(`wake latency after a push to the remote's main (n=${latencies.length}): p50 ${sec(quantile(latencies, 0.5))}  p95 ${sec(quantile(latencies, 0.95))}  max ${sec(Math.max(...latencies))}`);
  } finally {
    await stopAll(workers.map((x) => x.w));
    await daemon.stop();
  }
}

await main();
process.exit(0);
