import type { Command } from 'commander'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { fsck } from '../../ops/fsck.js'
import type { Repository } from '../../repo/repository.js'
import { worktreeHeads } from '../../repo/worktrees.js'
import { withRepoContext, type CommandModule } from '../command.js'

/** The index of this worktree (unless bare) and of every other one. */
async function indexPaths(repo: Repository): Promise<string[]> {
  const paths = repo.bare ? [] : [resolve(repo.gitDir, 'index')]
  for (const wt of await worktreeHeads(repo.commonDir, repo.config.getBool('core.bare', false))) {
    const p = join(wt.gitDir, 'index')
    if (!paths.includes(p)) paths.push(p)
  }
  return paths
}

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
      const result = await fsck(
        { refs: rc.repo.refs, store: rc.store, gitDir: rc.repo.gitDir, indexPaths: await indexPaths(rc.repo) },
        {
          connectivityOnly: opts.connectivityOnly === true,
          out: (line) => out.push(`${line}\n`),
          err: (line) => ctx.stderr.write(`${line}\n`),
          showPath: (p) => {
            const r = relative(ctx.cwd, p)
            return r.startsWith('..') || isAbsolute(r) ? p : r
          },
        },
      )
      if (out.length > 0) ctx.stdout.write(out.join(''))
      return result.exitCode
    })
  },
}
