/**
 * Bundle lists (technical/bundle-uri): the git-config text a bundle URI may serve
 * instead of a bundle, naming bundles to download and how to combine them. Parsing,
 * URI resolution and the choice of bundles are pure; downloading is the caller's.
 *
 * What git does with a list, and where tsgit follows it:
 * - any key outside the `bundle` section makes the list unusable, as in git (its
 *   parser rejects the key); unknown keys inside the section are ignored;
 * - `bundle.version` must be 1 and `bundle.mode` all or any; a bad value of either,
 *   or a second `uri` for one id, makes the list unusable;
 * - an unknown `bundle.heuristic` is ignored, and a `creationToken` that does not
 *   parse only warns (the bundle then sorts as token 0), as git does.
 *
 * Deviations:
 * - `bundle.version` and `bundle.mode` are required, as the design document says;
 *   git 2.39 assumes 1 and `all` when they are missing;
 * - ids must be alphanumerics and `-`, as the document says; git takes any subsection;
 * - a `creationToken` must be plain decimal digits; git's sscanf also takes "12abc"
 *   as 12 and wraps "-1" to 2^64-1;
 * - a `uri` with a space or a control character is refused at parse time (WHATWG URL
 *   parsing would silently drop tabs and newlines from it);
 * - `bundle.<id>.filter` is honoured when choosing bundles (git 2.39 ignores it), and
 *   bundles keep the order of the list (git's hash map has none).
 */
import { posix } from 'node:path'
import { BundleListError, ConfigError } from '../errors.js'
import { ConfigFile, parseInteger, type ConfigEntry } from '../repo/config.js'
import { signatureState } from './bundle.js'
import { encodeSubSpec, parseFilterSpec, type FilterSpec } from './filter.js'

/** A list names a handful of bundles; anything bigger is not one worth parsing. */
export const DEFAULT_MAX_BUNDLE_LIST_BYTES = 4 * 1024 * 1024

export type BundleListMode = 'all' | 'any'

export interface BundleListEntry {
  id: string
  /** Resolved against the list's URI (see resolveBundleUri). */
  uri: string
  /** As written in the list. */
  rawUri: string
  /** `bundle.<id>.filter` as written; compare with sameFilter, not ===. */
  filter: string | undefined
  creationToken: bigint | undefined
  location: string | undefined
}

export interface BundleList {
  /** The URI the list was downloaded from, which relative bundle URIs are resolved against. */
  uri: string
  version: 1
  mode: BundleListMode
  /** Only `creationToken` is understood; any other value is dropped as git does. */
  heuristic: 'creationToken' | undefined
  /** In the order their ids first appear in the list. */
  bundles: BundleListEntry[]
  /** Problems git only warns about (unparsable creationToken or filter): the caller shows them. */
  warnings: string[]
}

export interface BundleListOptions {
  maxBytes?: number
}

const BUNDLE_ID = /^[A-Za-z0-9-]+$/
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/
const U64_MAX = (1n << 64n) - 1n

interface Draft {
  id: string
  rawUri?: string
  filter?: string
  creationToken?: bigint
  location?: string
}

/**
 * Parses a bundle list served at `listUri`. Throws BundleListError when the text is not
 * config, has keys outside the `bundle` section, lacks version or mode, has a bad value
 * for them, a bad id, or a bundle without a uri.
 */
export function parseBundleList(text: string, listUri: string, opts: BundleListOptions = {}): BundleList {
  const where = `bundle list at '${listUri}'`
  const max = opts.maxBytes ?? DEFAULT_MAX_BUNDLE_LIST_BYTES
  if (Buffer.byteLength(text, 'utf8') > max) throw new BundleListError(`${where}: larger than ${max} bytes`)
  let file: ConfigFile
  try {
    file = ConfigFile.parse(text, listUri)
  } catch (e) {
    if (e instanceof ConfigError) throw new BundleListError(`${where}: not a bundle list: ${e.message}`, { cause: e })
    throw e
  }

  let version: 1 | undefined
  let mode: BundleListMode | undefined
  let heuristic: 'creationToken' | undefined
  const drafts = new Map<string, Draft>()
  const warnings: string[] = []

  for (const { key, value, line } of file.entries()) {
    const bad = (what: string): BundleListError => new BundleListError(`${where}: ${what} (line ${line})`)
    if (!key.startsWith('bundle.')) throw bad(`key '${key}' is not in the bundle section`)
    const last = key.lastIndexOf('.')
    const name = key.slice(last + 1)
    if (last === 'bundle'.length) {
      if (name === 'version') {
        let n: number
        try {
          n = parseInteger(value, key)
        } catch (e) {
          throw new BundleListError(`${where}: bad bundle.version (line ${line})`, { cause: e })
        }
        if (n !== 1) throw bad(`unsupported bundle.version ${n} (only 1 is known)`)
        version = 1
      } else if (name === 'mode') {
        if (value !== 'all' && value !== 'any') throw bad(`bundle.mode must be 'all' or 'any', not ${JSON.stringify(value)}`)
        mode = value
      } else if (name === 'heuristic') {
        // an unknown heuristic is ignored, and does not undo a known one given earlier
        if (value === 'creationToken') heuristic = 'creationToken'
      }
      continue
    }
    const id = key.slice('bundle.'.length, last)
    if (!BUNDLE_ID.test(id)) throw bad(`bad bundle id ${JSON.stringify(id)} (only alphanumerics and '-' are allowed)`)
    let draft = drafts.get(id)
    if (draft === undefined) {
      draft = { id }
      drafts.set(id, draft)
    }
    if (name === 'uri') {
      if (draft.rawUri !== undefined) throw bad(`bundle '${id}' has more than one uri`)
      if (value === null || value === '') throw bad(`bundle '${id}' has an empty uri`)
      if (/[\x00-\x20\x7f]/.test(value)) throw bad(`bundle '${id}' has a uri with a space or control character: ${JSON.stringify(value)}`)
      draft.rawUri = value
    } else if (name === 'filter') {
      draft.filter = value ?? ''
    } else if (name === 'creationtoken') {
      const token = value !== null && /^[0-9]+$/.test(value) ? BigInt(value) : undefined
      if (token === undefined || token > U64_MAX) {
        // as git: warn and keep what an earlier line gave, if any
        warnings.push(`could not parse bundle list key creationToken with value '${value ?? ''}'`)
      } else {
        draft.creationToken = token
      }
    } else if (name === 'location') {
      if (value !== null) draft.location = value
    }
  }

  if (version === undefined) throw new BundleListError(`${where} has no bundle.version`)
  if (mode === undefined) throw new BundleListError(`${where} has no bundle.mode`)

  const bundles: BundleListEntry[] = []
  for (const d of drafts.values()) {
    if (d.rawUri === undefined) throw new BundleListError(`${where}: bundle '${d.id}' has no uri`)
    if (d.filter !== undefined && filterKey(d.filter) === undefined) {
      warnings.push(`bundle '${d.id}' has an unparsable filter '${d.filter}'; it will not be used`)
    }
    bundles.push({
      id: d.id,
      uri: resolveBundleUri(d.rawUri, listUri),
      rawUri: d.rawUri,
      filter: d.filter,
      creationToken: d.creationToken,
      location: d.location,
    })
  }
  return { uri: listUri, version, mode, heuristic, bundles, warnings }
}

/**
 * A bundle's URI as the design document resolves it: one with a scheme is absolute;
 * one starting with `/` is relative to the list's host; any other is relative to the
 * list's URI with its last path segment dropped (WHATWG URL resolution, which the
 * document's example agrees with). A list read from a plain path (git takes those
 * too) resolves relative paths against the path's directory.
 */
export function resolveBundleUri(uri: string, listUri: string): string {
  if (SCHEME.test(uri)) return uri
  if (SCHEME.test(listUri)) {
    try {
      return new URL(uri, listUri).href
    } catch (e) {
      throw new BundleListError(`cannot resolve bundle uri '${uri}' against '${listUri}'`, { cause: e })
    }
  }
  if (uri.startsWith('/')) return uri
  return posix.join(posix.dirname(listUri), uri)
}

/**
 * A filter in one spelling per meaning, so that "blob:limit=1k" in a list matches the
 * client's "blob:limit=1024": numbers expanded, combine: parts each in this form.
 */
function canonical(spec: FilterSpec): string {
  switch (spec.kind) {
    case 'blob:none':
      return 'blob:none'
    case 'blob:limit':
      return `blob:limit=${spec.limit}`
    case 'tree':
      return `tree:${spec.depth}`
    case 'object:type':
      return `object:type=${spec.objectType}`
    case 'sparse:oid':
      return `sparse:oid=${spec.expression}`
    case 'combine':
      return `combine:${spec.filters.map((f) => encodeSubSpec(canonical(f))).join('+')}`
  }
}

function filterKey(text: string): string | undefined {
  try {
    return canonical(parseFilterSpec(text))
  } catch {
    return undefined
  }
}

/**
 * Whether two filter-specs mean the same filter; `undefined` is no filter (a full
 * clone). A spec that does not parse equals nothing, not even itself.
 */
export function sameFilter(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  const ka = filterKey(a)
  return ka !== undefined && ka === filterKey(b)
}

export type BundleSelection =
  | {
      mode: 'all'
      /** Whether the list's creationToken heuristic ordered the bundles. */
      byCreationToken: boolean
      /**
       * Newest first with the heuristic (decreasing token, missing tokens as 0, ties in
       * list order), so a fetch can stop once a bundle's prerequisites are present;
       * otherwise list order.
       */
      download: BundleListEntry[]
      /** Oldest first with the heuristic (increasing token); otherwise list order. */
      unbundle: BundleListEntry[]
    }
  | {
      mode: 'any'
      /** Try in this order; the first that downloads and unbundles is enough. */
      candidates: BundleListEntry[]
    }

/**
 * The bundles of `list` a clone with partial-clone filter `clientFilter` can use (a
 * full clone, `undefined`, only those without a filter), and in which order to fetch
 * and apply them. Throws UsageError if `clientFilter` itself does not parse.
 */
export function selectBundles(list: BundleList, clientFilter: string | undefined): BundleSelection {
  if (clientFilter !== undefined) parseFilterSpec(clientFilter)
  const usable = list.bundles.filter((b) => sameFilter(b.filter, clientFilter))
  if (list.mode === 'any') return { mode: 'any', candidates: usable }
  if (list.heuristic !== 'creationToken') return { mode: 'all', byCreationToken: false, download: usable, unbundle: [...usable] }
  const token = (b: BundleListEntry): bigint => b.creationToken ?? 0n
  // Array.prototype.sort is stable, so equal tokens keep the list's order both ways
  const download = [...usable].sort((x, y) => (token(x) > token(y) ? -1 : token(x) < token(y) ? 1 : 0))
  const unbundle = [...usable].sort((x, y) => (token(x) < token(y) ? -1 : token(x) > token(y) ? 1 : 0))
  return { mode: 'all', byCreationToken: true, download, unbundle }
}

/**
 * What a bundle URI served, from its first bytes: 'bundle' when they begin with a v2
 * or v3 signature (16 bytes suffice); 'list' when they are config text whose keys are
 * all in the `bundle` section (pass the whole text: a list cut mid-line may not parse);
 * otherwise 'unknown', which git reports as "is not a bundle or bundle list".
 */
export function classifyBundleUriContent(first: Uint8Array, opts: BundleListOptions = {}): 'bundle' | 'list' | 'unknown' {
  if (signatureState(first) === 'bundle') return 'bundle'
  if (first.length > (opts.maxBytes ?? DEFAULT_MAX_BUNDLE_LIST_BYTES) || first.includes(0)) return 'unknown'
  const entries = configEntries(Buffer.from(first.buffer, first.byteOffset, first.byteLength))
  if (entries === undefined || entries.length === 0 || !entries.every((e) => e.key.startsWith('bundle.'))) return 'unknown'
  return 'list'
}

function configEntries(bytes: Buffer): ConfigEntry[] | undefined {
  try {
    return ConfigFile.parse(bytes, '<bundle uri>').entries()
  } catch (e) {
    if (e instanceof ConfigError) return undefined
    throw e
  }
}
