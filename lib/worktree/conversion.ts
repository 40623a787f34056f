/**
 * What a checkout does to the bytes of a path, and what a comparison of a file with
 * its index entry hashes: the end-of-line rules of eol.ts for each path's attributes
 * (attributes-match.ts). Checkout, switch and sparse checkout are handed a
 * ConversionLoader and call it before their blob fetch when the attributes files are
 * present (then files can be written as their blobs arrive), else once the fetch that
 * brings them is done: reading the attributes never costs a request of its own.
 */
import { MODE_BLOB, MODE_EXECUTABLE } from '../odb/objects.js'
import type { ObjectReader } from '../odb/types.js'
import type { Oid } from '../oid.js'
import { isAttributesFile } from './attributes.js'
import { AttributeMatcher, type AttributeSources } from './attributes-match.js'
import { EOL_ATTRIBUTES, crlfAction, toGit, toWorkTree, writesCrlf, type Cleaned, type CrlfAction, type EolAttributes, type EolConfig } from './eol.js'

/** Per path: how its blob becomes the file's bytes; undefined: written as stored. */
export type Smudge = (path: string) => ((data: Buffer) => Buffer) | undefined

/** Per path: how a file becomes what git hashes for it; undefined: hashed as it is. */
export type Clean = (path: string) => ((data: Buffer) => Cleaned) | undefined

export interface Conversion {
  smudge: Smudge
  clean: Clean
}

/** An attributes file of the index or a tree. */
export interface AttributesEntry {
  /** `.gitattributes` or `<dir>/.gitattributes`. */
  path: string
  oid: Oid
}

/**
 * Builds the conversion from the attributes files of the tree being checked out
 * (`from: 'index'`: their blobs, present by then or in `arrived`) or of the work tree
 * (`'work-tree'`: the files, else their blobs, as git reads them when it compares);
 * undefined when no path is converted.
 */
export type ConversionLoader = (files: readonly AttributesEntry[], from: 'index' | 'work-tree', arrived?: ReadonlyMap<Oid, Buffer>) => Promise<Conversion | undefined>

/** The attributes files among `entries`: regular files named .gitattributes (git does not follow a symlink there). */
export function attributesOf<E extends { path: string; mode: number; oid: Oid }>(entries: readonly E[]): AttributesEntry[] {
  const out: AttributesEntry[] = []
  for (const e of entries) if ((e.mode === MODE_BLOB || e.mode === MODE_EXECUTABLE) && isAttributesFile(e.path)) out.push({ path: e.path, oid: e.oid })
  return out
}

/** A checkout's conversion, as early as it can be known. */
export type EarlyConversion =
  /** Known before the fetch: files may be written as their blobs arrive. */
  | { known: true; conversion: Conversion | undefined }
  /**
   * Attributes files come with the fetch (`missing`): nothing may be written before they
   * are read; `whenArrived` makes the conversion from their blobs as they come.
   */
  | { known: false; missing: ReadonlySet<Oid>; whenArrived: (texts: ReadonlyMap<Oid, Buffer>) => Promise<Conversion | undefined>; afterFetch: () => Promise<Conversion | undefined> }

/**
 * The conversion for a checkout or switch whose new index holds the attributes files
 * `files`: loaded at once when their blobs are all present, else once the fetch that
 * brings them is done (they are among its blobs: never a request of their own).
 */
export async function conversionBeforeFetch(
  loader: ConversionLoader | undefined,
  reader: Pick<ObjectReader, 'missingOf'>,
  files: readonly AttributesEntry[],
): Promise<EarlyConversion> {
  if (loader === undefined) return { known: true, conversion: undefined }
  const missing = files.length === 0 ? [] : await reader.missingOf(files.map((f) => f.oid))
  if (missing.length > 0) return { known: false, missing: new Set(missing), whenArrived: (texts) => loader(files, 'index', texts), afterFetch: () => loader(files, 'index') }
  return { known: true, conversion: await loader(files, 'index') }
}

/**
 * Line endings that depend on attributes files coming with the fetch: nothing is
 * written (arrival-writes.ts) until every one of `missing` has arrived and `open` has
 * made the conversion from them (what arrives meanwhile is held, within a bound).
 */
export interface LineEndingsGate {
  missing: ReadonlySet<Oid>
  open(texts: ReadonlyMap<Oid, Buffer>): Promise<Smudge | undefined>
}

/** What the files written as their blobs arrive need to know of line endings. */
export function lineEndings(early: EarlyConversion): Smudge | LineEndingsGate | undefined {
  if (early.known) return early.conversion?.smudge
  return { missing: early.missing, open: async (texts) => (await early.whenArrived(texts))?.smudge }
}

/**
 * The ids a checkout fetches, in the order to ask for them: the attributes files that
 * come with the fetch first (upload-pack sends wanted blobs in the order asked), so that
 * files can be written as they arrive from the first ones on rather than once the last
 * attributes file, in path order, has come.
 */
export function fetchOrder(early: EarlyConversion, blobs: Iterable<Oid>): Set<Oid> {
  const out = new Set<Oid>(early.known ? [] : early.missing)
  for (const oid of blobs) out.add(oid)
  return out
}

/** The directory an attributes file applies to ('' for the top). */
export function attributesDir(path: string): string {
  const slash = path.lastIndexOf('/')
  return slash < 0 ? '' : path.slice(0, slash)
}

/**
 * The conversion for these attribute sources and configuration; undefined when no
 * attribute can matter and the configuration converts nothing.
 */
export function eolConversion(sources: AttributeSources, config: EolConfig): Conversion | undefined {
  const matcher = new AttributeMatcher(sources, EOL_ATTRIBUTES)
  if (matcher.empty && config.autocrlf === 'false') return undefined
  const action = (path: string): CrlfAction => {
    const r = matcher.check(path, EOL_ATTRIBUTES)
    const attrs: EolAttributes = { text: r.text, crlf: r.crlf, eol: r.eol }
    return crlfAction(attrs, config)
  }
  return {
    smudge(path) {
      const a = action(path)
      return writesCrlf(a, config) ? (data) => toWorkTree(data, a, config) : undefined
    },
    clean(path) {
      const a = action(path)
      return a === 'binary' ? undefined : (data) => toGit(data, a)
    },
  }
}
