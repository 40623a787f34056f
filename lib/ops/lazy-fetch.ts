/**
 * The lazy fetcher handed to the object store in a partial clone. Missing objects
 * are asked for from the promisor remotes in config order, with the remote named by
 * extensions.partialClone last; what one remote could not supply goes to the next.
 * Each remote gets ONE request for the whole batch.
 */
import { MissingObjectError } from '../errors.js'
import type { ProgressSink } from '../events.js'
import type { ObjectStore, PromisorFetcher } from '../odb/store.js'
import type { Oid } from '../odb/types.js'
import { serverSupportsFilter } from '../protocol/index.js'
import { fetchPack, openSession } from './remote-session.js'
import type { ConfigReader } from '../repo/config.js'
import { transportOptionsFromConfig } from './transport-options.js'

export interface PromisorRemote {
  name: string
  url: string
}

/** Promisor remotes in the order lazy fetches try them. */
export function promisorRemotes(config: ConfigReader): PromisorRemote[] {
  const main = config.getString('extensions.partialClone')
  const out: PromisorRemote[] = []
  for (const name of config.subsections('remote')) {
    if (name === main) continue
    const isPromisor = config.getBool(`remote.${name}.promisor`) === true || config.getString(`remote.${name}.partialclonefilter`) !== undefined
    const url = config.getString(`remote.${name}.url`)
    if (isPromisor && url !== undefined && !out.some((r) => r.name === name)) out.push({ name, url })
  }
  if (main !== undefined) {
    const url = config.getString(`remote.${main}.url`)
    if (url !== undefined) out.push({ name: main, url })
  }
  return out
}

export interface LazyFetchContext {
  config: ConfigReader
  store: ObjectStore
  env: NodeJS.ProcessEnv
  sink: ProgressSink
  signal?: AbortSignal
}

export class LazyFetcher implements PromisorFetcher {
  /** Requests sent, for callers that report them. */
  requests = 0

  constructor(private readonly ctx: LazyFetchContext) {}

  async fetchMissing(oids: Oid[]): Promise<void> {
    const remotes = promisorRemotes(this.ctx.config)
    let remaining = await this.ctx.store.missingOf(oids)
    const errors: unknown[] = []
    for (const remote of remotes) {
      if (remaining.length === 0) return
      try {
        await this.fetchFrom(remote, remaining)
      } catch (e) {
        errors.push(e)
      }
      await this.ctx.store.rescan()
      remaining = await this.ctx.store.missingOf(remaining)
    }
    if (remaining.length === 0) return
    const first = remaining[0] as Oid
    const names = remotes.map((r) => r.name).join(', ') || '(none)'
    throw new MissingObjectError(first, `could not fetch ${first} from promisor remote(s) ${names}`, {
      cause: errors.length > 0 ? errors[errors.length - 1] : undefined,
    })
  }

  private async fetchFrom(remote: PromisorRemote, oids: Oid[]): Promise<void> {
    const { config, env, sink, signal, store } = this.ctx
    const session = await openSession(remote.url, transportOptionsFromConfig(config, remote.name, env, sink, signal))
    try {
      this.requests++
      await fetchPack(
        session,
        {
          wants: oids,
          done: true,
          ofsDelta: true,
          // A missing tree or commit must not drag in all of its blobs.
          filter: serverSupportsFilter(session.caps) ? 'blob:none' : undefined,
        },
        { packDir: store.packDir, promisor: '', progress: sink, signal },
      )
    } finally {
      await session.transport.close()
    }
  }
}
