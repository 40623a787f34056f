import { Option, type Command } from 'commander'
import { displayOptions, opContext, type CommandModule } from '../command.js'
import { cloneResume } from '../../ops/clone.js'
import { UsageError } from '../../errors.js'
import { parseRetries } from './clone.js'

export const cloneResumeCommand: CommandModule = {
  name: 'clone-resume',
  summary: 'Finish a clone that stopped short, without downloading again what arrived',
  configure(cmd: Command) {
    cmd
      .argument('<directory>', 'the directory of the unfinished clone')
      .option('-q, --quiet', 'be quiet')
      .addOption(new Option('--progress', 'show progress even when stderr is not a terminal'))
      .option('--retries <n>', 'tries after the first, by resuming, for a failure a retry may get past (default clone.retries, else 3)')
  },
  async exec(ctx, args, opts) {
    const [directory] = args
    if (directory === undefined || directory === '') throw new UsageError('You must specify the directory of the clone to resume.')
    const { quiet, progress } = displayOptions(opts)
    const display = ctx.display({ quiet, progress })
    const retries = parseRetries(opts.retries)
    await cloneResume(opContext(ctx, display), { directory, ...(retries !== undefined ? { retries } : {}) })
    return 0
  },
}
