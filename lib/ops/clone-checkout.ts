/**
 * A clone's last phase: the work tree of HEAD's commit, then the clone's state goes. A
 * try after one that was killed while checking out first removes what that try wrote
 * (under the names the tree has at its top only: anything else there is left alone).
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { RepositoryError, TsgitError } from '../errors.js'
import { parseCommit, parseTag, parseTree } from '../odb/objects.js'
import type { ObjectStore } from '../odb/store.js'
import type { Oid } from '../oid.js'
import { clearCloneState } from '../repo/clone-state.js'
import type { Repository } from '../repo/repository.js'
import { checkoutTree } from '../worktree/checkout.js'
import { readSparsePatterns } from '../worktree/sparse.js'
import type { CloneContext } from './clone-attempt.js'
import { tidyPackDir } from './clone-leftovers.js'
import { LazyFetcher } from './lazy-fetch.js'
import { warnUnappliedAttributes } from './unapplied-attributes.js'

export interface CloneCheckoutContext {
  repo: Repository
  store: ObjectStore
  workTree: string
  ctx: CloneContext
}

/** Checks out `head` (a commit or a tag of one); the files written. `sparse`: clone --sparse, its pattern file written already. */
export async function checkoutClone(c: CloneCheckoutContext, head: Oid, opts: { partial: boolean; resuming: boolean; sparse?: boolean }): Promise<number> {
  const { repo, store, ctx } = c
  if (opts.partial) store.setFetcher(new LazyFetcher({ config: repo.config, store, env: ctx.env, sink: ctx.sink, signal: ctx.signal, credentials: ctx.credentials }))
  let files: number
  try {
    const commitOid = await peelToCommit(store, head)
    const commit = parseCommit((await store.read(commitOid)).data)
    if (opts.resuming) await clearPartialCheckout(c, commit.tree)
    // read from the file: the repository's config view predates the clone's config.worktree
    const sparse = opts.sparse === true ? (await readSparsePatterns(repo.gitDir))?.cone : undefined
    const res = await checkoutTree({ reader: store, workTree: c.workTree, gitDir: repo.gitDir, progress: ctx.sink, signal: ctx.signal }, commit.tree, {
      commit: commitOid,
      symlinks: repo.config.getBool('core.symlinks') ?? true,
      ...(sparse !== undefined && !sparse.everything ? { sparse } : {}),
    })
    files = res.files
    if (res.files > 0) await warnUnappliedAttributes({ reader: store, config: repo.config, commonDir: repo.commonDir, sink: ctx.sink }, res.attributes)
  } catch (e) {
    if (e instanceof TsgitError && e.retryable) throw e
    if (ctx.signal?.aborted) throw e
    // As git: the clone stands, the checkout failed for a reason a retry does not change.
    await repo.config.update((f) => clearCloneState(f)).catch(() => undefined)
    ctx.sink.warn("Clone succeeded, but checkout failed.\nYou can inspect what was checked out with 'git status'\nand retry with 'git restore --source=HEAD :/'\n")
    throw e
  }
  await tidyPackDir(store.packDir)
  await repo.config.update((f) => clearCloneState(f))
  return files
}

async function clearPartialCheckout(c: CloneCheckoutContext, tree: Oid): Promise<void> {
  const obj = await c.store.tryRead(tree)
  if (obj === undefined) return
  await rm(join(c.repo.gitDir, 'index'), { force: true })
  for (const e of parseTree(obj.data, { strictNames: false })) {
    const name = e.name
    if (name === '.git' || name === '' || name.includes('/')) continue
    await rm(join(c.workTree, name), { recursive: true, force: true })
  }
}

async function peelToCommit(store: ObjectStore, oid: Oid): Promise<Oid> {
  let cur = oid
  for (let depth = 0; depth < 32; depth++) {
    const obj = await store.read(cur)
    if (obj.type === 'commit') return cur
    if (obj.type !== 'tag') throw new RepositoryError(`${oid} does not point to a commit`)
    cur = parseTag(obj.data).object
  }
  throw new RepositoryError(`tag chain from ${oid} is too deep`)
}
