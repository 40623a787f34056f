import type { Command } from 'commander'
import { collect, displayOptions, opContext, type CommandModule } from '../command.js'
import { commandIndex } from '../command-name.js'
import { TsgitError } from '../../errors.js'
import { parseApproxDate } from '../../ops/approxidate.js'
import { fetch, remotesForAll, type RefUpdate } from '../../ops/fetch.js'

/** A count git's fetch reads with atoi-like strictness: digits only, else its words. */
function count(value: unknown, what: (v: string) => string): number | undefined {
  if (value === undefined) return undefined
  const text = String(value)
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new TsgitError('E_DEPTH', what(text))
  return Number(text)
}

/** git's report line: flag, summary in `summaryWidth` columns, the remote ref in `width`, the local one, the reason. */
export function reportLine(u: RefUpdate, width: number, summaryWidth: number): string {
  return ` ${u.flag} ${u.summary.padEnd(summaryWidth)} ${u.src.padEnd(width)} -> ${u.dst}${u.reason !== undefined ? `  ${u.reason}` : ''}`
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
      .option('--depth <depth>', 'cut the history to <depth> commits below each tip fetched')
      .option('--deepen <depth>', '<depth> more commits of history behind the current shallow boundary')
      .option('--unshallow', 'fetch the whole history of a shallow repository')
      .option('--shallow-since <date>', 'cut the history at commits older than <date>')
      .option('--shallow-exclude <ref>', 'cut the history where it reaches the remote\'s <ref> (repeatable)', collect)
      .option('--update-shallow', 'accept commits the remote\'s own shallow history ends at (tsgit always does)')
      .option('--filter <filter-spec>', 'partial fetch: leave out the objects the spec names; the remote becomes a promisor remote')
      .option('--no-filter', 'fetch without a filter, whatever remote.<name>.partialclonefilter says')
      .option('--refetch', 'fetch everything the refspecs name as if nothing were here (no haves)')
      .option('--negotiation-tip <commit|glob>', 'offer only the history of these commits or refs as haves (repeatable)', collect)
      .option('--no-recurse-submodules', 'do not fetch submodules (tsgit never does)')
      .option('--dry-run', 'show what would be done: objects are fetched, no ref is written, nor FETCH_HEAD')
      .option('--atomic', 'write every ref in one transaction: none if one is refused')
      .option('-a, --append', 'add to FETCH_HEAD instead of replacing it')
      .option('--all', 'fetch every remote')
  },
  async exec(ctx, args, opts) {
    const [remote, ...refspecs] = args
    const at = commandIndex(ctx.argv)
    const shownOptions = displayOptions(opts)
    const display = ctx.display(shownOptions)
    let remotes: (string | undefined)[] = [remote]
    if (opts.all === true) {
      if (remote !== undefined) throw new TsgitError('E_USAGE_ALL', refspecs.length > 0 ? 'fetch --all does not make sense with refspecs' : 'fetch --all does not take a repository argument')
      remotes = await remotesForAll(opContext(ctx, display))
    }
    const tags = opts.tags === true ? true : opts.tags === false ? false : undefined
    const depth = count(opts.depth, (v) => `depth ${v} is not a positive number`)
    const deepen = count(opts.deepen, (v) => `depth ${v} is not a positive number`)
    const shallowSince = typeof opts.shallowSince === 'string' ? parseApproxDate(opts.shallowSince) : undefined
    const shallowExclude = (opts.shallowExclude as string[] | undefined) ?? []
    const negotiationTips = (opts.negotiationTip as string[] | undefined) ?? []
    const fetchOne = async (name: string | undefined, append: boolean): Promise<number> => {
      const r = await fetch(opContext(ctx, display), {
        ...(name !== undefined ? { remote: name } : {}),
        ...(opts.dryRun === true ? { dryRun: true } : {}),
        ...(opts.atomic === true ? { atomic: true } : {}),
        ...(opts.append === true || append ? { appendFetchHead: true } : {}),
        refspecs,
        ...(tags !== undefined ? { tags } : {}),
        ...(typeof opts.prune === 'boolean' ? { prune: opts.prune } : {}),
        ...(depth !== undefined ? { depth } : {}),
        ...(deepen !== undefined ? { deepen } : {}),
        ...(opts.unshallow === true ? { unshallow: true } : {}),
        ...(shallowSince !== undefined ? { shallowSince } : {}),
        ...(shallowExclude.length > 0 ? { shallowExclude } : {}),
        ...(typeof opts.filter === 'string' ? { filter: opts.filter } : opts.filter === false ? { noFilter: true } : {}),
        ...(opts.refetch === true ? { refetch: true } : {}),
        ...(negotiationTips.length > 0 ? { negotiationTips } : {}),
        args: at === undefined ? [] : ctx.argv.slice(at + 1),
      })
      const shown = r.updates.filter((u) => u.flag !== '=')
      // Nothing under --quiet, refusals included (the exit status says it), as git.
      const lines = shownOptions.quiet ? [] : shown
      if (lines.length > 0) {
        const width = refColumnWidth(shown, terminalColumns(ctx.env, ctx.stdout))
        ctx.stderr.write(`From ${r.url}\n${lines.map((u) => reportLine(u, width, r.summaryWidth)).join('\n')}\n`)
      }
      // git prints an empty "error: " here; tsgit says what happened
      if (r.atomicFailed === true) ctx.stderr.write('error: fetch --atomic: an update was refused, no ref was updated\n')
      return r.rejected > 0 ? 1 : 0
    }
    // Several remotes, as git's fetch_multiple: each announced, FETCH_HEAD added to by each
    // after the first, a failure reported and the others fetched all the same.
    const many = remotes.length > 1
    let status = 0
    for (const [i, name] of remotes.entries()) {
      if (many && !shownOptions.quiet) ctx.stdout.write(`Fetching ${name}\n`)
      try {
        status = Math.max(status, await fetchOne(name, i > 0))
      } catch (e) {
        if (!many || !(e instanceof TsgitError)) throw e
        ctx.stderr.write(`fatal: ${e.message}\nerror: could not fetch ${name}\n`)
        status = 1
      }
    }
    return status
  },
}
