import type { Command } from 'commander'
import type { CommandModule } from '../command.js'
import { UsageError } from '../../errors.js'
import { openRemotes, RemoteConfigError } from '../../ops/remote-config.js'

const USAGE = [
  'usage: tsgit remote [-v | --verbose]',
  '   or: tsgit remote add <name> <url>',
  '   or: tsgit remote remove <name>',
].join('\n')

export const remoteCommand: CommandModule = {
  name: 'remote',
  summary: 'List, add and remove remotes (the configuration of remote repositories)',
  configure(cmd: Command) {
    cmd
      .argument('[subcommand]', 'add, remove (rm); none lists the remotes')
      .argument('[args...]', 'the subcommand\'s arguments')
      .option('-v, --verbose', 'show the URLs too (before the subcommand)')
      .passThroughOptions()
  },
  async exec(ctx, args, opts) {
    const [sub, ...rest] = args
    const display = ctx.display({})
    const remotes = await openRemotes(ctx)
    try {
      if (sub === undefined) {
        for (const r of remotes.list()) {
          if (opts.verbose !== true) {
            ctx.stdout.write(`${r.name}\n`)
            continue
          }
          const push = r.pushUrls.length > 0 ? r.pushUrls : r.urls
          for (const u of r.urls) ctx.stdout.write(`${r.name}\t${u} (fetch)\n`)
          for (const u of push) ctx.stdout.write(`${r.name}\t${u} (push)\n`)
        }
        return 0
      }
      if (sub === 'add') {
        if (rest.some((a) => a.startsWith('-'))) throw new UsageError(`tsgit remote add takes no options (${rest.find((a) => a.startsWith('-')) ?? ''})\n${USAGE}`)
        if (rest.length !== 2) throw new UsageError(`tsgit remote add needs <name> <url>\n${USAGE}`)
        await remotes.add(rest[0] as string, rest[1] as string)
        return 0
      }
      if (sub === 'remove' || sub === 'rm') {
        if (rest.length !== 1 || (rest[0] as string).startsWith('-')) throw new UsageError(`tsgit remote remove needs <name>\n${USAGE}`)
        const r = await remotes.remove(rest[0] as string)
        if (r.skipped.length > 0) {
          ctx.stderr.write(
            r.skipped.length === 1
              ? 'Note: A branch outside the refs/remotes/ hierarchy was not removed;\nto delete it, use:\n'
              : 'Note: Some branches outside the refs/remotes/ hierarchy were not removed;\nto delete them, use:\n',
          )
          for (const s of r.skipped) ctx.stderr.write(`  git branch -d ${s.replace(/^refs\/heads\//, '')}\n`)
        }
        return 0
      }
      throw new UsageError(`unknown subcommand: \`${sub}'\n${USAGE}`)
    } catch (e) {
      // git reports these as errors with their own exit codes, not as fatal
      if (e instanceof RemoteConfigError) {
        display.error(e.message)
        return e.exitCode
      }
      throw e
    }
  },
}
