// session-runner bench — what the session runner costs on top of the agent CLI:
//   1. stream-json parsing throughput (split + zod parse + fold) on a 50 MB stream of
//      events shaped like the captured samples, in MB/s;
//   2. a whole runSession() with the fake claude against spawning the fake directly
//      (the same process, the same prompt), as a ratio;
//   3. the same for a 50 MB session (5000 events of 10 KB), the runner also writing its log.
// Prints figures (median of several runs); asserts nothing.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LineSplitter, emptySummary, foldLine, parseStreamLine } from '../scripts/lib/session/stream-json.js';
import { runSession } from '../scripts/lib/session/runner.js';
import { cliSamplesDir, fakeClaudeEnv, runFake, userMessage } from '../test/helpers/fake-claude.js';
import { tempDir, tempRepo } from '../test/helpers/repo.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed(n: number, fn: () => Promise<void> | void): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

// 1. parsing
const sample = readFileSync(join(cliSamplesDir(), 'tool-use-success.jsonl'));
const copies = Math.ceil(50e6 / sample.length);
const stream = Buffer.concat(Array.from({ length: copies }, () => sample));
const parseMs = await timed(5, () => {
  const splitter = new LineSplitter();
  const summary = emptySummary();
  for (let i = 0; i < stream.length; i += 64 * 1024) for (const line of splitter.push(stream.subarray(i, i + 64 * 1024))) foldLine(summary, parseStreamLine(line));
});
console.log(`parse ${(stream.length / 1e6).toFixed(0)} MB of stream-json (${copies * 8} events): ${parseMs.toFixed(0)} ms, ${(stream.length / 1e6 / (parseMs / 1000)).toFixed(0)} MB/s`);

// 2. runner overhead
const repo = await tempRepo();
const env = fakeClaudeEnv(null);
const args = ['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json', '--permission-mode', 'acceptEdits'];
const direct = await timed(7, async () => {
  await runFake(args, { cwd: repo, env, input: userMessage('hi') });
});
const viaRunner = await timed(7, async () => {
  const o = await runSession({ cwd: repo, prompt: 'hi', env: { ...process.env, ...env } });
  if (o.kind !== 'success') throw new Error(`session failed: ${JSON.stringify(o)}`);
});
console.log(`one short session: fake alone ${direct.toFixed(0)} ms, through runSession ${viaRunner.toFixed(0)} ms (×${(viaRunner / direct).toFixed(2)})`);

// 3. a 50 MB session: the fake writing 5000 events of 10 KB, alone vs through runSession (parsed and logged)
const bigEnv = fakeClaudeEnv([{ times: 'unlimited', steps: [{ noise: { events: 5000, bytes: 10_000 } }, { text: 'done' }] }]);
const bigAlone = await timed(3, async () => {
  await runFake(args, { cwd: repo, env: bigEnv, input: userMessage('hi') });
});
const logDir = tempDir();
let n = 0;
const bigViaRunner = await timed(3, async () => {
  const o = await runSession({ cwd: repo, prompt: 'hi', env: { ...process.env, ...bigEnv }, logFile: join(logDir, `${n++}.jsonl`) });
  if (o.kind !== 'success') throw new Error(`session failed: ${JSON.stringify(o)}`);
});
console.log(`a 50 MB session: fake alone ${bigAlone.toFixed(0)} ms, through runSession with its log ${bigViaRunner.toFixed(0)} ms (×${(bigViaRunner / bigAlone).toFixed(2)}); runner heap after: ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`);
