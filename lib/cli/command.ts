/**
 * One command, one module: its name, summary, options and `exec` live together, and the
 * man page test walks this list to check every command is documented.
 */
import type { Command } from 'commander'
import type { Display } from './display.js'

export interface CliContext {
  cwd: string
  env: NodeJS.ProcessEnv
  stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream & { isTTY?: boolean }
  /** `git -c key=value` given before the command name. */
  configOverrides: string[]
  /** Builds the display once the command knows --quiet / --progress. */
  display(opts: { quiet?: boolean; progress?: boolean }): Display
  /** Aborted on SIGINT/SIGTERM so operations can clean up. */
  signal: AbortSignal
}

export interface CommandModule {
  name: string
  summary: string
  /** Adds arguments and options to the commander command. */
  configure(cmd: Command): void
  /** Runs the command; resolves to the exit code (0 when undefined). */
  exec(ctx: CliContext, args: string[], opts: Record<string, unknown>): Promise<number | void>
}
