/**
 * The CLI entry: builds the commander program from the command modules, runs one,
 * and is the one place that turns errors into git's messages and exit codes
 * (128 fatal, 129 usage).
 */
import { Command, CommanderError } from 'commander'
import { accessSync, constants as fsConstants, realpathSync, statSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { EXIT_FATAL, EXIT_USAGE, RepositoryError, isTsgitError } from '../errors.js'
import { adoptLauncherEnvironment } from '../ops/launcher.js'
import { VERSION } from '../version.js'
import { collect, operandsBeforeDashDash, type CliContext, type CommandLine, type CommandModule } from './command.js'
import { commandIndex, commandName } from './command-name.js'
import { Display } from './display.js'
import { commands } from './commands/index.js'

/**
 * The commander program. With `only`, the name of a command, that command alone is set
 * up (a command line runs one; setting up the others is a few milliseconds of every
 * start); without it, or when no command has that name, all of them (help lists them,
 * an unknown command is reported against them).
 */
export function buildProgram(ctx: Omit<CliContext, 'lazyFetch'>, onRun: (p: Promise<number>) => void, only?: string): Command {
  const program = new Command('tsgit')
  program
    .description('A Git client for very large repositories: partial clone over protocol v2, lazy fetch, resumable clones.')
    .version(VERSION, '--version', 'print the tsgit version')
    .option('-C <path>', 'run as if started in <path> (several: each relative to the one before)', (dir: string, previous: string | undefined) => changeDirectory(previous ?? ctx.cwd, dir))
    .option('-c <name=value>', 'set a configuration value for this run', collect, [])
    .option('--no-lazy-fetch', 'do not fetch missing objects from promisor remotes on demand')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    })
  const wanted = commands.filter((mod) => mod.name === only)
  for (const mod of wanted.length > 0 ? wanted : commands) {
    const cmd = program.command(mod.name).description(mod.summary).exitOverride()
    cmd.configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) })
    mod.configure(cmd)
    cmd.action((...actionArgs: unknown[]) => {
      const command = actionArgs[actionArgs.length - 1] as Command
      const opts = command.opts<Record<string, unknown>>()
      const globals = program.opts<{ C?: string; c: string[]; lazyFetch?: boolean }>()
      const runCtx: CliContext = {
        ...ctx,
        lazyFetch: globals.lazyFetch !== false,
        cwd: globals.C ?? ctx.cwd,
        configOverrides: [...ctx.configOverrides, ...globals.c],
      }
      const words = ctx.argv.slice((commandIndex(ctx.argv) ?? ctx.argv.length) + 1)
      onRun(runCommand(mod, runCtx, command.args, opts, { dashDash: operandsBeforeDashDash(command, words) }))
    })
  }
  return program
}

/** strerror's words for what chdir(2) can fail with, as git prints them. */
const CHDIR_ERRORS: Record<string, string> = {
  ENOENT: 'No such file or directory',
  ENOTDIR: 'Not a directory',
  EACCES: 'Permission denied',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
}

/**
 * `-C <dir>` as git takes it: a chdir, so a relative <dir> goes from where the `-C`
 * before it led, `..` is taken after symbolic links are followed, and an empty <dir>
 * changes nothing. A directory that cannot be entered is fatal with git's words, before
 * the command is even looked at. Returns the physical path (what getcwd gives).
 */
export function changeDirectory(from: string, dir: string): string {
  if (dir === '') return from
  let real: string
  try {
    // realpath(3) itself, not Node's: that one normalises `a/..` before following `a`
    real = realpathSync.native(isAbsolute(dir) ? dir : `${from}/${dir}`)
  } catch (e) {
    throw cannotChange(dir, e)
  }
  if (!statSync(real).isDirectory()) throw cannotChange(dir, { code: 'ENOTDIR' })
  try {
    accessSync(real, fsConstants.X_OK)
  } catch (e) {
    throw cannotChange(dir, e)
  }
  return real
}

function cannotChange(dir: string, e: unknown): RepositoryError {
  const code = (e as { code?: unknown }).code
  const why = typeof code === 'string' ? CHDIR_ERRORS[code] : undefined
  return new RepositoryError(`cannot change to '${dir}': ${why ?? (e instanceof Error ? e.message : String(e))}`, { cause: e })
}

async function runCommand(mod: CommandModule, ctx: CliContext, args: string[], opts: Record<string, unknown>, line: CommandLine): Promise<number> {
  const code = await mod.exec(ctx, args, opts, line)
  return code ?? 0
}

/** Renders an error the way git would and returns the exit code. */
export function reportError(e: unknown, stderr: NodeJS.WritableStream, debug: boolean): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0
    return e.exitCode === 0 ? 0 : EXIT_USAGE
  }
  if (isTsgitError(e)) {
    const prefix = e.exitCode === EXIT_USAGE ? 'error' : 'fatal'
    stderr.write(`${prefix}: ${e.message}\n`)
    // What to do next, on a line of its own (an unfinished clone: how to finish it).
    const hint = (e as { hint?: unknown }).hint
    if (typeof hint === 'string') stderr.write(`hint: ${hint}\n`)
    if (debug && e.stack) stderr.write(`${e.stack}\n`)
    return e.exitCode
  }
  const err = e as { code?: unknown; message?: unknown; stack?: unknown }
  if (err && err.code === 'ENOSPC') {
    stderr.write(`fatal: no space left on device: ${String(err.message)}\n`)
    return EXIT_FATAL
  }
  stderr.write(`fatal: ${e instanceof Error ? e.message : String(e)}\n`)
  if (debug && e instanceof Error && e.stack) stderr.write(`${e.stack}\n`)
  return EXIT_FATAL
}

/** Runs the CLI with `argv` (without node and script) and resolves to the exit code. */
export async function run(argv: string[], io: Pick<CliContext, 'cwd' | 'env' | 'stdin' | 'stdout' | 'stderr'>, signal: AbortSignal): Promise<number> {
  const debug = io.env.TSGIT_DEBUG === '1'
  let pending: Promise<number> | undefined
  const displays: Display[] = []
  const ctx = {
    ...io,
    argv,
    configOverrides: [] as string[],
    signal,
    display: (o: { quiet?: boolean; progress?: boolean }) => {
      const d = new Display({ stderr: io.stderr, quiet: o.quiet, progress: o.progress })
      displays.push(d)
      return d
    },
  }
  const program = buildProgram(ctx, (p) => {
    pending = p
  }, commandName(argv))
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true })
      return 1
    }
    await program.parseAsync(argv, { from: 'user' })
    if (pending === undefined) return 0
    return await pending
  } catch (e) {
    // Interrupted: the operation has cleaned up; exit as a process killed by the signal
    // would, saying what to do when it kept something to finish.
    if (signal.aborted) {
      const code = signal.reason instanceof InterruptSignal ? signal.reason.exitCode : 130
      if (typeof (e as { hint?: unknown } | null)?.hint === 'string') {
        for (const d of displays) d.endLine()
        reportError(e, io.stderr, debug)
      }
      return code
    }
    for (const d of displays) d.endLine()
    return reportError(e, io.stderr, debug)
  }
}

/** The reason given to the AbortController when a signal arrives. */
export class InterruptSignal extends Error {
  readonly exitCode: number
  constructor(sig: NodeJS.Signals) {
    super(`interrupted by ${sig}`)
    this.exitCode = sig === 'SIGINT' ? 130 : 143
  }
}

/** The bin's entry: runs, then exits once with the code. */
export function main(argv: string[]): void {
  adoptLauncherEnvironment(process.env)
  const controller = new AbortController()
  const onSignal = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : 143)
    controller.abort(new InterruptSignal(sig))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  run(argv, { cwd: process.cwd(), env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, controller.signal).then(
    (code) => {
      // Interrupted and cleaned up: leave now rather than wait for helper processes
      // (an ssh pipeline, say) that may hold pipes open after they were told to stop.
      if (controller.signal.aborted) process.exit(code)
      process.exitCode = code
    },
    (e: unknown) => {
      process.exitCode = reportError(e, process.stderr, process.env.TSGIT_DEBUG === '1')
    },
  )
}
