/**
 * tsgit fetch: brings a repository up to date with one remote through the remote's
 * configured refspecs (remote.<name>.fetch) or those of the command line (then with
 * git's opportunistic remote-tracking update; a URL in place of the remote fetches its
 * HEAD or what they name), as `git fetch` does: ls-refs for what the refspecs name, a
 * negotiation of what is common over as many rounds as it takes (negotiate.ts), the
 * fetch (the remote's partial-clone filter, include-tag, packfile URIs when allowed),
 * the pack (thin, as git's, outside a partial clone) indexed and held by a .keep until
 * the refs are written, then the remote-tracking refs updated (fast-forwards, or forced
 * where the refspec has '+'), tags auto-followed, FETCH_HEAD written.
 *
 * In a shallow repository the shallow commits are sent (`shallow` lines), so nothing
 * past them comes back, and $GIT_DIR/shallow takes the boundary the server reports.
 * --depth, --deepen, --unshallow, --shallow-since and --shallow-exclude move that
 * boundary as git's do (every tip wanted again, even one that is here: the server draws
 * the new boundary from them). --filter makes the remote a promisor remote, as git's
 * fetch does; --refetch asks for everything with no haves.
 *
 * Not yet: negotiation in a shallow repository (one request, the ref tips as haves).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { MissingObjectError, TsgitError, UsageError, isNotFound } from '../errors.js'
import type { ObjectStore } from '../odb/store.js'
import type { Oid } from '../oid.js'
import { filterToConfig, filterToWire, parseFilterSpec, serverSupportsFilter, type FetchArgs } from '../protocol/index.js'
import { writeFileAtomic } from '../repo/lock.js'
import type { RefTransaction } from '../repo/ref-transaction.js'
import { isValidRefName, type RefIdent, type RefStore } from '../repo/refs.js'
import { Repository } from '../repo/repository.js'
import { mapRefspec, refspecPrefix } from '../repo/refspec.js'
import { worktreeHeads } from '../repo/worktrees.js'
import { committerIdent } from './ident.js'
import { excludedBy, mapCliRefs, mapRefs, nameCandidates, opportunistic, parseCliRefspec, parseNegativeRefspec, remoteRefspecs, type Mapping } from './fetch-refspecs.js'
import { ConfigJournal } from './download-journal.js'
import { packfileUriArgs, uriConcurrency, uriProtocols } from './packfile-uris.js'
import { promisorRemotes } from './lazy-fetch.js'
import { negotiate } from './negotiate.js'
import { registerPromisorRemote } from './promisor-config.js'
import { deepenArgs } from './fetch-shallow.js'
import { checkConnected, checkTips, receive, type Received } from './receive.js'
import { openSession, openSessionAndListRefs, packThreads, type RemoteSession } from './remote-session.js'
import { openRepoContext, type OpContext } from './repo-context.js'
import { abbreviate, defaultAbbrevLength, FALLBACK_ABBREV } from '../rev/abbrev.js'
import { RevWalk } from '../rev/commit-walk.js'
import { chosenTips, listedHere, offersNoHaves, refTip } from './negotiation-tips.js'
import { transportOptionsFromConfig } from './transport-options.js'

export interface FetchOptions {
  /** The remote's name; default: the current branch's remote, else origin. */
  remote?: string
  /**
   * Refspecs from the command line (`<src>[:<dst>]`, `+` to force, globs, or an object
   * id as the source): instead of the configured ones, which then only update the
   * remote-tracking refs of what these fetch (git's opportunistic update).
   */
  refspecs?: string[]
  /** The command line after `fetch`, as given: git's reflog messages quote it. */
  args?: readonly string[]
  /** --prune / --no-prune; default remote.<name>.prune, else fetch.prune, else off. */
  prune?: boolean
  /** false: --no-tags; true: --tags; default: remote.<name>.tagOpt, else auto-follow. */
  tags?: boolean
  noProgress?: boolean
  /** --depth=<n>: history cut to n commits below each tip fetched. */
  depth?: number
  /** --deepen=<n>: n more commits behind the current shallow boundary. */
  deepen?: number
  /** --unshallow: the whole history of a shallow repository. */
  unshallow?: boolean
  /** --shallow-since: history cut at this time (seconds since the epoch). */
  shallowSince?: number
  /** --shallow-exclude: history cut where it reaches these remote refs. */
  shallowExclude?: readonly string[]
  /** --filter=<spec>: a partial fetch; the remote becomes a promisor remote with this filter. */
  filter?: string
  /** --no-filter: no filter, whatever the remote's partialclonefilter says. */
  noFilter?: boolean
  /** --refetch: everything the refspecs name, as if nothing were here (no haves). */
  refetch?: boolean
  /** --negotiation-tip: haves only from these revisions or ref globs (negotiation-tips.ts). */
  negotiationTips?: readonly string[]
  /** --dry-run: objects (and the shallow boundary) come in, no ref moves and FETCH_HEAD is not written, as git. */
  dryRun?: boolean
  /** --atomic: every ref update in one transaction; none when one is refused. */
  atomic?: boolean
  /** --append, and every remote after the first of --all: FETCH_HEAD is added to, not replaced. */
  appendFetchHead?: boolean
}

/** One line of git's fetch report. */
export interface RefUpdate {
  /** ' ' fast-forward, '+' forced, '*' new, '!' rejected, '=' up to date, '-' pruned. */
  flag: ' ' | '+' | '*' | '!' | '=' | '-'
  /** "[new branch]", "a1b2c3d..e4f5a6b", "[rejected]", "[up to date]". */
  summary: string
  src: string
  dst: string
  /** "(forced update)", "(non-fast-forward)", "(would clobber existing tag)". */
  reason?: string
}

export interface FetchResult {
  /** The URL as shown (no credentials). */
  url: string
  updates: RefUpdate[]
  /** How wide git makes the report's summary column (`old..new`): twice the longest id shortened, plus 3. */
  summaryWidth: number
  /** Updates refused (non-fast-forward, existing tag): git exits 1 for them. */
  rejected: number
  /** Objects received (0: nothing was fetched). */
  objects: number
  /** --atomic, and an update was refused: no ref was written. */
  atomicFailed?: boolean
}

/** The URL as git shows it in FETCH_HEAD and the report: no credentials, no trailing '/' or '.git'. */
function shownUrl(url: string): string {
  let shown = url
  try {
    const u = new URL(url)
    if (u.username !== '' || u.password !== '') {
      u.username = ''
      u.password = ''
      shown = u.toString()
    }
  } catch {
    // a path or scp-like address: as it is
  }
  shown = shown.replace(/\/+$/, '')
  return shown.length > 4 && shown.endsWith('.git') ? shown.slice(0, -4) : shown
}

function shortName(ref: string): string {
  for (const prefix of ['refs/heads/', 'refs/tags/', 'refs/remotes/']) if (ref.startsWith(prefix)) return ref.slice(prefix.length)
  return ref
}

/** How FETCH_HEAD describes a remote ref. */
function describe(ref: string): string {
  if (ref.startsWith('refs/heads/')) return `branch '${ref.slice(11)}'`
  if (ref.startsWith('refs/tags/')) return `tag '${ref.slice(10)}'`
  if (ref.startsWith('refs/remotes/')) return `remote-tracking branch '${ref.slice(13)}'`
  return `'${ref}'`
}

async function currentBranch(readSymref: (name: string) => Promise<string | undefined>): Promise<string | undefined> {
  const head = await readSymref('HEAD')
  return head?.startsWith('refs/heads/') ? head.slice(11) : undefined
}

/** Whether `old` is an ancestor of `next` (or the same): a walk from `old` that excludes `next`'s history finds nothing. */
async function isFastForward(store: ObjectStore, old: Oid, next: Oid): Promise<boolean> {
  if (old === next) return true
  const walk = new RevWalk({ store, fetch: false }, { objects: false })
  try {
    await walk.add({ oid: old, name: old, uninteresting: false })
    await walk.add({ oid: next, name: next, uninteresting: true })
    return (await walk.next()) === undefined
  } catch (e) {
    // a commit we do not have (a partial or shallow history): not provably a fast-forward
    if (e instanceof MissingObjectError) return false
    throw e
  }
}

/** A ref write planned: added to a transaction (its own, or --atomic's one for all). */
type RefWrite = (tx: RefTransaction) => void

/**
 * How git's fetch would update `m.dst`, and the write that does it: new, fast-forward,
 * forced (with '+'), or refused (a tag that would change, a non-fast-forward: no write),
 * each logged with git's reflog message (`<command line>: <what>`). A mapping without a
 * destination only reports. `abbrev` shortens the ids of `old..new` as git does.
 */
async function planRef(refs: RefStore, store: ObjectStore, m: Mapping, log: { ident: RefIdent; message: string }, abbrev: (oid: Oid) => Promise<string>): Promise<{ update: RefUpdate; write?: RefWrite }> {
  const src = shortName(m.src)
  if (m.dst === '') return { update: { flag: '*', summary: m.src.startsWith('refs/tags/') ? 'tag' : 'branch', src, dst: 'FETCH_HEAD' } }
  const dst = shortName(m.dst)
  const old = await refs.resolve(m.dst)
  if (old === m.oid) return { update: { flag: '=', summary: '[up to date]', src, dst } }
  const isTag = m.dst.startsWith('refs/tags/')
  let update: RefUpdate
  let what: string
  if (old === undefined) {
    const kind = isTag ? 'tag' : m.src.startsWith('refs/heads/') ? 'branch' : 'ref'
    update = { flag: '*', summary: `[new ${kind}]`, src, dst }
    what = isTag ? 'storing tag' : m.src.startsWith('refs/heads/') ? 'storing head' : 'storing ref'
  } else if (isTag && !m.force) {
    return { update: { flag: '!', summary: '[rejected]', src, dst, reason: '(would clobber existing tag)' } }
  } else if (await isFastForward(store, old, m.oid)) {
    update = { flag: ' ', summary: `${await abbrev(old)}..${await abbrev(m.oid)}`, src, dst }
    what = 'fast-forward'
  } else if (m.force) {
    update = { flag: '+', summary: `${await abbrev(old)}...${await abbrev(m.oid)}`, src, dst, reason: '(forced update)' }
    what = 'forced-update'
  } else {
    return { update: { flag: '!', summary: '[rejected]', src, dst, reason: '(non-fast-forward)' } }
  }
  const write: RefWrite = (tx) => tx.update(m.dst, m.oid, { ...(old !== undefined ? { oldOid: old } : {}), reflog: { ident: log.ident, message: `${log.message}: ${what}` } })
  return { update, write }
}

/** The remotes `fetch --all` fetches: every one configured, in the config's order, but those with remote.<name>.skipFetchAll. */
export async function remotesForAll(ctx: Pick<OpContext, 'cwd' | 'env' | 'configOverrides'>): Promise<string[]> {
  const repo = await Repository.open(ctx.cwd, { env: ctx.env, cliConfig: ctx.configOverrides ?? [] })
  return repo.config.subsections('remote').filter((name) => repo.config.getBool(`remote.${name}.skipFetchAll`) !== true)
}

export async function fetch(ctx: OpContext, opts: FetchOptions): Promise<FetchResult> {
  const rc = await openRepoContext(ctx, { lazyFetch: false })
  const { repo, store } = rc
  let session: RemoteSession | undefined
  let received: Received | undefined
  try {
    const config = repo.config
    const deepen = deepenArgs(opts, repo.shallow.size > 0)
    const filterGiven = opts.filter !== undefined && opts.noFilter !== true ? parseFilterSpec(opts.filter) : undefined
    const branch = await currentBranch((n) => repo.refs.readSymref(n))
    const name = opts.remote ?? (branch !== undefined ? config.getString(`branch.${branch}.remote`) : undefined) ?? 'origin'
    // Not a remote's name but a URL or a path: fetched from as such, with no configured
    // refspec (its HEAD when none is given), nothing but FETCH_HEAD and what the command
    // line names updated, as git does.
    const byUrl = config.getString(`remote.${name}.url`) === undefined && /[/:]/.test(name)
    const url = byUrl ? name : config.getString(`remote.${name}.url`)
    if (url === undefined) throw new TsgitError('E_NO_REMOTE', `'${name}' does not appear to be a git repository`)
    // What the negotiation may offer, settled before connecting (negotiation-tips.ts).
    const noHaves = offersNoHaves(config)
    const presumed = (ref: string): boolean => !byUrl && ref.startsWith(`refs/remotes/${name}/`)
    const localRefs = await repo.refs.list('refs/')
    const chosen = opts.negotiationTips !== undefined && opts.negotiationTips.length > 0 ? await chosenTips(opts.negotiationTips, { refs: repo.refs, store, sink: ctx.sink }, localRefs, presumed) : undefined
    // --filter: the remote becomes a promisor remote before anything is fetched, as git's
    // fetch registers it (a URL is no remote: nothing to register).
    if (filterGiven !== undefined && !byUrl) await config.update((f) => registerPromisorRemote(f, name, filterToConfig(filterGiven)))
    const shown = shownUrl(url)
    const rawCli = opts.refspecs !== undefined && opts.refspecs.length > 0 ? opts.refspecs : byUrl ? ['HEAD'] : []
    const cliNegatives = rawCli.flatMap((r) => parseNegativeRefspec(r) ?? [])
    const cliSpecs = rawCli.filter((r) => parseNegativeRefspec(r) === undefined).map(parseCliRefspec)
    // Only negative refspecs on the command line: nothing to fetch, as git.
    const fromCli = rawCli.length > 0
    const { specs, follow: followByConfig, negatives: configNegatives } = remoteRefspecs(config, name, opts.tags)
    const negatives = fromCli ? cliNegatives : configNegatives
    if (!fromCli && specs.length === 0) throw new UsageError(`remote '${name}' has no fetch refspec (remote.${name}.fetch)`)
    // With refspecs on the command line tags are followed only when one of them stores
    // what it fetches somewhere (git's autotags); --tags adds them all as ever.
    const follow = followByConfig && (!fromCli || cliSpecs.some((c) => c.dst !== ''))
    // --tags (or tagOpt --tags) fetches every tag, whatever else is named.
    const tagSpec = specs.find((s) => s.src === 'refs/tags/*' && s.dst === 'refs/tags/*')
    const wanted = fromCli ? [...cliSpecs.flatMap((c) => (c.oid !== undefined ? [] : c.glob !== undefined ? [refspecPrefix(c.glob)] : nameCandidates(c.src))), ...(tagSpec !== undefined ? ['refs/tags/'] : [])] : specs.map(refspecPrefix)
    const prefixes = [...new Set([...wanted, ...(follow ? ['refs/tags/'] : [])])]
    const transportOptions = transportOptionsFromConfig(config, { name, url }, { env: ctx.env, sink: ctx.sink, signal: ctx.signal, localBase: repo.workTree ?? repo.gitDir })
    // Only object ids asked for, no tag to follow: no ref is listed, as git lists none.
    const idsOnly = fromCli && cliSpecs.length > 0 && prefixes.length === 0
    const listed = idsOnly ? { session: await openSession(url, transportOptions), refs: [] } : await openSessionAndListRefs(url, transportOptions, { refPrefixes: prefixes.length > 0 ? prefixes : ['HEAD'] })
    session = listed.session
    // Negative refspecs take out what they match (a ref named by object id stays).
    const mappings = (fromCli ? [...mapCliRefs(cliSpecs, listed.refs), ...(tagSpec !== undefined ? mapRefs([tagSpec], listed.refs) : [])] : mapRefs(specs, listed.refs))
      .filter((m) => !excludedBy(negatives, m.src))
    const alsoTracking = fromCli ? opportunistic(mappings.filter((m) => m.cli === true), specs) : []
    // A branch a worktree has checked out is not moved under it (its index and files
    // would no longer match), as git refuses; before anything is fetched.
    if (mappings.some((m) => m.dst.startsWith('refs/heads/'))) {
      for (const wt of await worktreeHeads(repo.commonDir, config.getBool('core.bare', false) === true)) {
        const hit = mappings.find((m) => m.dst === wt.symref)
        if (hit !== undefined) throw new TsgitError('E_FETCH_CHECKED_OUT', `refusing to fetch into branch '${hit.dst}' checked out at '${wt.path}'`)
      }
    }

    // Tags followed: those the refspecs do not name, absent here, whose object is here
    // or among what is fetched (include-tag brings a tag on a commit that comes now).
    const local = new Set(localRefs.map((r) => r.name))
    const mapped = new Set(mappings.map((m) => m.src))
    const candidates = follow ? listed.refs.filter((r) => r.oid !== undefined && r.name.startsWith('refs/tags/') && !mapped.has(r.name) && !local.has(r.name) && isValidRefName(r.name) && !excludedBy(negatives, r.name)) : []

    const wants = new Set<Oid>()
    // Deepening or refetching, every tip is wanted, here or not (git's fetch does the same).
    const everyTip = deepen !== undefined || opts.refetch === true
    for (const m of mappings) if (everyTip || !(await store.has(m.oid))) wants.add(m.oid)
    const wantedTips = new Set(wants)
    for (const t of candidates) {
      const target = t.peeled ?? (t.oid as Oid)
      if (!(await store.has(t.oid as Oid)) && ((await store.has(target)) || wantedTips.has(target))) wants.add(t.oid as Oid)
    }

    let objects = 0
    const promisor = config.getBool(`remote.${name}.promisor`) === true
    if (wants.size > 0) {
      // The filter given, else the promisor remote's own (git's fetch_one_setup_partial).
      const configured = promisor && opts.noFilter !== true ? config.getString(`remote.${name}.partialclonefilter`) : undefined
      const filterSpec = filterGiven ?? (configured !== undefined ? parseFilterSpec(configured) : undefined)
      const filter = filterSpec !== undefined && serverSupportsFilter(session.caps) ? filterToWire(filterSpec) : undefined
      const promisorLines = promisor || filterGiven !== undefined ? mappings.map((m) => `${m.oid} ${m.src}\n`).join('') : undefined
      const protocols = uriProtocols(config, ctx.sink)
      const thin = promisorRemotes(config).length === 0 && filterSpec === undefined
      const args: FetchArgs = {
        wants: [...wants],
        done: true,
        // As git: deltas on what is common here, the bases completed from the store
        // (not in a partial clone, whose bases may be among what it never fetched).
        thinPack: thin,
        ofsDelta: true,
        includeTag: follow,
        // As git: when progress is not shown, the server is asked not to send its own.
        noProgress: opts.noProgress ?? ctx.sink.showProgress === false,
        ...(filter !== undefined ? { filter } : {}),
        // A shallow repository says where its history ends, so the server sends nothing past it.
        ...(repo.shallow.size > 0 ? { shallow: [...repo.shallow] } : {}),
        ...deepen,
        ...packfileUriArgs(session.caps, protocols),
      }
      const uriArgs = args.packfileUriProtocols ?? []
      // Rounds of haves until the server knows what is common (negotiate.ts); the
      // remote's own remote-tracking refs are offered first.
      const tips =
        opts.refetch === true || noHaves
          ? []
          : chosen !== undefined
            ? [...(await listedHere(store, listed.refs)), ...chosen]
            : localRefs.map((r) => refTip(r, presumed))
      received = await receive(session, await negotiate(session, args, { store, tips, shallow: repo.shallow.size > 0, sink: ctx.sink }), {
        packDir: store.packDir,
        keep: `tsgit fetch ${process.pid}\n`,
        ...(promisorLines !== undefined ? { promisor: promisorLines } : {}),
        progress: ctx.sink,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        threads: packThreads(config),
        ...(thin ? { resolveExternal: (oid: Oid) => store.tryRead(oid) } : {}),
        ...(uriArgs.length > 0 ? { uris: { protocols: uriArgs, transportOptions, concurrency: uriConcurrency(config), journal: new ConfigJournal(config) } } : {}),
      })
      objects = received.objects
      await store.rescan()
      if (received.shallow !== undefined) {
        // The boundary the server drew: new shallow commits in, those it completed out.
        const { shallow: added, unshallow } = received.shallow
        const next = new Set([...repo.shallow, ...added])
        for (const oid of unshallow) next.delete(oid)
        await repo.setShallow(next)
        store.shallowChanged()
      }
      await checkTips(store, mappings.map((m) => ({ oid: m.oid, name: m.src })))
      if (received.packs.length + received.alreadyHere.length > 1 && !promisor && filterGiven === undefined) await checkConnected(repo, store, [...wantedTips])
    }
    await session.transport.close()
    session = undefined

    for (const t of candidates) {
      if ((await store.has(t.oid as Oid)) && (await store.has(t.peeled ?? (t.oid as Oid)))) mappings.push({ src: t.name, dst: t.name, oid: t.oid as Oid, force: false, followed: true })
    }
    mappings.push(...alsoTracking)

    // The refs, as git updates them: each on its own, a refused one leaving the others;
    // with --atomic all in one transaction, none when one is refused; none with --dry-run.
    const writes: RefWrite[] = []
    const ident = committerIdent(config, ctx.env)
    const rla = ['fetch', ...(opts.args ?? [])].join(' ')
    const updates: RefUpdate[] = []
    // --prune: the local refs a refspec in use maps from a remote ref the remote no longer
    // has (it listed everything under the refspec's source), deleted with their reflogs.
    const prune = !byUrl && (opts.prune ?? config.getBool(`remote.${name}.prune`) ?? config.getBool('fetch.prune') ?? false)
    if (prune) {
      const inUse = fromCli ? cliSpecs.flatMap((c) => (c.glob !== undefined ? [c.glob] : [])) : specs
      const remoteNames = new Set(listed.refs.map((r) => r.name))
      const updated = new Set(mappings.map((m) => m.dst))
      for (const r of localRefs) {
        if (r.symref !== undefined || updated.has(r.name)) continue
        const stale = inUse.some((spec) => {
          const src = mapRefspec(`${spec.src}:${spec.dst}`, r.name, true)
          return src !== undefined && !remoteNames.has(src)
        })
        if (!stale) continue
        writes.push((tx) => tx.delete(r.name, { oldOid: r.oid }))
        updates.push({ flag: '-', summary: '[deleted]', src: '(none)', dst: shortName(r.name) })
      }
    }
    // Ids as git shortens them: its length for the packed objects there are now (the
    // pack just received counted), longer where that is ambiguous; the summary column
    // as wide as two of the longest and `..`.
    let minAbbrev: number | undefined
    let widest = 0
    const abbrev = async (oid: Oid): Promise<string> => {
      const a = await abbreviate(store, oid, (minAbbrev ??= await defaultAbbrevLength(repo.config, store)))
      widest = Math.max(widest, a.length)
      return a
    }
    for (const m of mappings) {
      await abbrev(m.oid)
      const planned = await planRef(repo.refs, store, m, { ident, message: rla }, abbrev)
      updates.push(planned.update)
      if (planned.write !== undefined) writes.push(planned.write)
    }
    const rejected = updates.filter((u) => u.flag === '!').length
    const result = { url: shown, updates, summaryWidth: 2 * (widest > 0 ? widest : FALLBACK_ABBREV) + 3, rejected, objects }
    if (opts.dryRun === true) return result
    if (opts.atomic === true) {
      // git's --atomic: a refused update fails the whole transaction; FETCH_HEAD is left
      // empty (or as it was, appended to)
      if (rejected > 0) {
        if (opts.appendFetchHead !== true) await writeFileAtomic(join(repo.gitDir, 'FETCH_HEAD'), '')
        return { ...result, atomicFailed: true }
      }
      const tx = repo.refs.transaction()
      for (const w of writes) w(tx)
      await tx.commit()
    } else {
      for (const w of writes) {
        const tx = repo.refs.transaction()
        w(tx)
        await tx.commit()
      }
    }

    // FETCH_HEAD: what was fetched, the current branch's upstream first (for a merge).
    // (From the command line: what it named, all for merge; then the tags followed.)
    const merge = branch !== undefined && config.getString(`branch.${branch}.remote`) === name ? config.getString(`branch.${branch}.merge`) : undefined
    // (A remote's HEAD is described by the URL alone.)
    const line = (m: Mapping, forMerge: boolean): string => `${m.oid}\t${forMerge ? '' : 'not-for-merge'}\t${m.src === 'HEAD' ? shown : `${describe(m.src)} of ${shown}`}\n`
    const listedInHead = mappings.filter((m) => !alsoTracking.includes(m))
    const forMerge = (m: Mapping): boolean => !m.followed && (fromCli ? m.cli === true : m.src === merge)
    const fetchHead = [...listedInHead.filter(forMerge).map((m) => line(m, true)), ...listedInHead.filter((m) => !forMerge(m)).map((m) => line(m, false))].join('')
    const fetchHeadPath = join(repo.gitDir, 'FETCH_HEAD')
    const before = opts.appendFetchHead === true ? await readFile(fetchHeadPath, 'utf8').catch((e: unknown) => { if (isNotFound(e)) return ''; throw e }) : ''
    await writeFileAtomic(fetchHeadPath, before + fetchHead)
    return result
  } finally {
    // The packs stay (their objects may serve a retry), held no longer; never a .keep
    // that was there before this fetch.
    await received?.release().catch(() => undefined)
    await session?.transport.close().catch(() => undefined)
    await store.close()
  }
}
