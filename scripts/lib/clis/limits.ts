// limits — how big a command line may be. Linux refuses to start a program (spawn
// E2BIG) when one argument is over 128 KiB (MAX_ARG_STRLEN) or the arguments and the
// environment together are over ARG_MAX (commonly 2 MiB, less with a small stack limit).
// Adapters keep coven's own text under MAX_ARG_BYTES (Claude Code moves a big system
// text onto stdin); the session runner refuses to start anything bigger (cli-invocation.ts).

/** one argument's limit: under Linux's 128 KiB per argument, with room to spare */
export const MAX_ARG_BYTES = 100 * 1024;
/** the arguments and environment together: half of the common 2 MiB ARG_MAX */
export const MAX_COMMAND_LINE_BYTES = 1024 * 1024;

export const bytesOf = (s: string): number => Buffer.byteLength(s, 'utf8');
