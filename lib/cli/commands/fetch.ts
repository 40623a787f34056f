import type { Command } from 'commander'
import { displayOptions, opContext, type CommandModule } from '../command.js'
import { commandIndex } from '../command-name.js'
import { fetch, type RefUpdate } from '../../ops/fetch.js'

/** git's report line: flag, summary in 17 columns, the remote ref in `width`, the local one, the reason. */
export function reportLine(u: RefUpdate, width: number): string {
  return ` ${u.flag} ${u.summary.padEnd(17)} ${u.src.padEnd(width)} -> ${u.dst}${u.reason !== undefined ? `  ${u.reason}` : ''}`
}

/**
 * The width of the remote-ref column, as git works it out: at least 10, and as wide as
 * the widest name of a line that would fit the terminal (`columns`; 80 when there is none).
 */
export function refColumnWidth(updates: readonly RefUpdate[], columns: number): number {
  let width = 10
  for (const u of updates) if (21 + u.src.length + 4 + u.dst.length < columns) width = Math.max(width, u.src.length)
  return width
}

/** git's term_columns(): $COLUMNS, else the width of standard output when it is a terminal, else 80. */
function terminalColumns(env: NodeJS.ProcessEnv, stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }): number {
  const fromEnv = Number(env.COLUMNS)
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv
  return stdout.isTTY === true && typeof stdout.columns === 'number' && stdout.columns > 0 ? stdout.columns : 80
}

export const fetchCommand: CommandModule = {
  name: 'fetch',
  summary: 'Download objects and refs from a remote through its configured refspecs',
  configure(cmd: Command) {
    cmd
      .argument('[remote]', 'the remote (default: the current branch\'s remote, else origin)')
      .argument('[refspec...]', '<src>[:<dst>] (dst a full ref name), + to force, a glob, or an object id; default: remote.<name>.fetch')
      .option('--tags', 'fetch every tag as well')
      .option('--no-tags', 'do not follow tags')
      .option('-p, --prune', 'delete the remote-tracking refs whose branch the remote no longer has')
      .option('--no-prune', 'do not prune, whatever remote.<name>.prune and fetch.prune say')
      .option('-q, --quiet', 'be quiet')
      .option('--progress', 'show progress even when stderr is not a terminal')
      .option('--no-progress', 'do not show progress')
  },
  async exec(ctx, args, opts) {
    const [remote, ...refspecs] = args
    const at = commandIndex(ctx.argv)
    const shownOptions = displayOptions(opts)
    const display = ctx.display(shownOptions)
    const tags = opts.tags === true ? true : opts.tags === false ? false : undefined
    const r = await fetch(opContext(ctx, display), {
      ...(remote !== undefined ? { remote } : {}),
      refspecs,
      ...(tags !== undefined ? { tags } : {}),
      ...(typeof opts.prune === 'boolean' ? { prune: opts.prune } : {}),
      args: at === undefined ? [] : ctx.argv.slice(at + 1),
    })
    const shown = r.updates.filter((u) => u.flag !== '=')
    // Nothing under --quiet, refusals included (the exit status says it), as git.
    const lines = shownOptions.quiet ? [] : shown
    if (lines.length > 0) {
      const width = refColumnWidth(shown, terminalColumns(ctx.env, ctx.stdout))
      ctx.stderr.write(`From ${r.url}\n${lines.map((u) => reportLine(u, width)).join('\n')}\n`)
    }
    return r.rejected > 0 ? 1 : 0
  },
}
