import type { Command } from 'commander'
import { UsageError } from '../../errors.js'
import { initRepo } from '../../ops/init.js'
import { opContext, writeOut, type CommandModule } from '../command.js'

const DEFAULT_BRANCH_ADVICE = [
  "Using 'master' as the name for the initial branch. This default branch name",
  'is subject to change. To configure the initial branch name to use in all',
  'of your new repositories, which will suppress this warning, call:',
  '',
  '\tgit config --global init.defaultBranch <name>',
  '',
  "Names commonly chosen instead of 'master' are 'main', 'trunk' and",
  "'development'. The just-created branch can be renamed via this command:",
  '',
  '\tgit branch -m <name>',
]

export const initCommand: CommandModule = {
  name: 'init',
  summary: 'Create an empty Git repository or reinitialize an existing one',
  configure(cmd: Command) {
    cmd
      .argument('[directory]', 'where to create the repository (created when missing); default: the current directory')
      .option('--bare', 'create a bare repository')
      .option('-b, --initial-branch <name>', 'the name of the initial branch (default: init.defaultBranch, else master)')
      .option('-q, --quiet', 'only print error and warning messages')
  },
  async exec(ctx, args, opts) {
    if (args.length > 1) throw new UsageError('usage: tsgit init [-q | --quiet] [--bare] [-b <branch-name> | --initial-branch=<branch-name>] [<directory>]')
    const quiet = opts.quiet === true
    const display = ctx.display({ quiet })
    const r = await initRepo(opContext(ctx, display), { directory: args[0], bare: opts.bare === true, initialBranch: opts.initialBranch as string | undefined })
    if (r.adviseDefaultBranch && !quiet) ctx.stderr.write(DEFAULT_BRANCH_ADVICE.map((l) => (l === '' ? 'hint: \n' : `hint: ${l}\n`)).join(''))
    if (r.ignoredInitialBranch !== undefined) display.warn(`re-init: ignored --initial-branch=${r.ignoredInitialBranch}`)
    if (!quiet) await writeOut(ctx.stdout, `${r.reinitialized ? 'Reinitialized existing' : 'Initialized empty'} Git repository in ${r.gitDir}/\n`)
    return 0
  },
}
