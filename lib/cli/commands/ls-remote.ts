import type { Command } from 'commander'
import { lsRemote } from '../../ops/ls-remote.js'
import { opContext, writeOut, type CommandModule } from '../command.js'

export const lsRemoteCommand: CommandModule = {
  name: 'ls-remote',
  summary: "List a remote repository's refs (protocol v2 ls-refs)",
  configure(cmd: Command) {
    cmd
      .argument('[repository]', "a remote's name, a URL or a path (default: the current branch's remote, else origin)")
      .argument('[patterns...]', 'show only refs matching these (a glob matching the name or its end after a /)')
      .option('--heads', 'only refs/heads/')
      .option('--tags', 'only refs/tags/')
      .option('--refs', 'no HEAD and no peeled tags (^{})')
      .option('--symref', 'show what symbolic refs (HEAD) point to')
      .option('--exit-code', 'exit 2 when no ref matched')
      .option('--get-url', 'print the URL of the remote and exit')
      .option('-q, --quiet', 'do not print the remote URL to stderr')
  },
  async exec(ctx, args, opts) {
    const display = ctx.display({ quiet: opts.quiet === true })
    const r = await lsRemote(opContext(ctx, display), {
      remote: args[0],
      patterns: args.slice(1),
      heads: opts.heads === true,
      tags: opts.tags === true,
      refs: opts.refs === true,
      symref: opts.symref === true,
      getUrl: opts.getUrl === true,
    })
    if (r.from !== undefined && opts.quiet !== true && opts.getUrl !== true) ctx.stderr.write(`From ${r.from}\n`)
    await writeOut(ctx.stdout, Buffer.from(r.output, 'utf8'))
    return opts.exitCode === true && !r.matched ? 2 : 0
  },
}
