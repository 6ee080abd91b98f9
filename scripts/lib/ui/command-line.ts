// command-line — what every coven command does alike with its arguments: parse them
// (minimist), answer --help, and refuse an option it does not know, a stray argument, a
// valued option without its value or a switch given one (`--json=no`): exit 64, in one
// line that names the problem and one that points to --help, so that a typo such as
// `coven gc --dryrun` never runs the real thing.
//
// Inputs: argv and the command's spec. Outputs: the parsed arguments, or the exit code
// after --help or a usage error has been printed.

import minimist from 'minimist';

export interface CommandSpec {
  /** e.g. `coven gc`: starts every usage error */
  command: string;
  usage: string;
  boolean?: string[];
  /** options that take a value: when given, exactly one, not empty */
  string?: string[];
  alias?: Record<string, string>;
  default?: Record<string, unknown>;
  /** how many plain arguments the command takes (default none) */
  positional?: number;
  /** keep the arguments after `--` in `args['--']` */
  passThrough?: boolean;
}

export type CommandLine = { kind: 'run'; args: minimist.ParsedArgs } | { kind: 'exit'; code: number };

export function parseCommandLine(argv: string[], spec: CommandSpec): CommandLine {
  const alias = { h: 'help', ...spec.alias };
  const args = minimist(argv, { boolean: [...(spec.boolean ?? []), 'help'], string: ['_', ...(spec.string ?? [])], alias, default: spec.default ?? {}, '--': spec.passThrough ?? false });
  const valued = switchGivenValue(argv, spec, alias);
  if (valued) return usageError(spec, valued);
  if (args.help) {
    process.stdout.write(spec.usage);
    return { kind: 'exit', code: 0 };
  }
  const problem = usageProblem(args, spec, alias);
  return problem ? usageError(spec, problem) : { kind: 'run', args };
}

/** Prints `<command>: <problem>` and where the usage is; exit 64. */
export function usageError(spec: Pick<CommandSpec, 'command' | 'usage'>, problem: string): { kind: 'exit'; code: number } {
  process.stderr.write(`${spec.command}: ${problem}\n${spec.command} --help shows the usage.\n`);
  return { kind: 'exit', code: 64 };
}

/** `--json=no` (minimist would read it as --json): a switch takes no value, refused. */
function switchGivenValue(argv: string[], spec: CommandSpec, alias: Record<string, string>): string | null {
  const switches = new Set(['help', ...(spec.boolean ?? [])]);
  const end = argv.indexOf('--');
  for (const arg of end < 0 ? argv : argv.slice(0, end)) {
    const m = /^--(?:no-)?([^=]+)=/.exec(arg);
    if (m && switches.has(alias[m[1]!] ?? m[1]!)) return `${arg.slice(0, arg.indexOf('='))} takes no value (got ${arg})`;
  }
  return null;
}

function usageProblem(args: minimist.ParsedArgs, spec: CommandSpec, alias: Record<string, string>): string | null {
  const known = new Set(['_', '--', 'help', ...(spec.boolean ?? []), ...(spec.string ?? []), ...Object.keys(alias), ...Object.values(alias)]);
  const unknown = Object.keys(args).find((k) => !known.has(k));
  if (unknown) return `unknown option --${unknown}`;
  const positional = spec.positional ?? 0;
  if (args._.length > positional) return `unexpected argument '${String(args._[positional])}'`;
  for (const name of spec.string ?? []) {
    const value: unknown = args[name];
    if (Array.isArray(value)) return `--${name} is given more than once`;
    if (value === '') return `--${name} needs a value`;
  }
  return null;
}
