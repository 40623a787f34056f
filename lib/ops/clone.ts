/**
 * tsgit clone: an explicit sequence, each step undone if a later one fails.
 *   validate filter → prepare destination → init → handshake → ls-refs →
 *   configure → fetch pack (.keep held) → check tips → write refs → drop .keep → checkout
 * Nothing is visible to git until the pack's .idx is renamed into place and the refs
 * are written; a failure before that removes what the clone created.
 */
import { join, resolve } from 'node:path'
import { unlink } from 'node:fs/promises'
import { RepositoryError, TsgitError, UsageError, isNotFound } from '../errors.js'
import type { ProgressSink } from '../events.js'
import { ObjectStore } from '../odb/store.js'
import { parseCommit, parseTag } from '../odb/objects.js'
import type { Oid } from '../odb/types.js'
import { combineFilterSpecs, filterToConfig, filterToWire, serverSupportsFilter, type RemoteRef } from '../protocol/index.js'
import { ConfigFile } from '../repo/config.js'
import { loadConfig } from '../repo/config-load.js'
import { initRepository, Repository } from '../repo/repository.js'
import { writeShallow } from '../repo/shallow.js'
import { committerIdent } from './ident.js'
import { checkoutTree } from '../worktree/checkout.js'
import { directoryFromUrl, prepareDestination, removeDestination, type Destination } from './clone-dest.js'
import { LazyFetcher } from './lazy-fetch.js'
import { checkConnected, fetchPackAndUris, uriProtocols } from './packfile-uris.js'
import { openSessionAndListRefs, packThreads, type RemoteSession } from './remote-session.js'
import { transportOptionsFromConfig } from './transport-options.js'
import { warnUnappliedAttributes } from './unapplied-attributes.js'

export interface CloneOptions {
  url: string
  directory?: string
  bare?: boolean
  checkout?: boolean
  branch?: string
  origin?: string
  /** undefined: git's default (all branches). */
  singleBranch?: boolean
  tags?: boolean
  filters?: string[]
  /** -c key=value: written into the new repository's config before fetching. */
  config?: string[]
  /** Ask the server not to send progress (--quiet). */
  noProgress?: boolean
  /** --depth: a shallow clone of the last `depth` commits of each wanted history (implies single-branch unless that is given). */
  depth?: number
}

export interface CloneContext {
  cwd: string
  env: NodeJS.ProcessEnv
  sink: ProgressSink
  signal?: AbortSignal
  /** `tsgit -c key=value clone …`: applies to this run only. */
  configOverrides?: string[]
}

export interface CloneResult {
  gitDir: string
  workTree?: string
  head?: Oid
  partial: boolean
  pack?: { name: string; objectCount: number }
  bytesReceived: number
  checkedOutFiles: number
}

function parseConfigArg(arg: string): [string, string] {
  const eq = arg.indexOf('=')
  return eq < 0 ? [arg, 'true'] : [arg.slice(0, eq), arg.slice(eq + 1)]
}

/** The URL as git records it: a local path becomes absolute. */
function recordedUrl(url: string, cwd: string): string {
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(url)) return url
  if (/^[^/]*:/.test(url) && !url.startsWith('/') && !url.startsWith('.')) return url // scp-like host:path
  return resolve(cwd, url)
}

interface Plan {
  headRef?: RemoteRef
  /** The local branch HEAD will point at (refs/heads/<b>), when HEAD is a branch. */
  branch?: string
  /** Detached HEAD (clone -b <tag>). */
  detachAt?: Oid
  /** Refs whose objects are asked for. */
  wanted: RemoteRef[]
  /** Tags written if their objects arrived (with --single-branch, through include-tag). */
  followTags: RemoteRef[]
}

function planRefs(refs: RemoteRef[], opts: CloneOptions, singleBranch: boolean, tags: boolean, origin: string): Plan {
  const byName = new Map(refs.map((r) => [r.name, r]))
  const headRef = byName.get('HEAD')
  const heads = refs.filter((r) => r.name.startsWith('refs/heads/') && r.oid !== undefined)
  const tagRefs = refs.filter((r) => r.name.startsWith('refs/tags/') && r.oid !== undefined)
  let branch: string | undefined
  let detachAt: Oid | undefined
  let tip: RemoteRef | undefined
  if (opts.branch !== undefined) {
    const b = byName.get(`refs/heads/${opts.branch}`)
    const t = byName.get(`refs/tags/${opts.branch}`)
    if (b?.oid) {
      branch = opts.branch
      tip = b
    } else if (t?.oid) {
      tip = t
      detachAt = t.peeled ?? t.oid
    } else {
      throw new RepositoryError(`Remote branch ${opts.branch} not found in upstream ${origin}`)
    }
  } else if (headRef?.symrefTarget?.startsWith('refs/heads/')) {
    branch = headRef.symrefTarget.slice('refs/heads/'.length)
    tip = byName.get(headRef.symrefTarget) ?? (headRef.oid ? headRef : undefined)
  } else if (headRef?.oid) {
    // A detached remote HEAD: git picks a branch at the same commit, else detaches.
    const same = heads.find((h) => h.oid === headRef.oid)
    if (same) {
      branch = same.name.slice('refs/heads/'.length)
      tip = same
    } else {
      tip = headRef
      detachAt = headRef.oid
    }
  }
  let wanted: RemoteRef[]
  let followTags: RemoteRef[] = []
  if (singleBranch) {
    wanted = tip ? [tip] : []
    if (tags) followTags = tagRefs.filter((t) => t !== tip)
  } else {
    wanted = [...heads]
    if (tags) wanted.push(...tagRefs)
    if (tip && !wanted.includes(tip)) wanted.push(tip)
  }
  return { headRef, branch, detachAt, wanted, followTags }
}

export async function clone(ctx: CloneContext, opts: CloneOptions): Promise<CloneResult> {
  const bare = opts.bare ?? false
  const origin = opts.origin ?? 'origin'
  const tags = opts.tags ?? true
  if (opts.depth !== undefined && !(Number.isSafeInteger(opts.depth) && opts.depth > 0)) throw new UsageError(`depth ${opts.depth} is not a positive number`)
  // git: --depth implies --single-branch unless --no-single-branch is given
  const singleBranch = opts.singleBranch ?? opts.depth !== undefined
  // A bad filter spec is a usage error before anything touches the disk or the network.
  const filter = opts.filters && opts.filters.length > 0 ? combineFilterSpecs(opts.filters) : undefined
  for (const c of opts.config ?? []) parseConfigArg(c)

  const dirArg = opts.directory ?? directoryFromUrl(opts.url, bare)
  const destPath = resolve(ctx.cwd, dirArg)
  const dest = await prepareDestination(destPath)
  ctx.sink.info(bare ? `Cloning into bare repository '${dirArg}'...` : `Cloning into '${dirArg}'...`)

  let refsWritten = false
  let session: RemoteSession | undefined
  let store: ObjectStore | undefined
  try {
    const url = recordedUrl(opts.url, ctx.cwd)
    const gitDir = bare ? destPath : join(destPath, '.git')
    const setUp = (f: ConfigFile): void => {
      for (const c of opts.config ?? []) {
        const [k, v] = parseConfigArg(c)
        f.add(k, v)
      }
      f.set(`remote.${origin}.url`, url)
    }
    // The transport reads the configuration the new repository will have (`-c` options
    // included), so the remote is contacted while the repository is being created.
    const planned = ConfigFile.empty(join(gitDir, 'config'))
    setUp(planned)
    const transportConfig = await loadConfig({ gitDir, env: ctx.env, cliConfig: ctx.configOverrides, localFile: planned })
    const prefixes = tags ? ['HEAD', 'refs/heads/', 'refs/tags/'] : ['HEAD', 'refs/heads/']
    const transportOptions = transportOptionsFromConfig(transportConfig, origin, ctx.env, ctx.sink, ctx.signal)
    const opening = openSessionAndListRefs(opts.url, transportOptions, { refPrefixes: prefixes })
    const creating = (async () => {
      // The view is the transport's: its local layer is re-read from the file by this update.
      const created = await Repository.fromLocation(await initRepository(destPath, { bare }), { env: ctx.env, config: transportConfig })
      await created.config.update(setUp)
      return created
    })()
    // Both settle before anything is cleaned up; a failure to create the repository is reported first, as git does.
    const [opened, made] = await Promise.allSettled([opening, creating])
    if (opened.status === 'fulfilled') session = opened.value.session
    if (made.status === 'rejected') throw made.reason
    if (opened.status === 'rejected') throw opened.reason
    const repo = made.value
    const { refs } = opened.value
    session = opened.value.session // set above already; again so the type knows it is there
    const plan = planRefs(refs, opts, singleBranch, tags, origin)

    let partial = false
    if (filter) {
      if (serverSupportsFilter(session.caps)) partial = true
      else ctx.sink.warn('filtering not recognized by server, ignoring')
    }

    // Configuration as git 2.39 writes it for clone (plus extensions.partialClone: see
    // DEVIATIONS), in one locked edit of the config file.
    const headBranch = plan.branch ?? (plan.headRef?.unborn && plan.headRef.symrefTarget?.startsWith('refs/heads/') ? plan.headRef.symrefTarget.slice(11) : undefined)
    await repo.config.update((f) => {
      if (!bare) {
        const refspec = singleBranch && plan.branch
          ? `+refs/heads/${plan.branch}:refs/remotes/${origin}/${plan.branch}`
          : `+refs/heads/*:refs/remotes/${origin}/*`
        f.add(`remote.${origin}.fetch`, refspec)
      }
      if (!tags) f.set(`remote.${origin}.tagOpt`, '--no-tags')
      if (partial && filter) {
        f.set('core.repositoryformatversion', '1')
        f.set('extensions.partialClone', origin)
        f.set(`remote.${origin}.promisor`, 'true')
        f.set(`remote.${origin}.partialclonefilter`, filterToConfig(filter))
      }
      if (!bare && headBranch && !plan.detachAt) {
        f.set(`branch.${headBranch}.remote`, origin)
        f.set(`branch.${headBranch}.merge`, `refs/heads/${headBranch}`)
      }
    })

    store = new ObjectStore(repo.objectsDir)
    let packInfo: CloneResult['pack']
    const wants = [...new Set(plan.wanted.map((r) => r.oid).filter((o): o is Oid => o !== undefined))]
    if (wants.length === 0) {
      ctx.sink.warn('You appear to have cloned an empty repository.')
    } else {
      const promisorLines = partial ? plan.wanted.map((r) => `${r.oid} ${r.name}\n`).join('') : undefined
      let shallow: Oid[] = []
      const protocols = uriProtocols(transportConfig)
      // With packfile URIs, the packs the server named instead of sending their objects
      // are downloaded too, each held by its own .keep until the refs are written.
      const fetched = await fetchPackAndUris(
        session,
        {
          wants,
          done: true,
          ofsDelta: true,
          includeTag: tags,
          // As git: when progress is not shown, the server is asked not to send its own.
          noProgress: opts.noProgress ?? ctx.sink.showProgress === false,
          filter: partial && filter ? filterToWire(filter) : undefined,
          ...(opts.depth !== undefined ? { deepen: opts.depth } : {}),
        },
        {
          packDir: store.packDir,
          keep: `tsgit clone ${process.pid}\n`,
          promisor: promisorLines,
          progress: ctx.sink,
          signal: ctx.signal,
          threads: packThreads(transportConfig),
          onShallowInfo: (info) => {
            shallow = info.shallow
          },
        },
        { protocols, transportOptions },
      )
      if (!fetched) throw new TsgitError('E_NO_PACK', 'the server sent no pack')
      const { pack: result, uriPacks } = fetched
      // The commits whose parents were not sent, as git writes them: sorted, one per line.
      if (shallow.length > 0) await writeShallow(repo.commonDir, shallow)
      packInfo = { name: result.name, objectCount: result.objectCount }
      await store.rescan()
      // Connectivity at the tips: every ref we are about to write must name an object we have.
      for (const r of plan.wanted) {
        if (r.oid && !(await store.has(r.oid))) {
          throw new TsgitError('E_CONNECTIVITY', `remote did not send all necessary objects (missing ${r.oid} for ${r.name})`)
        }
      }
      // With packs from elsewhere, what was sent and what was downloaded must make a whole:
      // every object reachable from the tips (git checks this on every clone).
      if (uriPacks.length > 0 && !partial) await checkConnected(repo, store, plan.wanted.map((r) => r.oid).filter((o): o is Oid => o !== undefined))
      await writeCloneRefs(repo, store, plan, { bare, origin, url, singleBranch, tags, env: ctx.env })
      refsWritten = true
      for (const p of [result, ...uriPacks]) {
        if (p.keepPath) await unlink(p.keepPath).catch((e: unknown) => { if (!isNotFound(e)) throw e })
      }
    }
    if (!refsWritten) {
      await writeCloneRefs(repo, store, plan, { bare, origin, url, singleBranch, tags, env: ctx.env })
      refsWritten = true
    }
    const bytesReceived = session.transport.bytesReceived
    await session.transport.close()
    session = undefined

    let checkedOutFiles = 0
    const headOid = plan.detachAt ?? (plan.branch ? plan.wanted.find((r) => r.name === `refs/heads/${plan.branch}`)?.oid : undefined)
    if (!bare && (opts.checkout ?? true) && headOid) {
      if (partial) store.setFetcher(new LazyFetcher({ config: repo.config, store, env: ctx.env, sink: ctx.sink, signal: ctx.signal }))
      try {
        const commitOid = await peelToCommit(store, headOid)
        const commit = parseCommit((await store.read(commitOid)).data)
        const res = await checkoutTree({ reader: store, workTree: destPath, gitDir: repo.gitDir, progress: ctx.sink, signal: ctx.signal }, commit.tree, {
          commit: commitOid,
          symlinks: repo.config.getBool('core.symlinks') ?? true,
        })
        checkedOutFiles = res.files
        if (res.files > 0) await warnUnappliedAttributes({ reader: store, config: repo.config, commonDir: repo.commonDir, sink: ctx.sink }, res.attributes)
      } catch (e) {
        ctx.sink.warn('Clone succeeded, but checkout failed.\nYou can inspect what was checked out with \'git status\'\nand retry with \'git restore --source=HEAD :/\'\n')
        throw e
      }
    }
    await store.close()
    return {
      gitDir: repo.gitDir,
      workTree: bare ? undefined : destPath,
      head: headOid,
      partial,
      pack: packInfo,
      bytesReceived,
      checkedOutFiles,
    }
  } catch (e) {
    await session?.transport.close().catch(() => undefined)
    await store?.close().catch(() => undefined)
    if (!refsWritten) await removeDestination(dest).catch(() => undefined)
    throw e
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

interface RefWriteOptions {
  bare: boolean
  origin: string
  url: string
  singleBranch: boolean
  tags: boolean
  env: NodeJS.ProcessEnv
}

async function writeCloneRefs(repo: Repository, store: ObjectStore, plan: Plan, o: RefWriteOptions): Promise<void> {
  const packed: { name: string; oid: Oid; peeled?: Oid }[] = []
  for (const r of [...plan.wanted, ...plan.followTags]) {
    if (!r.oid) continue
    if (r.name.startsWith('refs/heads/')) {
      packed.push({ name: o.bare ? r.name : `refs/remotes/${o.origin}/${r.name.slice(11)}`, oid: r.oid })
    } else if (r.name.startsWith('refs/tags/')) {
      packed.push({ name: r.name, oid: r.oid, peeled: r.peeled })
    }
  }
  // With include-tag, tags outside the fetched history may not have arrived: write only those we have.
  const present: typeof packed = []
  for (const p of packed) if (await store.has(p.oid)) present.push(p)
  await repo.refs.writePackedRefs(present)
  const reflog = { ident: committerIdent(repo.config, o.env), message: `clone: from ${o.url}` }
  if (plan.detachAt) {
    await repo.refs.transaction().update('HEAD', plan.detachAt, { reflog, noDeref: true }).commit()
    return
  }
  const branch = plan.branch ?? (plan.headRef?.symrefTarget?.startsWith('refs/heads/') ? plan.headRef.symrefTarget.slice(11) : undefined)
  if (!branch) return
  const tip = plan.wanted.find((r) => r.name === `refs/heads/${branch}`)?.oid
  await repo.refs.setSymref('HEAD', `refs/heads/${branch}`)
  // Through HEAD, so both HEAD's and the branch's reflogs get the entry, as git's clone does.
  if (tip && !o.bare) await repo.refs.transaction().update('HEAD', tip, { reflog }).commit()
  const remoteHead = plan.headRef?.symrefTarget
  if (!o.bare && remoteHead?.startsWith('refs/heads/') && plan.wanted.some((r) => r.name === remoteHead)) {
    await repo.refs.setSymref(`refs/remotes/${o.origin}/HEAD`, `refs/remotes/${o.origin}/${remoteHead.slice(11)}`)
  }
}
