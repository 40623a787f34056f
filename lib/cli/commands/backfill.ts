import { Option, type Command } from 'commander'
import { displayOptions, withRepoContext, type CommandModule } from '../command.js'
import { backfill, DEFAULT_MIN_BATCH_SIZE } from '../../ops/backfill.js'
import { UsageError } from '../../errors.js'

function batchSize(text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`option \`min-batch-size' expects a non-negative integer value with an optional k/m/g suffix`)
  const n = Number(text)
  if (!Number.isSafeInteger(n)) throw new UsageError(`value ${text} for option \`min-batch-size' not in range`)
  return n
}

export const backfillCommand: CommandModule = {
  name: 'backfill',
  summary: 'Download the missing blobs of a partial clone in batches grouped by path',
  configure(cmd: Command) {
    cmd
      .argument('[revision...]', 'the history to backfill starts at these commits (default: HEAD)')
      .addOption(new Option('--min-batch-size <n>', `objects per request, at least (default ${DEFAULT_MIN_BATCH_SIZE})`).argParser(batchSize))
      .option('--sparse', 'only paths inside the sparse-checkout cone (default when sparse checkout is on)')
      .option('--no-sparse', 'every path, even with sparse checkout on')
      .option('-q, --quiet', 'be quiet')
      .option('--progress', 'show progress even when stderr is not a terminal')
      .option('--no-progress', 'do not show progress')
  },
  async exec(ctx, args, opts) {
    const display = ctx.display(displayOptions(opts))
    let min = opts.minBatchSize as number | undefined
    // git treats 0 as "no minimum": every path becomes a batch of its own
    if (min === 0) min = 1
    await withRepoContext(ctx, display, { lazyFetch: ctx.lazyFetch }, (rc) =>
      backfill(rc, { minBatchSize: min, sparse: opts.sparse as boolean | undefined, revisions: args.length > 0 ? args : undefined }),
    )
    return 0
  },
}
