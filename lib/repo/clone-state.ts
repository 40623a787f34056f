/**
 * The state of a clone that has not finished, kept in the new repository's own config
 * (section `cloneResume`, and one `resumeDownload.<key>` subsection per download), so
 * that `tsgit clone-resume <dir>` (or the same `tsgit clone` run again) can finish it
 * without downloading again what arrived. Written through the config's lock file and
 * rename, like every config edit: a crash while writing leaves the old state whole.
 *
 * The state is input like anything else on disk: every value is checked when read, and
 * a value that would make tsgit read or write outside the repository is refused.
 * tsgit-clone-resume(1) documents the keys.
 */
import { RepositoryError } from '../errors.js'
import { isOid, type Oid } from '../oid.js'
import type { ConfigFile, ConfigReader } from './config.js'

/** What the state is read from: a repository's layered config, or its file alone. */
export type ConfigView = Pick<ConfigReader, 'get' | 'getAll' | 'subsections'>
import { isValidRefName } from './refs.js'

export const STATE_SECTION = 'cloneResume'
export const DOWNLOAD_SECTION = 'resumeDownload'

/** What `tsgit clone` was asked to do: fixed when the clone starts. */
export interface CloneRequest {
  /** The URL as recorded in remote.<origin>.url. */
  url: string
  origin: string
  bare: boolean
  checkout: boolean
  /** -b/--branch */
  branch?: string
  /** undefined: git's default. */
  singleBranch?: boolean
  tags: boolean
  /** The combined filter spec, as git writes it in remote.<origin>.partialclonefilter. */
  filter?: string
  depth?: number
  /** --shallow-since, in seconds since the epoch. */
  shallowSince?: number
  /** --shallow-exclude: the remote refs the history stops at. */
  shallowExclude?: string[]
  bundleUri?: string
  /** --sparse: a sparse checkout of the top directory's files only. */
  sparse?: boolean
}

export interface PlannedRef {
  name: string
  oid: Oid
  peeled?: Oid
}

/** What the clone decided from the remote's refs: fixed once the first pack byte is asked for. */
export interface ClonePlan {
  /** The local branch HEAD points at, when HEAD is a branch. */
  branch?: string
  /** Detached HEAD (clone -b <tag>). */
  detach?: Oid
  /** The remote's HEAD symref target (refs/remotes/<origin>/HEAD follows it). */
  remoteHead?: string
  wanted: PlannedRef[]
  followTags: PlannedRef[]
  /** The server takes the filter: the clone is partial. */
  partial: boolean
}

export interface CloneState extends CloneRequest {
  plan?: ClonePlan
  /** The bundles (bundleUri) already unbundled, by key (bundle-<sha1 of the URI>). */
  bundlesApplied: string[]
  /** Every bundle the bundle URI offers was taken (or skipped): not asked for again. */
  bundlesDone: boolean
  /** The file in objects/pack receiving the pack of the response being read. */
  pack?: string
  /** fetch: objects are still coming; checkout: the refs are written, the work tree is not. */
  phase: 'fetch' | 'checkout'
}

/** What is known of one resumable download (a packfile URI's pack, or a bundle). */
export interface DownloadRecord {
  uri: string
  /** An ETag or Last-Modified date, sent back as If-Range. */
  validator?: string
  /** The whole file's length, when the server said it. */
  length?: number
  /** Bytes on disk when the download last stopped (synced): the file must hold at least these. */
  have?: number
}

const PACK_FILE = /^tmp_pack_[A-Za-z0-9]{1,64}$/
/** A pack's checksum, or "bundle-" and the SHA-1 of a bundle's URI. */
const DOWNLOAD_KEY = /^(bundle-)?[0-9a-f]{40}$/

function bad(key: string, value: string | null | undefined): RepositoryError {
  return new RepositoryError(`invalid clone-resume state: ${key} = ${JSON.stringify(value ?? null)}`)
}

function str(config: ConfigView, name: string, required: true): string
function str(config: ConfigView, name: string, required?: false): string | undefined
function str(config: ConfigView, name: string, required = false): string | undefined {
  const key = `${STATE_SECTION}.${name}`
  const v = config.get(key)
  if (v === undefined && !required) return undefined
  if (typeof v !== 'string' || v === '' || /[\0\n\r]/.test(v)) throw bad(key, v)
  return v
}

function bool(config: ConfigView, name: string): boolean | undefined {
  const key = `${STATE_SECTION}.${name}`
  const v = config.get(key)
  if (v === undefined) return undefined
  if (v === 'true') return true
  if (v === 'false') return false
  throw bad(key, v)
}

function count(value: string | null | undefined, key: string, min: number): number {
  if (typeof value !== 'string' || !/^\d{1,16}$/.test(value)) throw bad(key, value)
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < min) throw bad(key, value)
  return n
}

function oid(value: string | undefined, key: string): Oid {
  if (value === undefined || !isOid(value)) throw bad(key, value)
  return value
}

function plannedRef(line: string | null, key: string): PlannedRef {
  const parts = typeof line === 'string' ? line.split(' ') : []
  const [id, name, peeled] = parts
  if (parts.length < 2 || parts.length > 3 || name === undefined || !isValidRefName(name)) throw bad(key, line)
  return { oid: oid(id, key), name, ...(peeled !== undefined ? { peeled: oid(peeled, key) } : {}) }
}

function refLine(r: PlannedRef): string {
  return `${r.oid} ${r.name}${r.peeled !== undefined ? ` ${r.peeled}` : ''}`
}

/** Whether the clone cuts its history (--depth, --shallow-since, --shallow-exclude). */
export function cutsHistory(r: CloneRequest): boolean {
  return r.depth !== undefined || r.shallowSince !== undefined || (r.shallowExclude ?? []).length > 0
}

/** Whether the repository's config says a clone of it has not finished. */
export function hasCloneState(config: ConfigView): boolean {
  return config.get(`${STATE_SECTION}.url`) !== undefined
}

/** The state, checked; undefined when there is none. */
export function readCloneState(config: ConfigView): CloneState | undefined {
  if (!hasCloneState(config)) return undefined
  const url = str(config, 'url', true)
  const origin = str(config, 'origin', true)
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(origin)) throw bad(`${STATE_SECTION}.origin`, origin)
  const depthText = str(config, 'depth')
  const sinceText = str(config, 'shallowSince')
  const exclude = config.getAll(`${STATE_SECTION}.shallowExclude`).map((v) => {
    if (typeof v !== 'string' || v === '' || /[\x00-\x20\x7f]/.test(v)) throw bad(`${STATE_SECTION}.shallowExclude`, v)
    return v
  })
  const branch = str(config, 'branch')
  const singleBranch = bool(config, 'singleBranch')
  const filter = str(config, 'filter')
  const bundleUri = str(config, 'bundleUri')
  const sparse = bool(config, 'sparse')
  const state: CloneState = {
    url,
    origin,
    bare: bool(config, 'bare') ?? false,
    checkout: bool(config, 'checkout') ?? true,
    tags: bool(config, 'tags') ?? true,
    phase: 'fetch',
    bundlesApplied: config.getAll(`${STATE_SECTION}.bundleApplied`).map((k) => {
      if (typeof k !== 'string' || !/^bundle-[0-9a-f]{40}$/.test(k)) throw bad(`${STATE_SECTION}.bundleApplied`, k)
      return k
    }),
    bundlesDone: bool(config, 'bundlesDone') ?? false,
    ...(branch !== undefined ? { branch } : {}),
    ...(singleBranch !== undefined ? { singleBranch } : {}),
    ...(filter !== undefined ? { filter } : {}),
    ...(depthText !== undefined ? { depth: count(depthText, `${STATE_SECTION}.depth`, 1) } : {}),
    ...(sinceText !== undefined ? { shallowSince: count(sinceText, `${STATE_SECTION}.shallowSince`, 0) } : {}),
    ...(exclude.length > 0 ? { shallowExclude: exclude } : {}),
    ...(bundleUri !== undefined ? { bundleUri } : {}),
    ...(sparse === true ? { sparse } : {}),
  }
  const phase = str(config, 'phase')
  if (phase !== undefined) {
    if (phase !== 'fetch' && phase !== 'checkout') throw bad(`${STATE_SECTION}.phase`, phase)
    state.phase = phase
  }
  const pack = str(config, 'pack')
  if (pack !== undefined) {
    // A name in objects/pack, never a path: a state that points elsewhere is refused.
    if (!PACK_FILE.test(pack)) throw bad(`${STATE_SECTION}.pack`, pack)
    state.pack = pack
  }
  const partial = bool(config, 'partial')
  if (partial !== undefined) {
    const headBranch = str(config, 'head')
    const detach = str(config, 'detach')
    const remoteHead = str(config, 'remoteHead')
    for (const [k, v] of [['head', headBranch], ['remoteHead', remoteHead]] as const) {
      if (v !== undefined && !isValidRefName(k === 'head' ? `refs/heads/${v}` : v)) throw bad(`${STATE_SECTION}.${k}`, v)
    }
    state.plan = {
      partial,
      wanted: config.getAll(`${STATE_SECTION}.want`).map((l) => plannedRef(l, `${STATE_SECTION}.want`)),
      followTags: config.getAll(`${STATE_SECTION}.followTag`).map((l) => plannedRef(l, `${STATE_SECTION}.followTag`)),
      ...(headBranch !== undefined ? { branch: headBranch } : {}),
      ...(detach !== undefined ? { detach: oid(detach, `${STATE_SECTION}.detach`) } : {}),
      ...(remoteHead !== undefined ? { remoteHead } : {}),
    }
  }
  return state
}

/** Writes what the clone was asked to do (at its start, with the repository's first config). */
export function writeCloneRequest(f: ConfigFile, r: CloneRequest): void {
  f.removeSection(STATE_SECTION)
  const k = (name: string): string => `${STATE_SECTION}.${name}`
  f.set(k('url'), r.url)
  f.set(k('origin'), r.origin)
  f.set(k('bare'), String(r.bare))
  f.set(k('checkout'), String(r.checkout))
  f.set(k('tags'), String(r.tags))
  if (r.branch !== undefined) f.set(k('branch'), r.branch)
  if (r.singleBranch !== undefined) f.set(k('singleBranch'), String(r.singleBranch))
  if (r.filter !== undefined) f.set(k('filter'), r.filter)
  if (r.depth !== undefined) f.set(k('depth'), String(r.depth))
  if (r.shallowSince !== undefined) f.set(k('shallowSince'), String(r.shallowSince))
  for (const ref of r.shallowExclude ?? []) f.add(k('shallowExclude'), ref)
  if (r.bundleUri !== undefined) f.set(k('bundleUri'), r.bundleUri)
  if (r.sparse === true) f.set(k('sparse'), 'true')
  f.set(k('phase'), 'fetch')
}

/** Writes (or replaces) the plan. */
export function writeClonePlan(f: ConfigFile, p: ClonePlan): void {
  const k = (name: string): string => `${STATE_SECTION}.${name}`
  for (const name of ['head', 'detach', 'remoteHead', 'want', 'followTag', 'partial']) f.unsetAll(k(name))
  f.set(k('partial'), String(p.partial))
  if (p.branch !== undefined) f.set(k('head'), p.branch)
  if (p.detach !== undefined) f.set(k('detach'), p.detach)
  if (p.remoteHead !== undefined) f.set(k('remoteHead'), p.remoteHead)
  for (const r of p.wanted) f.add(k('want'), refLine(r))
  for (const r of p.followTags) f.add(k('followTag'), refLine(r))
}

/** Names the file receiving the current response's pack (undefined: none). */
export function writeClonePack(f: ConfigFile, pack: string | undefined): void {
  const key = `${STATE_SECTION}.pack`
  if (pack === undefined) f.unsetAll(key)
  else f.set(key, pack)
}

/** A bundle was unbundled (its key); `done`: the bundle URI has nothing more to give. */
export function writeBundleApplied(f: ConfigFile, key: string | undefined, done = false): void {
  if (key !== undefined) f.add(`${STATE_SECTION}.bundleApplied`, key)
  if (done) f.set(`${STATE_SECTION}.bundlesDone`, 'true')
}

export function writeClonePhase(f: ConfigFile, phase: CloneState['phase']): void {
  f.set(`${STATE_SECTION}.phase`, phase)
}

/** The clone is done: its state goes, downloads' records too. */
export function clearCloneState(f: ConfigFile): void {
  f.removeSection(STATE_SECTION)
  for (const key of f.subsections(DOWNLOAD_SECTION)) f.removeSection(`${DOWNLOAD_SECTION}.${key}`)
}

/** The recorded download `key` (a pack checksum, or bundle-<sha1 of its URI>), checked; undefined when none. */
export function readDownloadRecord(config: ConfigView, key: string): DownloadRecord | undefined {
  if (!DOWNLOAD_KEY.test(key)) throw new RepositoryError(`invalid download key '${key}'`)
  const base = `${DOWNLOAD_SECTION}.${key}`
  const uri = config.get(`${base}.uri`)
  if (uri === undefined) return undefined
  if (typeof uri !== 'string' || uri === '' || /[\0\n\r]/.test(uri)) throw bad(`${base}.uri`, uri)
  const validator = config.get(`${base}.validator`)
  if (validator !== undefined && (typeof validator !== 'string' || /[\0\n\r]/.test(validator))) throw bad(`${base}.validator`, validator)
  const length = config.get(`${base}.length`)
  const have = config.get(`${base}.have`)
  const rec: DownloadRecord = { uri }
  if (typeof validator === 'string' && validator !== '') rec.validator = validator
  if (length !== undefined) rec.length = count(length, `${base}.length`, 0)
  if (have !== undefined) rec.have = count(have, `${base}.have`, 0)
  if (rec.length !== undefined && rec.have !== undefined && rec.have > rec.length) throw bad(`${base}.have`, have)
  return rec
}

export function writeDownloadRecord(f: ConfigFile, key: string, rec: DownloadRecord): void {
  if (!DOWNLOAD_KEY.test(key)) throw new RepositoryError(`invalid download key '${key}'`)
  const base = `${DOWNLOAD_SECTION}.${key}`
  f.removeSection(base)
  f.set(`${base}.uri`, rec.uri)
  if (rec.validator !== undefined) f.set(`${base}.validator`, rec.validator)
  if (rec.length !== undefined) f.set(`${base}.length`, String(rec.length))
  if (rec.have !== undefined) f.set(`${base}.have`, String(rec.have))
}

export function removeDownloadRecord(f: ConfigFile, key: string): void {
  f.removeSection(`${DOWNLOAD_SECTION}.${key}`)
}

/** The keys of every recorded download. */
export function downloadKeys(config: ConfigView): string[] {
  return config.subsections(DOWNLOAD_SECTION).filter((k) => DOWNLOAD_KEY.test(k))
}
