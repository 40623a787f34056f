import type { Command } from 'commander'
import { isAbsolute, relative } from 'node:path'
import { fsckRepository } from '../../ops/fsck.js'
import { withRepoContext, type CommandModule } from '../command.js'

export const fsckCommand: CommandModule = {
  name: 'fsck',
  summary: 'Verify that every reachable object is present and intact (missing promisor objects are fine)',
  configure(cmd: Command) {
    cmd.option('--connectivity-only', 'check only that reachable objects are present, without re-hashing them')
  },
  async exec(ctx, _args, opts) {
    const display = ctx.display({})
    // fsck never fetches: it inspects what the repository has.
    const out: string[] = []
    return withRepoContext(ctx, display, { lazyFetch: false }, async (rc) => {
      const result = await fsckRepository(rc, {
        connectivityOnly: opts.connectivityOnly === true,
        out: (line) => out.push(`${line}\n`),
        err: (line) => ctx.stderr.write(`${line}\n`),
        showPath: (p) => {
          const r = relative(ctx.cwd, p)
          return r.startsWith('..') || isAbsolute(r) ? p : r
        },
      })
      if (out.length > 0) ctx.stdout.write(out.join(''))
      return result.exitCode
    })
  },
}
