/**
 * A clone's last phase: the work tree of HEAD's commit, then the clone's state goes. A
 * try after one that was killed while checking out first removes what that try wrote
 * (under the names the tree has at its top only: anything else there is left alone).
 *
 * The clone is not done until its checkout is. In a partial clone the checkout fetches
 * the blobs it needs (one lazy fetch); each response's pack goes into a file named in
 * the clone's state first, as the clone's own responses do. A response cut short has
 * its whole objects salvaged into a promisor pack at once (by the next try when the
 * process was interrupted or killed), and a failure a retry may get past leaves the
 * clone unfinished, for clone's retries or clone-resume, which ask for the blobs still
 * missing only. A failure no retry changes ends as git's clone does: the clone stands,
 * its checkout failed.
 */
import type { FileHandle } from 'node:fs/promises'
import { rm, unlink } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { RepositoryError, TsgitError } from '../errors.js'
import { parseCommit, parseTag, parseTree } from '../odb/objects.js'
import type { ObjectStore } from '../odb/store.js'
import type { Oid } from '../oid.js'
import { createResumablePackFile } from '../pack/indexer.js'
import { clearCloneState, readCloneState, writeClonePack } from '../repo/clone-state.js'
import type { Repository } from '../repo/repository.js'
import { checkoutTree } from '../worktree/checkout.js'
import { readSparsePatterns } from '../worktree/sparse.js'
import type { CloneContext } from './clone-attempt.js'
import { KEEP_PREFIX, salvageReceiving, tidyPackDir, type Packing } from './clone-leftovers.js'
import { LazyFetcher, type ResponsePackFiles } from './lazy-fetch.js'
import { packThreads } from './remote-session.js'
import { conversionLoader } from './eol-conversion.js'
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
  if (opts.partial) {
    store.setFetcher(new LazyFetcher({ config: repo.config, store, env: ctx.env, sink: ctx.sink, signal: ctx.signal, credentials: ctx.credentials, packFiles: new CheckoutPackFiles(c) }))
  }
  let files: number
  try {
    // what an earlier try's blob fetch left (it was killed or interrupted in it): its whole objects first
    const leftover = readCloneState(repo.config)?.pack
    if (leftover !== undefined) await takeCutPack(c, leftover, 'before the clone was cut')
    const commitOid = await peelToCommit(store, head)
    const commit = parseCommit((await store.read(commitOid)).data)
    if (opts.resuming) await clearPartialCheckout(c, commit.tree)
    // read from the file: the repository's config view predates the clone's config.worktree
    const sparse = opts.sparse === true ? (await readSparsePatterns(repo.gitDir))?.cone : undefined
    const res = await checkoutTree({ reader: store, workTree: c.workTree, gitDir: repo.gitDir, progress: ctx.sink, signal: ctx.signal }, commit.tree, {
      commit: commitOid,
      symlinks: repo.config.getBool('core.symlinks') ?? true,
      ...(sparse !== undefined && !sparse.everything ? { sparse } : {}),
      conversion: conversionLoader({ reader: store, config: repo.config, commonDir: repo.commonDir, workTree: c.workTree, env: ctx.env }),
    })
    files = res.files
    if (res.files > 0) await warnUnappliedAttributes({ reader: store, config: repo.config, commonDir: repo.commonDir, sink: ctx.sink }, res.attributes)
  } catch (e) {
    if (e instanceof TsgitError && e.retryable) throw e
    if (ctx.signal?.aborted) throw e
    // As git: the clone stands, the checkout failed for a reason a retry does not change
    // (what its fetch salvaged stays, without the clone's .keep).
    await repo.config.update((f) => clearCloneState(f)).catch(() => undefined)
    await tidyPackDir(store.packDir).catch(() => undefined)
    ctx.sink.warn("Clone succeeded, but checkout failed.\nYou can inspect what was checked out with 'git status'\nand retry with 'git restore --source=HEAD :/'\n")
    throw e
  }
  await tidyPackDir(store.packDir)
  await repo.config.update((f) => clearCloneState(f))
  return files
}

/** How the checkout's packs are written: promisor packs, as its lazy fetch writes them. */
function packing(c: CloneCheckoutContext): Packing {
  const threads = packThreads(c.repo.config)
  return {
    packDir: c.store.packDir,
    // (the clone's own mark: tidyPackDir drops it once the checkout is done)
    keep: `${KEEP_PREFIX} ${process.pid}\n`,
    promisor: '',
    progress: c.ctx.sink,
    ...(c.ctx.signal ? { signal: c.ctx.signal } : {}),
    ...(threads !== undefined ? { threads } : {}),
  }
}

/** Salvages the whole objects of the pack file `name` a cut response left, then forgets the name. */
async function takeCutPack(c: CloneCheckoutContext, name: string, when: string): Promise<void> {
  const kept = await salvageReceiving(c.store.packDir, name, packing(c))
  if (kept > 0) c.ctx.sink.info(`Kept ${kept} objects that arrived ${when}.`)
  await c.repo.config.update((f) => writeClonePack(f, undefined))
  await c.store.refresh()
}

/** The files the checkout's lazy fetches receive into, named in the clone's state (see the module comment). */
class CheckoutPackFiles implements ResponsePackFiles {
  constructor(private readonly c: CloneCheckoutContext) {}

  async open(): Promise<{ path: string; handle: FileHandle }> {
    const file = await createResumablePackFile(this.c.store.packDir)
    try {
      await this.c.repo.config.update((f) => writeClonePack(f, basename(file.path)))
    } catch (e) {
      await file.handle.close().catch(() => undefined)
      await unlink(file.path).catch(() => undefined)
      throw e
    }
    return file
  }

  async settle(file: { path: string; handle: FileHandle }, received: boolean): Promise<void> {
    if (received) {
      await this.c.repo.config.update((f) => writeClonePack(f, undefined))
      return
    }
    // (closed already when the pack had begun; not when the request failed before it)
    await file.handle.close().catch(() => undefined)
    // Interrupted: no salvage now; the next try takes the file its state names.
    if (this.c.ctx.signal?.aborted === true) return
    // A salvage that fails leaves the file named: the next try salvages it again.
    await takeCutPack(this.c, basename(file.path), "before the checkout's fetch failed").catch(() => undefined)
  }
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
