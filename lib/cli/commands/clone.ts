import { Option, type Command } from 'commander'
import { collect, displayOptions, opContext, type CommandModule } from '../command.js'
import { parseApproxDate } from '../../ops/approxidate.js'
import { clone } from '../../ops/clone.js'
import { TsgitError, UsageError } from '../../errors.js'

/** --retries <n>: a count, 0 or more. */
export function parseRetries(value: unknown): number | undefined {
  if (value === undefined) return undefined
  const text = String(value)
  if (!/^\d{1,6}$/.test(text)) throw new UsageError(`--retries takes a number of tries, 0 or more (got '${text}')`)
  return Number(text)
}

export const cloneCommand: CommandModule = {
  name: 'clone',
  summary: 'Clone a repository into a new directory, optionally as a partial clone (--filter)',
  configure(cmd: Command) {
    cmd
      .argument('<repository>', 'the repository to clone (URL or path)')
      .argument('[directory]', 'the new directory (default: derived from the URL)')
      .option('--filter <filter-spec>', 'partial clone: leave out the objects the spec names (repeatable)', collect)
      .option('-n, --no-checkout', 'do not check out HEAD after the clone')
      .option('--bare', 'make a bare repository')
      .option('-b, --branch <name>', 'check out <name> instead of the remote HEAD')
      .option('-o, --origin <name>', 'use <name> instead of "origin" for the remote')
      .option('--single-branch', 'clone only the history of one branch')
      .option('--no-single-branch', 'clone the history of all branches (default)')
      .option('--no-tags', 'do not clone tags, and set remote.<name>.tagOpt=--no-tags')
      .option('--depth <depth>', 'a shallow clone with the last <depth> commits of history (implies --single-branch)')
      .option('--shallow-since <date>', 'a shallow clone with the history after <date> (implies --single-branch)')
      .option('--shallow-exclude <ref>', 'a shallow clone whose history stops where it reaches the remote\'s <ref> (repeatable; implies --single-branch)', collect)
      .option('-q, --quiet', 'be quiet')
      .addOption(new Option('--progress', 'show progress even when stderr is not a terminal'))
      .option('-c, --config <key=value>', 'set configuration in the new repository (repeatable)', collect)
      .option('--bundle-uri <uri>', 'unbundle the bundles <uri> offers (a bundle or a bundle list) before fetching the rest from the remote')
      .option('--sparse', 'a sparse checkout: only the files at the top are checked out (tsgit sparse-checkout adds directories)')
      .option('--retries <n>', 'tries after the first, by resuming, for a failure a retry may get past (default clone.retries, else 3)')
  },
  async exec(ctx, args, opts) {
    const [url, directory] = args
    if (url === undefined || url === '') throw new UsageError('You must specify a repository to clone.')
    const { quiet, progress } = displayOptions(opts)
    const display = ctx.display({ quiet, progress })
    const configs = (opts.config as string[] | undefined) ?? []
    for (const c of configs) {
      if (!c.includes('=') && !/^[^.]+\.[^=]+$/.test(c)) throw new UsageError(`bad config declaration '${c}'`)
    }
    const depthArg = opts.depth as string | undefined
    const depth = depthArg === undefined ? undefined : /^\d+$/.test(depthArg) ? Number(depthArg) : NaN
    if (depth !== undefined && !(depth > 0 && Number.isSafeInteger(depth))) throw new TsgitError('E_DEPTH', `depth ${depthArg} is not a positive number`)
    const retries = parseRetries(opts.retries)
    const shallowSince = typeof opts.shallowSince === 'string' ? parseApproxDate(opts.shallowSince) : undefined
    const shallowExclude = (opts.shallowExclude as string[] | undefined) ?? []
    await clone(
      opContext(ctx, display),
      {
        url,
        directory,
        bare: opts.bare === true,
        checkout: opts.checkout !== false,
        branch: opts.branch as string | undefined,
        origin: opts.origin as string | undefined,
        singleBranch: opts.singleBranch as boolean | undefined,
        tags: opts.tags !== false,
        filters: (opts.filter as string[] | undefined) ?? [],
        config: configs,
        ...(depth !== undefined ? { depth } : {}),
        ...(shallowSince !== undefined ? { shallowSince } : {}),
        ...(shallowExclude.length > 0 ? { shallowExclude } : {}),
        ...(retries !== undefined ? { retries } : {}),
        ...(typeof opts.bundleUri === 'string' ? { bundleUri: opts.bundleUri } : {}),
        ...(opts.sparse === true ? { sparse: true } : {}),
      },
    )
    return 0
  },
}
