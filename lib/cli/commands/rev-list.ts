import type { Command } from 'commander'
import { UsageError } from '../../errors.js'
import { MISSING_ACTIONS, revList, type MissingAction } from '../../ops/rev-list.js'
import { withRepoContext, writeOut, type CommandModule } from '../command.js'

function missingAction(v: unknown): MissingAction {
  if (v === undefined) return 'error'
  if (typeof v === 'string' && (MISSING_ACTIONS as readonly string[]).includes(v)) return v as MissingAction
  throw new UsageError(`invalid value for '--missing': '${String(v)}'`)
}

export const revListCommand: CommandModule = {
  name: 'rev-list',
  summary: 'List commits (and with --objects the objects they reach) in reverse chronological order',
  configure(cmd: Command) {
    // --all, --not and ^<rev> depend on where they stand, so they reach exec in order as arguments.
    cmd
      .argument('[revisions...]', 'revisions to start from; ^<rev>, <a>..<b>, --all and --not are taken in order')
      .option('--objects', 'also list the trees and blobs the commits reach, with their paths')
      .option('--missing <action>', 'what to do with a missing object: error (default), allow-any, allow-promisor, print')
      .option('--no-object-names', 'with --objects, print object ids only')
      .option('--object-names', 'with --objects, print paths and tag names (default)')
      .option('--count', 'print how many commits (and with --objects, objects) there are instead of listing them')
      .allowUnknownOption()
      .allowExcessArguments()
      .addHelpText('after', '\n  --all        every ref under refs/ and HEAD\n  --not        flip the meaning of ^ for the revisions that follow\n')
  },
  async exec(ctx, operands, opts, line) {
    // commander drops a `--` that no unknown word (--all, --not) came before: the walk is
    // told where it stood (what follows it is refused there)
    const args = line.dashDash === undefined || operands.includes('--') ? operands : [...operands.slice(0, line.dashDash), '--', ...operands.slice(line.dashDash)]
    const missing = missingAction(opts.missing)
    const display = ctx.display({})
    // Only --missing=error fetches, but opening without a fetcher also spares the warning for the others.
    await withRepoContext(ctx, display, { lazyFetch: ctx.lazyFetch && missing === 'error' }, (rc) =>
      revList(
        { refs: rc.repo.refs, store: rc.store },
        {
          args,
          objects: opts.objects === true,
          missing,
          objectNames: opts.objectNames !== false,
          count: opts.count === true,
          write: (chunk) => writeOut(ctx.stdout, chunk),
        },
      ),
    )
    return 0
  },
}
