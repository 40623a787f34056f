/**
 * One command, one module: its name, summary, options and `exec` live together, and the
 * man page test walks this list to check every command is documented.
 */
import type { Command, Option } from 'commander'
import type { Display } from './display.js'
import type { ProgressSink } from '../events.js'
import { openRepoContext, type OpContext, type OpenOptions, type RepoContext } from '../ops/repo-context.js'

export interface CliContext {
  /** The command line after `tsgit`, as given (git's fetch puts it in its reflog messages). */
  argv: readonly string[]
  cwd: string
  env: NodeJS.ProcessEnv
  stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream & { isTTY?: boolean }
  /** `git -c key=value` given before the command name. */
  configOverrides: string[]
  /** false with `tsgit --no-lazy-fetch` (GIT_NO_LAZY_FETCH=1 is read from env by the operations). */
  lazyFetch: boolean
  /** Builds the display once the command knows --quiet / --progress. */
  display(opts: { quiet?: boolean; progress?: boolean }): Display
  /** Aborted on SIGINT/SIGTERM so operations can clean up. */
  signal: AbortSignal
}

/** What commander's parse leaves out and a command may need. */
export interface CommandLine {
  /** How many operands came before `--`; undefined when there was no `--`. */
  dashDash: number | undefined
}

export interface CommandModule {
  name: string
  summary: string
  /** Adds arguments and options to the commander command. */
  configure(cmd: Command): void
  /** Runs the command; resolves to the exit code (0 when undefined). */
  exec(ctx: CliContext, args: string[], opts: Record<string, unknown>, line: CommandLine): Promise<number | void>
}

function takesValue(option: Option, next: string | undefined): boolean {
  if (next === undefined) return false
  // commander gives an optional value only a word that does not look like an option
  return option.required || (option.optional && !(next.length > 1 && next.startsWith('-')))
}

/**
 * How many operands came before the first `--` among a command's own words (those after
 * its name), or undefined when there is none. commander consumes the `--` without a
 * trace, and for some commands it changes what an operand means (checkout: paths
 * follow it). The words are walked as commander walks them, so that an option's value
 * (`-b --`) is neither an operand nor the separator. Not for a command with
 * passThroughOptions, whose words after the first operand are not parsed at all.
 */
export function operandsBeforeDashDash(cmd: Command, words: readonly string[]): number | undefined {
  let operands = 0
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string
    if (word === '--') return operands
    if (word.length < 2 || !word.startsWith('-')) {
      operands++
      continue
    }
    if (word.startsWith('--')) {
      const option = cmd.options.find((o) => o.long === word)
      if (option !== undefined && takesValue(option, words[i + 1])) i++
      continue
    }
    // -abc: short flags, until one that takes a value: the rest of the word, else the next word
    for (let j = 1; j < word.length; j++) {
      const option = cmd.options.find((o) => o.short === `-${word[j] as string}`)
      if (option === undefined || !(option.required || option.optional)) continue
      if (j === word.length - 1 && takesValue(option, words[i + 1])) i++
      break
    }
  }
  return undefined
}

/** The operations' context for a command that has built its display. */
export function opContext(ctx: CliContext, sink: ProgressSink): OpContext {
  return { cwd: ctx.cwd, env: ctx.env, sink, signal: ctx.signal, configOverrides: ctx.configOverrides }
}

/**
 * Opens the repository for an operation, runs `fn`, and closes the object store
 * whether `fn` succeeds or throws.
 */
export async function withRepoContext<T>(ctx: CliContext, sink: ProgressSink, options: OpenOptions, fn: (rc: RepoContext) => Promise<T>): Promise<T> {
  const rc = await openRepoContext(opContext(ctx, sink), options)
  try {
    return await fn(rc)
  } finally {
    await rc.store.close()
  }
}

/** `-q/--quiet` and `--progress`/`--no-progress` as the display takes them; progress undefined leaves it to the terminal. */
export function displayOptions(opts: Record<string, unknown>): { quiet: boolean; progress: boolean | undefined } {
  return { quiet: opts.quiet === true, progress: typeof opts.progress === 'boolean' ? opts.progress : undefined }
}

/** commander's argument parser for an option that may be given several times. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

/** Writes to stdout (a string is a byte string: one char per byte), waiting when the stream asks us to. */
export async function writeOut(stream: NodeJS.WritableStream, data: Buffer | string): Promise<void> {
  if (data.length === 0) return
  if (!stream.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()))
}
