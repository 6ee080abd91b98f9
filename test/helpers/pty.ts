// pty — runs a program on a pseudo-terminal, as if a human had started it in a terminal:
// its stdin, stdout and stderr are the terminal, so isTTY is true, Ctrl-C (\x03) is
// turned into SIGINT by the terminal, and typed lines arrive as a human's would.
// Uses `script` from util-linux (always installed on Debian); where it is missing
// (macOS has a BSD script), `ptyUnavailable` says why and tests skip.
//
//   const p = startPty(process.execPath, [covenBin, 'worker'], { cwd, env });
//   await p.waitFor(/working on it/);  p.type('a line\r');  const code = await p.exit;

import { spawn, spawnSync } from 'node:child_process';
import { shellQuote } from '../../scripts/lib/ui/problem.js';

/** Why no pty can be made here, or null when `script` from util-linux is available. */
export const ptyUnavailable: string | null = (() => {
  const r = spawnSync('script', ['--version'], { encoding: 'utf8' });
  if (r.error) return `no \`script\` command (util-linux) to run a pseudo-terminal: ${r.error.message}`;
  if (!/util-linux/.test(`${r.stdout}${r.stderr}`)) return '`script` is not the util-linux one (needed for -qfec)';
  // a container may have script but no /dev/pts
  const probe = spawnSync('script', ['-qfec', 'echo pty-ok', '/dev/null'], { encoding: 'utf8', input: '', timeout: 10_000 });
  if (probe.status !== 0 || !probe.stdout.includes('pty-ok')) return `\`script\` cannot open a pseudo-terminal here: ${(probe.stderr || probe.error?.message || `exit ${probe.status}`).trim()}`;
  return null;
})();

export interface Pty {
  /** everything the terminal showed so far (with escapes; lines end in \r\n) */
  output(): string;
  /** types text into the terminal (\r is Enter, \x03 is Ctrl-C) */
  type(text: string): void;
  /** resolves once the output matches (from `from` on); rejects after 30 s with the output */
  waitFor(re: RegExp, from?: number): Promise<void>;
  /** the program's exit code */
  exit: Promise<number>;
  /** ends the terminal if the program still runs (its programs get SIGHUP, as when a terminal window closes) */
  close(): void;
}

export function startPty(file: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Pty {
  // `exec`: the program itself is the terminal's foreground process, as when a human starts
  // it. Without it, a shell that does not exec its last command (dash, /bin/sh on Debian,
  // used when SHELL is unset as in CI) also gets Ctrl-C's SIGINT, dies of it, and `script`
  // reports 130 whatever the program did.
  const command = `exec ${[file, ...args].map(shellQuote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: opts.cwd, env: { ...process.env, TERM: 'xterm', ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const grow = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout.on('data', grow);
  child.stderr.on('data', grow);
  const exit = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  return {
    output: () => out,
    type: (text) => void child.stdin.write(text),
    exit,
    close: () => void (child.exitCode === null && child.signalCode === null && child.kill('SIGTERM')),
    waitFor(re, from = 0) {
      return new Promise((resolve, reject) => {
        const look = (): void => {
          if (!re.test(out.slice(from))) return;
          listeners.delete(look);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(look);
          reject(new Error(`timed out waiting for ${re}; the terminal showed:\n${out}`));
        }, 30_000);
        listeners.add(look);
        void exit.then(() => setTimeout(() => {
          if (listeners.has(look)) {
            listeners.delete(look);
            clearTimeout(timer);
            reject(new Error(`the program exited before ${re} appeared; the terminal showed:\n${out}`));
          }
        }, 100));
        look();
      });
    },
  };
}
