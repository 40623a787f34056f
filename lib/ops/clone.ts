/**
 * tsgit clone and tsgit clone-resume: the destination, the new repository with the
 * clone's request recorded in its config, then tries (clone-attempt.ts) until one
 * finishes or a failure is not worth another.
 *
 * A failure a later try could get past (a connection cut or reset, a timeout, an HTTP
 * 5xx, an interrupt) is tried again by resuming, with growing pauses, clone.retries
 * times (default 3); what arrived is kept. When the tries run out, or the user
 * interrupts, the directory stays as soon as any pack data is on disk, and the error
 * says how to finish it: `tsgit clone-resume <dir>`, or the same clone command again. A
 * failure no retry can fix (the repository is not there, authentication, a corrupt or
 * hostile answer, bad usage) removes what a fresh clone created, as before.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { InterruptedError, RepositoryError, TsgitError, UsageError, isNotFound } from '../errors.js'
import { combineFilterSpecs, filterToConfig } from '../protocol/index.js'
import { hasCloneState, readCloneState, writeCloneRequest, type CloneRequest } from '../repo/clone-state.js'
import { ConfigFile } from '../repo/config.js'
import { loadConfig } from '../repo/config-load.js'
import { initRepository, Repository } from '../repo/repository.js'
import { CredentialJar, parseRemoteUrl } from '../transport/index.js'
import { attemptClone, type CloneContext, type CloneJob, type CloneResult, type FirstContact } from './clone-attempt.js'
import { directoryFromUrl, prepareDestination, removeDestination, type Destination } from './clone-dest.js'
import { assertLocalSource } from './clone-source.js'
import { openSessionAndListRefs } from './remote-session.js'
import { transportOptionsFromConfig } from './transport-options.js'

export type { CloneContext, CloneResult } from './clone-attempt.js'

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
  /** --shallow-since, in seconds since the epoch (implies single-branch as --depth does). */
  shallowSince?: number
  /** --shallow-exclude: history stops where it reaches these remote refs (implies single-branch). */
  shallowExclude?: string[]
  /** Tries after the first for a failure a retry may get past (--retries; default clone.retries, else 3). */
  retries?: number
  /** --bundle-uri: bundles (or a bundle list) to unbundle before the remote is asked. */
  bundleUri?: string
  /** --sparse: a cone-mode sparse checkout of the top directory's files only (`sparse-checkout init`). */
  sparse?: boolean
}

export const DEFAULT_RETRIES = 3
/** The first pause before a retry; each later one is twice as long. */
export const DEFAULT_RETRY_DELAY_MS = 1000

/**
 * A clone that stopped short and was kept, for `tsgit clone-resume`. The message is the
 * cause's; `hint` says what to run.
 */
export class CloneKeptError extends TsgitError {
  readonly hint: string
  constructor(cause: unknown, dirArg: string) {
    const message = cause instanceof Error ? cause.message : String(cause)
    const exitCode = cause instanceof TsgitError ? cause.exitCode : 128
    super('E_CLONE_KEPT', message, { cause, exitCode })
    this.hint = `what arrived is kept; run 'tsgit clone-resume ${shellWord(dirArg)}' to finish the clone`
  }
}

function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

/** The URL as git records it: a local path becomes absolute. */
function recordedUrl(url: string, cwd: string): string {
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(url)) return url
  if (/^[^/]*:/.test(url) && !url.startsWith('/') && !url.startsWith('.')) return url // scp-like host:path
  return resolve(cwd, url)
}

/** Whether trying again may help: the error says so, or the user interrupted (then no retry, but the clone is kept). */
function transient(e: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted === true) return true
  return e instanceof TsgitError && e.retryable
}

/** Whether any pack data is on disk: until then a failed clone leaves nothing worth keeping. */
function hasPackData(gitDir: string): boolean {
  const packDir = join(gitDir, 'objects', 'pack')
  let names: string[]
  try {
    names = readdirSync(packDir)
  } catch (e) {
    if (isNotFound(e)) return false
    throw e
  }
  return names.some((n) => (n.endsWith('.pack') || n.endsWith('.temp') || n.startsWith('tmp_pack_') || n.startsWith('tmp_bundle_')) && statSync(join(packDir, n), { throwIfNoEntry: false })?.size !== 0)
}

/** Whether the clone wrote its refs: its state is gone, or says it was checking out. */
function refsWritten(gitDir: string): boolean {
  let text: Buffer
  try {
    text = readFileSync(join(gitDir, 'config'))
  } catch (e) {
    if (isNotFound(e)) return false
    throw e
  }
  const state = readCloneState(ConfigFile.parse(text))
  return state === undefined || state.phase === 'checkout'
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((done, fail) => {
    if (signal?.aborted) return fail(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      done()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      fail(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

interface Tries {
  retries: number
  delayMs: number
  /** Created by this run: removed when a failure is not worth keeping. */
  dest?: Destination
}

/** Tries `job` until it finishes, retrying what is worth it; see the module comment. */
async function runTries(ctx: CloneContext, job: CloneJob, tries: Tries, first?: FirstContact): Promise<CloneResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await attemptClone(ctx, job, attempt === 0 ? first : undefined)
      return { ...result, attempts: attempt + 1 }
    } catch (e) {
      // The user stopped it: by a signal, or by the interrupt key at a prompt (raw mode
      // makes that key a byte, not a signal). Kept when worth it, never retried.
      const stopped = ctx.signal?.aborted === true || e instanceof InterruptedError
      const again = stopped || transient(e, ctx.signal)
      const keep = again && hasPackData(job.gitDir)
      if (!again || (!keep && (attempt >= tries.retries || stopped))) {
        // Nothing worth keeping: a fresh clone leaves nothing behind, as before; once its
        // refs are written the clone stands (a checkout that failed says so).
        if (tries.dest !== undefined && !refsWritten(job.gitDir)) await removeDestination(tries.dest).catch(() => undefined)
        throw e
      }
      // Interrupted: the signal says why (the operation's own error is only an abort).
      if (stopped) throw new CloneKeptError(ctx.signal?.reason ?? e, job.dirArg)
      if (attempt >= tries.retries) throw new CloneKeptError(e, job.dirArg)
      const wait = tries.delayMs * 2 ** attempt
      ctx.sink.warn(`${e instanceof Error ? e.message : String(e)}\nretrying in ${(wait / 1000).toFixed(wait < 1000 ? 1 : 0)} s (try ${attempt + 2} of ${tries.retries + 1}), keeping what arrived`)
      await sleep(wait, ctx.signal).catch(() => {
        throw new CloneKeptError(e, job.dirArg)
      })
    }
  }
}

function retrySettings(retries: number | undefined, config: { getInt(key: string): number | undefined }): Omit<Tries, 'dest'> {
  const n = retries ?? config.getInt('clone.retries') ?? DEFAULT_RETRIES
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`clone.retries must be a number of tries, 0 or more (got ${n})`)
  const delay = config.getInt('clone.retryDelay') ?? DEFAULT_RETRY_DELAY_MS
  return { retries: n, delayMs: Math.max(0, delay) }
}

/** The request recorded in an unfinished clone at `destPath`, when there is one. */
function unfinishedClone(destPath: string, bare: boolean): { request: CloneRequest; gitDir: string } | undefined {
  for (const gitDir of bare ? [destPath] : [join(destPath, '.git'), destPath]) {
    let text: Buffer
    try {
      text = readFileSync(join(gitDir, 'config'))
    } catch (e) {
      if (isNotFound(e) || (e as { code?: unknown }).code === 'EISDIR') continue
      throw e
    }
    const file = ConfigFile.parse(text, join(gitDir, 'config'))
    if (!hasCloneState(file)) continue
    const state = readCloneState(file)
    if (state !== undefined) return { request: state, gitDir }
  }
  return undefined
}

/** What differs between two requests for the same clone (for the message that refuses to mix them). */
function differences(a: CloneRequest, b: CloneRequest): string[] {
  const keys: (keyof CloneRequest)[] = ['url', 'bare', 'branch', 'filter', 'depth', 'shallowSince', 'shallowExclude', 'singleBranch', 'tags', 'origin', 'sparse']
  const same = (x: unknown, y: unknown): boolean => JSON.stringify(x ?? null) === JSON.stringify(y ?? null)
  return keys.filter((k) => !same(a[k], b[k])).map((k) => `${k} ${JSON.stringify(a[k] ?? null)} (not ${JSON.stringify(b[k] ?? null)})`)
}

export async function clone(given: CloneContext, opts: CloneOptions): Promise<CloneResult> {
  // one jar for every try and the lazy fetches of the checkout: helpers are asked once
  const ctx: CloneContext = { ...given, credentials: given.credentials ?? new CredentialJar() }
  const bare = opts.bare ?? false
  const origin = opts.origin ?? 'origin'
  const tags = opts.tags ?? true
  if (opts.depth !== undefined && !(Number.isSafeInteger(opts.depth) && opts.depth > 0)) throw new UsageError(`depth ${opts.depth} is not a positive number`)
  // git's words: a bundle cannot be cut at a depth
  const shallowExclude = opts.shallowExclude ?? []
  if (opts.bundleUri !== undefined && (opts.depth !== undefined || opts.shallowSince !== undefined || shallowExclude.length > 0)) throw new TsgitError('E_USAGE_BUNDLE', '--bundle-uri is incompatible with --depth, --shallow-since, and --shallow-exclude')
  // git finds out only after the fetch, when its sparse-checkout init has no work tree
  if (opts.sparse === true && bare) throw new UsageError("options '--bare' and '--sparse' cannot be used together")
  // A bad filter spec is a usage error before anything touches the disk or the network.
  const filter = opts.filters && opts.filters.length > 0 ? combineFilterSpecs(opts.filters) : undefined
  const dirArg = opts.directory ?? directoryFromUrl(opts.url, bare)
  const destPath = resolve(ctx.cwd, dirArg)
  const request: CloneRequest = {
    url: recordedUrl(opts.url, ctx.cwd),
    origin,
    bare,
    checkout: opts.checkout ?? true,
    tags,
    ...(opts.branch !== undefined ? { branch: opts.branch } : {}),
    ...(opts.singleBranch !== undefined ? { singleBranch: opts.singleBranch } : {}),
    ...(filter !== undefined ? { filter: filterToConfig(filter) } : {}),
    ...(opts.depth !== undefined ? { depth: opts.depth } : {}),
    ...(opts.shallowSince !== undefined ? { shallowSince: opts.shallowSince } : {}),
    ...(shallowExclude.length > 0 ? { shallowExclude } : {}),
    ...(opts.bundleUri !== undefined ? { bundleUri: opts.bundleUri } : {}),
    ...(opts.sparse === true ? { sparse: true } : {}),
  }
  // A URL no transport takes (an unknown scheme or helper, a bad port) is
  // refused before anything is printed or created, not after "Cloning into".
  parseRemoteUrl(request.url, ctx.cwd)
  assertLocalSource(opts.url, ctx.cwd)
  const gitDir = bare ? destPath : join(destPath, '.git')
  const job: CloneJob = { dirArg, destPath, gitDir, request, ...(opts.noProgress !== undefined ? { noProgress: opts.noProgress } : {}) }

  // The same clone run again on a directory where it stopped short: carried on, so a
  // script that retries its clone command just works.
  const unfinished = unfinishedClone(destPath, bare)
  if (unfinished !== undefined) {
    const diff = differences(unfinished.request, request)
    if (diff.length > 0) {
      throw new RepositoryError(`destination path '${destPath}' holds an unfinished clone with other options: ${diff.join(', ')}; finish it with 'tsgit clone-resume ${shellWord(dirArg)}' or remove it`)
    }
    ctx.sink.info(`Resuming the clone into '${dirArg}'...`)
    const repoConfig = await loadConfig({ gitDir: unfinished.gitDir, env: ctx.env, cliConfig: ctx.configOverrides ?? [] })
    return runTries(ctx, { ...job, gitDir: unfinished.gitDir }, retrySettings(opts.retries, repoConfig))
  }

  const dest = await prepareDestination(destPath)
  ctx.sink.info(bare ? `Cloning into bare repository '${dirArg}'...` : `Cloning into '${dirArg}'...`)
  try {
    const setUp = (f: ConfigFile): void => {
      for (const c of opts.config ?? []) {
        const eq = c.indexOf('=')
        f.add(eq < 0 ? c : c.slice(0, eq), eq < 0 ? 'true' : c.slice(eq + 1))
      }
      f.set(`remote.${origin}.url`, request.url)
      writeCloneRequest(f, request)
    }
    // The transport reads the configuration the new repository will have (`-c` options
    // included), so the remote is contacted while the repository is being created.
    const planned = ConfigFile.empty(join(gitDir, 'config'))
    setUp(planned)
    const config = await loadConfig({ gitDir, env: ctx.env, cliConfig: ctx.configOverrides, localFile: planned })
    const tries = { ...retrySettings(opts.retries, config), dest }
    const transportOptions = transportOptionsFromConfig(config, { name: origin, url: request.url }, ctx)
    const first: FirstContact = {
      // the recorded URL: a local path resolved against ctx.cwd (tsgit -C), as every later try uses it
      opened: openSessionAndListRefs(request.url, transportOptions, { refPrefixes: tags ? ['HEAD', 'refs/heads/', 'refs/tags/'] : ['HEAD', 'refs/heads/'] }),
      created: (async () => {
        // The view is the transport's: its local layer is re-read from the file by this update.
        // The request is in the repository's first config: from its first byte on disk,
        // a directory this clone made says what it is.
        return Repository.fromLocation(await initRepository(destPath, { bare, config: setUp }), { env: ctx.env, config })
      })(),
    }
    first.opened.catch(() => undefined)
    return await runTries(ctx, job, tries, first)
  } catch (e) {
    // (runTries decided what stays; this is for a failure before it ran)
    if (!(e instanceof CloneKeptError) && !existsSync(gitDir)) await removeDestination(dest).catch(() => undefined)
    throw e
  }
}

export interface CloneResumeOptions {
  directory: string
  noProgress?: boolean
  retries?: number
}

/** tsgit clone-resume <dir>: finishes a clone that stopped short, from what it recorded. */
export async function cloneResume(given: CloneContext, opts: CloneResumeOptions): Promise<CloneResult> {
  const ctx: CloneContext = { ...given, credentials: given.credentials ?? new CredentialJar() }
  const destPath = resolve(ctx.cwd, opts.directory)
  const st = statSync(destPath, { throwIfNoEntry: false })
  if (st === undefined || !st.isDirectory()) throw new RepositoryError(`'${opts.directory}' is not a directory`)
  const found = unfinishedClone(destPath, false) ?? unfinishedClone(destPath, true)
  if (found === undefined) {
    const isRepo = [join(destPath, '.git', 'HEAD'), join(destPath, 'HEAD')].some((p) => statSync(p, { throwIfNoEntry: false }) !== undefined)
    throw new RepositoryError(isRepo ? `'${opts.directory}' holds no unfinished clone: nothing to resume` : `'${opts.directory}' is not a repository made by tsgit clone`)
  }
  const job: CloneJob = {
    dirArg: opts.directory,
    destPath: found.request.bare ? found.gitDir : destPath,
    gitDir: found.gitDir,
    request: found.request,
    ...(opts.noProgress !== undefined ? { noProgress: opts.noProgress } : {}),
  }
  ctx.sink.info(`Resuming the clone into '${opts.directory}'...`)
  const config = await loadConfig({ gitDir: found.gitDir, env: ctx.env, cliConfig: ctx.configOverrides ?? [] })
  return runTries(ctx, job, retrySettings(opts.retries, config))
}
