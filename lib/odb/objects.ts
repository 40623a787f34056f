/**
 * Pure codecs for git's object formats (gitformat-pack, "Object types"): object
 * ids, trees, commits, tags and the identity lines inside them. Nothing here
 * touches the disk or the network; every byte given to a parser is untrusted.
 */
import { createHash } from 'node:crypto'
import { ObjectFormatError } from '../errors.js'
import type { ObjectType, Oid } from '../oid.js'

export const OID_BYTES = 20

export const MODE_TREE = 0o040000
export const MODE_BLOB = 0o100644
export const MODE_EXECUTABLE = 0o100755
export const MODE_SYMLINK = 0o120000
export const MODE_GITLINK = 0o160000

/** "<type> <len>\0", the prefix hashed (and stored in loose objects) before the content. */
export function objectHeader(type: ObjectType, length: number): Buffer {
  return Buffer.from(`${type} ${length}\0`, 'ascii')
}

export function hashObject(type: ObjectType, data: Buffer): Oid {
  return createHash('sha1').update(objectHeader(type, data.length)).update(data).digest('hex')
}

// ---------------------------------------------------------------- trees

export type TreeEntryType = 'tree' | 'blob' | 'commit'

export interface TreeEntry {
  /** Normalised numeric mode (one of the MODE_* constants). */
  mode: number
  /** The mode exactly as stored, so legacy spellings ("100664", "040000") survive a round trip. */
  modeText: string
  type: TreeEntryType
  /** The name decoded as UTF-8; use nameBytes when the exact bytes matter. */
  name: string
  nameBytes: Buffer
  oid: Oid
}

/** What serializeTree needs. `nameBytes`, when given, wins over `name`; `modeText` wins over `mode`. */
export interface TreeEntryInput {
  mode: number | string
  modeText?: string
  name: string
  nameBytes?: Buffer
  oid: Oid
}

export interface ParseTreeOptions {
  /**
   * When false, names are only required to be NUL-terminated: empty names and
   * names containing '/' are returned so that path-safety can refuse them with the
   * full path (checkout does this). Default true.
   */
  strictNames?: boolean
}

// Legacy spellings are accepted because old git wrote them and their hashes are
// fixed forever; git fsck only warns about them.
const MODES: ReadonlyMap<string, number> = new Map([
  ['40000', MODE_TREE],
  ['040000', MODE_TREE],
  ['100644', MODE_BLOB],
  ['100664', MODE_BLOB],
  ['100755', MODE_EXECUTABLE],
  ['120000', MODE_SYMLINK],
  ['160000', MODE_GITLINK],
])

export function entryTypeOfMode(mode: number): TreeEntryType {
  if (mode === MODE_TREE) return 'tree'
  if (mode === MODE_GITLINK) return 'commit'
  return 'blob'
}

function canonicalModeText(mode: number | string): string {
  if (typeof mode === 'string') {
    if (!MODES.has(mode)) throw new ObjectFormatError(`invalid tree entry mode ${JSON.stringify(mode)}`)
    return mode
  }
  const text = mode.toString(8)
  if (MODES.get(text) !== mode) throw new ObjectFormatError(`invalid tree entry mode ${text}`)
  return text
}

export function parseTree(data: Buffer, options: ParseTreeOptions = {}): TreeEntry[] {
  const strictNames = options.strictNames ?? true
  const entries: TreeEntry[] = []
  let pos = 0
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos)
    // The longest valid mode has 6 digits; looking further only invites garbage.
    if (space < 0 || space - pos > 6) throw new ObjectFormatError(`malformed tree entry at offset ${pos}: no mode`)
    const modeText = data.toString('latin1', pos, space)
    const mode = MODES.get(modeText)
    if (mode === undefined) throw new ObjectFormatError(`invalid tree entry mode ${JSON.stringify(modeText)} at offset ${pos}`)
    const nul = data.indexOf(0, space + 1)
    if (nul < 0) throw new ObjectFormatError(`truncated tree entry at offset ${pos}: name not terminated`)
    const nameBytes = Buffer.from(data.subarray(space + 1, nul))
    if (strictNames) {
      if (nameBytes.length === 0) throw new ObjectFormatError(`empty name in tree entry at offset ${pos}`)
      if (nameBytes.includes(0x2f)) throw new ObjectFormatError(`tree entry name contains '/': ${JSON.stringify(nameBytes.toString('utf8'))}`)
    }
    if (nul + 1 + OID_BYTES > data.length) throw new ObjectFormatError(`truncated tree entry at offset ${pos}: object id cut short`)
    const oid = data.toString('hex', nul + 1, nul + 1 + OID_BYTES)
    entries.push({ mode, modeText, type: entryTypeOfMode(mode), name: nameBytes.toString('utf8'), nameBytes, oid })
    pos = nul + 1 + OID_BYTES
  }
  return entries
}

/** Git orders tree entries by name bytes, with a directory compared as if its name ended in '/'. */
export function compareTreeEntryNames(a: Buffer, aIsTree: boolean, b: Buffer, bIsTree: boolean): number {
  const common = Math.min(a.length, b.length)
  const c = Buffer.compare(a.subarray(0, common), b.subarray(0, common))
  if (c !== 0) return c
  const ca = a.length > common ? a[common]! : aIsTree ? 0x2f : 0
  const cb = b.length > common ? b[common]! : bIsTree ? 0x2f : 0
  return ca - cb
}

function modeNumber(mode: number | string): number {
  return typeof mode === 'number' ? mode : (MODES.get(mode) ?? -1)
}

/** One entry exactly as stored, without any check of the name (test fixtures use it to build hostile trees). */
export function serializeTreeEntry(entry: TreeEntryInput): Buffer {
  const modeText = entry.modeText ?? canonicalModeText(entry.mode)
  const name = entry.nameBytes ?? Buffer.from(entry.name, 'utf8')
  if (!/^[0-9a-f]{40}$/.test(entry.oid)) throw new ObjectFormatError(`invalid object id ${JSON.stringify(entry.oid)}`)
  return Buffer.concat([Buffer.from(`${modeText} `, 'latin1'), name, Buffer.from([0]), Buffer.from(entry.oid, 'hex')])
}

/** Serializes a tree in git's order; refuses names git could never store and duplicate names. */
export function serializeTree(entries: readonly TreeEntryInput[]): Buffer {
  const keyed = entries.map((e) => {
    const name = e.nameBytes ?? Buffer.from(e.name, 'utf8')
    if (name.length === 0 || name.includes(0) || name.includes(0x2f)) {
      throw new ObjectFormatError(`invalid tree entry name ${JSON.stringify(name.toString('utf8'))}`)
    }
    return { e, name, isTree: modeNumber(e.modeText ?? e.mode) === MODE_TREE }
  })
  keyed.sort((x, y) => compareTreeEntryNames(x.name, x.isTree, y.name, y.isTree))
  const seen = new Set<string>()
  for (const k of keyed) {
    const key = k.name.toString('latin1')
    if (seen.has(key)) throw new ObjectFormatError(`duplicate tree entry ${JSON.stringify(k.name.toString('utf8'))}`)
    seen.add(key)
  }
  return Buffer.concat(keyed.map((k) => serializeTreeEntry({ ...k.e, nameBytes: k.name })))
}

// ---------------------------------------------------------------- identities

export interface Ident {
  name: string
  email: string
  /** Seconds since the epoch. */
  timestamp: number
  /** As written, e.g. "-0700". */
  timezone: string
}

/** Parses "Name <email> 1234567890 +0000". */
export function parseIdent(text: string): Ident {
  const lt = text.indexOf('<')
  const gt = text.lastIndexOf('>')
  if (lt < 0 || gt < lt) throw new ObjectFormatError(`malformed identity ${JSON.stringify(text)}`)
  const rest = text.slice(gt + 1)
  const m = /^ (\d{1,20}) ([+-]\d{4})$/.exec(rest)
  if (!m) throw new ObjectFormatError(`malformed date in identity ${JSON.stringify(text)}`)
  return {
    name: text.slice(0, lt).trimEnd(),
    email: text.slice(lt + 1, gt),
    timestamp: Number(m[1]),
    timezone: m[2]!,
  }
}

// ---------------------------------------------------------------- commits and tags

export interface Header {
  key: string
  /** Continuation lines joined with "\n" (their leading space removed). */
  value: string
}

/** Splits "key value" header lines (with space-led continuations) from the message after the first blank line. */
export function parseHeaders(data: Buffer, what: string): { headers: Header[]; message: string } {
  const text = data.toString('utf8')
  const end = text.indexOf('\n\n')
  const head = end < 0 ? text.replace(/\n$/, '') : text.slice(0, end)
  const message = end < 0 ? '' : text.slice(end + 2)
  const headers: Header[] = []
  if (head.length === 0) return { headers, message }
  for (const line of head.split('\n')) {
    if (line.startsWith(' ')) {
      const last = headers[headers.length - 1]
      if (!last) throw new ObjectFormatError(`${what}: continuation line before any header`)
      last.value += '\n' + line.slice(1)
      continue
    }
    const sp = line.indexOf(' ')
    if (sp <= 0) throw new ObjectFormatError(`${what}: malformed header line ${JSON.stringify(line)}`)
    headers.push({ key: line.slice(0, sp), value: line.slice(sp + 1) })
  }
  return { headers, message }
}

function oidValue(value: string, what: string): Oid {
  if (!/^[0-9a-f]{40}$/.test(value)) throw new ObjectFormatError(`${what}: invalid object id ${JSON.stringify(value)}`)
  return value
}

export interface Commit {
  tree: Oid
  parents: Oid[]
  author: Ident
  committer: Ident
  encoding?: string
  gpgsig?: string
  /** Headers other than the ones above (mergetag, gpgsig-sha256, …), in order. */
  extraHeaders: Header[]
  message: string
}

export function parseCommit(data: Buffer): Commit {
  const { headers, message } = parseHeaders(data, 'commit')
  // git requires tree, parents, author, committer in this order; anything else may follow.
  let i = 0
  const at = (key: string): Header | undefined => (headers[i]?.key === key ? headers[i++] : undefined)
  const tree = at('tree')
  if (!tree) throw new ObjectFormatError('commit: missing tree header')
  const parents: Oid[] = []
  for (let p = at('parent'); p; p = at('parent')) parents.push(oidValue(p.value, 'commit parent'))
  const author = at('author')
  if (!author) throw new ObjectFormatError('commit: missing author header')
  const committer = at('committer')
  if (!committer) throw new ObjectFormatError('commit: missing committer header')
  const commit: Commit = {
    tree: oidValue(tree.value, 'commit tree'),
    parents,
    author: parseIdent(author.value),
    committer: parseIdent(committer.value),
    extraHeaders: [],
    message,
  }
  for (const h of headers.slice(i)) {
    if (h.key === 'encoding' && commit.encoding === undefined) commit.encoding = h.value
    else if (h.key === 'gpgsig' && commit.gpgsig === undefined) commit.gpgsig = h.value
    else commit.extraHeaders.push(h)
  }
  return commit
}

/** What a history walk needs of a commit. */
export interface CommitLinks {
  tree: Oid
  parents: Oid[]
  /** The committer's timestamp. */
  date: number
}

const NL = 0x0a
const SP = 0x20

/** Index just past `prefix` + 40 lowercase hex digits + "\n" at `pos` when followed by no continuation line, else -1. */
function oidLineEnd(data: Buffer, pos: number, prefix: Buffer): number {
  const start = pos + prefix.length
  const end = start + 40
  if (end >= data.length || data[end] !== NL || data[end + 1] === SP) return -1
  if (data.compare(prefix, 0, prefix.length, pos, start) !== 0) return -1
  for (let i = start; i < end; i++) {
    const c = data[i] as number
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return -1
  }
  return end + 1
}

/** The timestamp of the identity line data[from..to) as parseIdent reads it, or -1 when parseIdent might not accept it. */
function identDate(data: Buffer, from: number, to: number): number {
  const lt = data.indexOf(0x3c, from)
  const gt = data.lastIndexOf(0x3e, to - 1)
  if (lt < 0 || lt >= to || gt < lt) return -1
  // " <1-20 digits> <+|-><4 digits>" to the end of the line.
  let p = gt + 1
  if (data[p++] !== SP) return -1
  const digits = p
  while (p < to && (data[p] as number) >= 0x30 && (data[p] as number) <= 0x39) p++
  if (p === digits || p - digits > 20 || to - p !== 6 || data[p] !== SP) return -1
  const sign = data[p + 1]
  if (sign !== 0x2b && sign !== 0x2d) return -1
  for (let i = p + 2; i < to; i++) if ((data[i] as number) < 0x30 || (data[i] as number) > 0x39) return -1
  return Number(data.toString('latin1', digits, p))
}

const TREE_PREFIX = Buffer.from('tree ')
const PARENT_PREFIX = Buffer.from('parent ')
const AUTHOR_PREFIX = Buffer.from('author ')
const COMMITTER_PREFIX = Buffer.from('committer ')

/**
 * The tree, parents and committer date of a commit, without decoding the rest:
 * `parseCommit` decodes every header and the message, which made it most of a history
 * walk's time. Anything but the usual layout (tree, parents, author, committer, then
 * well-formed headers up to a blank line) goes to `parseCommit`, so that this accepts
 * and answers exactly what it does.
 */
export function parseCommitLinks(data: Buffer): CommitLinks {
  const fallback = (): CommitLinks => {
    const c = parseCommit(data)
    return { tree: c.tree, parents: c.parents, date: c.committer.timestamp }
  }
  let pos = oidLineEnd(data, 0, TREE_PREFIX)
  if (pos < 0) return fallback()
  const tree = data.toString('latin1', 5, 45)
  const parents: Oid[] = []
  while (data[pos] === 0x70) {
    const next = oidLineEnd(data, pos, PARENT_PREFIX)
    if (next < 0) return fallback()
    parents.push(data.toString('latin1', pos + 7, pos + 47))
    pos = next
  }
  /** The date of the identity line at pos, with `end` set to where the line ends; -1 when unusual. */
  let end = 0
  const identLine = (prefix: Buffer): number => {
    if (data.length < pos + prefix.length || data.compare(prefix, 0, prefix.length, pos, pos + prefix.length) !== 0) return -1
    const nl = data.indexOf(NL, pos)
    end = nl < 0 ? data.length : nl
    return data[end + 1] === SP ? -1 : identDate(data, pos + prefix.length, end)
  }
  if (identLine(AUTHOR_PREFIX) < 0 || end >= data.length) return fallback()
  pos = end + 1
  const date = identLine(COMMITTER_PREFIX)
  if (date < 0) return fallback()
  const committerEnd = end
  // The headers after these must be ones parseHeaders accepts: "key value" or a continuation.
  for (pos = committerEnd + 1; pos < data.length && data[pos] !== NL; ) {
    const nl = data.indexOf(NL, pos)
    const to = nl < 0 ? data.length : nl
    if (data[pos] !== SP) {
      const sp = data.indexOf(SP, pos)
      if (sp < 0 || sp >= to) return fallback()
    }
    pos = to + 1
  }
  return { tree, parents, date }
}

export interface Tag {
  object: Oid
  type: ObjectType
  tag: string
  tagger?: Ident
  /** Everything after the headers, including an inline signature if there is one. */
  message: string
  extraHeaders: Header[]
}

export function parseTag(data: Buffer): Tag {
  const { headers, message } = parseHeaders(data, 'tag')
  const [object, type, tag, ...rest] = headers
  if (object?.key !== 'object') throw new ObjectFormatError('tag: missing object header')
  if (type?.key !== 'type') throw new ObjectFormatError('tag: missing type header')
  if (tag?.key !== 'tag') throw new ObjectFormatError('tag: missing tag header')
  if (type.value !== 'commit' && type.value !== 'tree' && type.value !== 'blob' && type.value !== 'tag') {
    throw new ObjectFormatError(`tag: invalid type ${JSON.stringify(type.value)}`)
  }
  const result: Tag = { object: oidValue(object.value, 'tag object'), type: type.value, tag: tag.value, message, extraHeaders: [] }
  for (const h of rest) {
    if (h.key === 'tagger' && result.tagger === undefined) result.tagger = parseIdent(h.value)
    else result.extraHeaders.push(h)
  }
  return result
}
