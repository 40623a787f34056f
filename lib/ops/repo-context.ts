/**
 * Opens the repository a command runs in, with its object store wired to the lazy
 * fetcher when the repository is a partial clone and lazy fetching is allowed. Every
 * command that reads objects starts here, so they all share one seam.
 */
import type { ProgressSink } from '../events.js'
import { alternateDirectories } from '../odb/alternates.js'
import { ObjectStore } from '../odb/store.js'
import { Repository } from '../repo/repository.js'
import { LazyFetcher, promisorRemotes } from './lazy-fetch.js'

export interface OpContext {
  cwd: string
  env: NodeJS.ProcessEnv
  sink: ProgressSink
  signal?: AbortSignal
  /** `tsgit -c key=value`. */
  configOverrides?: string[]
}

export interface RepoContext {
  repo: Repository
  store: ObjectStore
  /** The lazy fetcher, when the repository is a partial clone and lazy fetching is on. */
  lazy?: LazyFetcher
  sink: ProgressSink
  env: NodeJS.ProcessEnv
  signal?: AbortSignal
}

export interface OpenOptions {
  /** false: --no-lazy-fetch. GIT_NO_LAZY_FETCH=1 in the environment also turns it off. */
  lazyFetch?: boolean
}

function envBool(v: string | undefined): boolean {
  if (v === undefined) return false
  return /^(1|true|yes|on)$/i.test(v.trim())
}

export function lazyFetchAllowed(env: NodeJS.ProcessEnv, option: boolean | undefined): boolean {
  return option !== false && !envBool(env.GIT_NO_LAZY_FETCH)
}

export async function openRepoContext(ctx: OpContext, options: OpenOptions = {}): Promise<RepoContext> {
  const repo = await Repository.open(ctx.cwd, { env: ctx.env, cliConfig: ctx.configOverrides ?? [] })
  const partial = promisorRemotes(repo.config).length > 0
  const store = new ObjectStore(repo.objectsDir, {
    onLazyFetchDisabled: partial ? () => ctx.sink.warn('lazy fetching disabled; some objects may not be available') : undefined,
    shallow: () => repo.shallow,
    alternates: alternateDirectories(repo.objectsDir, { env: ctx.env.GIT_ALTERNATE_OBJECT_DIRECTORIES, cwd: ctx.cwd, warn: (m) => ctx.sink.warn(m) }),
  })
  let lazy: LazyFetcher | undefined
  if (partial && lazyFetchAllowed(ctx.env, options.lazyFetch)) {
    lazy = new LazyFetcher({ config: repo.config, store, env: ctx.env, sink: ctx.sink, signal: ctx.signal, localBase: repo.workTree ?? repo.gitDir })
    store.setFetcher(lazy)
  }
  return { repo, store, lazy, sink: ctx.sink, env: ctx.env, signal: ctx.signal }
}
