/**
 * cat-file: one object's type, size, presence or contents, or a stream of answers to
 * names read in blocks (--batch, --batch-check), in git 2.39's exact formats. In a
 * partial clone a single name is fetched lazily; a batch block's missing objects are
 * fetched together, in one request per promisor remote, before the block is answered.
 */
import { MissingObjectError, ObjectFormatError, TsgitError, UsageError } from '../errors.js'
import { MODE_GITLINK, MODE_TREE, parseTree } from '../odb/objects.js'
import { CorruptRepositoryError, type ObjectStore } from '../odb/store.js'
import { isOid, type GitObject, type ObjectType, type Oid } from '../oid.js'
import type { RefStore } from '../repo/refs.js'
import { RevisionError, peel, resolveRevision } from '../rev/parse.js'

export interface CatFileContext {
  refs: RefStore
  store: ObjectStore
}

/** `fatal: …` with git's wording for a name or object cat-file cannot use. */
export class CatFileError extends TsgitError {
  constructor(message: string) {
    super('E_CAT_FILE', message)
  }
}

/** A name in git's C-style quoting when it needs it (core.quotePath=true), as ls-tree prints it. */
export function quotePath(nameBytes: Buffer): string {
  let needs = false
  for (const b of nameBytes) if (b < 0x20 || b === 0x22 || b === 0x5c || b >= 0x7f) needs = true
  if (!needs) return nameBytes.toString('latin1')
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 0x22: '\\"', 0x5c: '\\\\' }
  let out = '"'
  for (const b of nameBytes) {
    const n = named[b]
    if (n !== undefined) out += n
    else if (b < 0x20 || b >= 0x7f) out += '\\' + b.toString(8).padStart(3, '0')
    else out += String.fromCharCode(b)
  }
  return out + '"'
}

/** A tree as `git ls-tree` (and so `cat-file -p`) prints it. */
export function formatTree(data: Buffer): Buffer {
  const lines: string[] = []
  for (const e of parseTree(data, { strictNames: false })) {
    const type = e.mode === MODE_TREE ? 'tree' : e.mode === MODE_GITLINK ? 'commit' : 'blob'
    lines.push(`${e.mode.toString(8).padStart(6, '0')} ${type} ${e.oid}\t${quotePath(e.nameBytes)}\n`)
  }
  return Buffer.from(lines.join(''), 'latin1')
}

function isAbsent(e: unknown): boolean {
  return e instanceof MissingObjectError || e instanceof CorruptRepositoryError
}

/**
 * Rethrows `e` when it is no absence but a promised object that no promisor remote
 * could supply: git stops there whatever the mode (`could not fetch <oid> from promisor
 * remote`), where an object it was never promised is answered as absent.
 */
async function unlessPromised(store: ObjectStore, e: unknown): Promise<void> {
  if (e instanceof MissingObjectError && store.canFetch && (await store.isPromisorObject(e.oid))) throw e
}

/** The object, or why not: a reason naming it, or undefined where git's words say all (no partial clone). */
type Lookup = { obj: GitObject } | { obj?: undefined; why: string | undefined }

async function lookup(store: ObjectStore, oid: Oid): Promise<Lookup> {
  try {
    return { obj: await store.read(oid) }
  } catch (e) {
    // A delta base missing from a pack: the object is damaged, not absent.
    if (!isAbsent(e) || (e as MissingObjectError | CorruptRepositoryError).oid !== oid) throw e
    await unlessPromised(store, e)
    return { why: e instanceof CorruptRepositoryError || (await store.hasPromisorPacks()) ? (e as Error).message : undefined }
  }
}

async function resolveName(ctx: CatFileContext, name: string): Promise<Oid> {
  try {
    return await resolveRevision(ctx, name)
  } catch (e) {
    await unlessPromised(ctx.store, e)
    if (e instanceof RevisionError || isAbsent(e)) throw new CatFileError(`Not a valid object name ${name}`)
    throw e
  }
}

/** A tree as -p prints it; a malformed one is named. */
function printTree(oid: Oid, data: Buffer): Buffer {
  try {
    return formatTree(data)
  } catch (e) {
    if (e instanceof ObjectFormatError) throw new ObjectFormatError(`tree ${oid}: ${e.message}`, { cause: e })
    throw e
  }
}

export type CatFileMode = 't' | 's' | 'p' | 'e'

/** `cat-file -t|-s|-p|-e <name>`: the bytes to print and the exit status. */
export async function catFileOne(ctx: CatFileContext, mode: CatFileMode, name: string): Promise<{ status: number; output: Buffer }> {
  const oid = await resolveName(ctx, name)
  const found = await lookup(ctx.store, oid)
  const obj = found.obj
  if (!obj) {
    if (mode === 'e') return { status: 1, output: Buffer.alloc(0) }
    if (mode === 'p') throw new CatFileError(`Not a valid object name ${name}`)
    // git's words, and the object they are about (git 2.39 leaves it out: see DEVIATIONS)
    throw new CatFileError(found.why === undefined ? `git cat-file: could not get object info for ${oid}` : `git cat-file: could not get object info: ${found.why}`)
  }
  if (mode === 'e') return { status: 0, output: Buffer.alloc(0) }
  if (mode === 't') return { status: 0, output: Buffer.from(`${obj.type}\n`) }
  if (mode === 's') return { status: 0, output: Buffer.from(`${obj.data.length}\n`) }
  return { status: 0, output: obj.type === 'tree' ? printTree(oid, obj.data) : obj.data }
}

/** `cat-file <type> <name>`: the contents of the object, peeled to `type` (a commit's tree, a tag's target). */
export async function catFileTyped(ctx: CatFileContext, type: ObjectType, name: string): Promise<Buffer> {
  const oid = await resolveName(ctx, name)
  let target: Oid
  try {
    target = await peel(ctx, oid, type, name)
  } catch (e) {
    await unlessPromised(ctx.store, e)
    if (e instanceof RevisionError || isAbsent(e)) throw new CatFileError(`git cat-file ${name}: bad file`)
    throw e
  }
  const obj = (await lookup(ctx.store, target)).obj
  if (!obj) throw new CatFileError(`git cat-file ${name}: bad file`)
  return obj.data
}

type FormatPart = { literal: string } | { atom: 'objectname' | 'objecttype' | 'objectsize' | 'rest' }

export interface BatchFormat {
  parts: FormatPart[]
  /** The format uses %(rest): a line is split at its first whitespace into name and rest. */
  splitsRest: boolean
}

export const DEFAULT_BATCH_FORMAT = '%(objectname) %(objecttype) %(objectsize)'

/** Parses a --batch / --batch-check format (the atoms tsgit supports; others are a usage error). */
export function parseBatchFormat(format: string): BatchFormat {
  const parts: FormatPart[] = []
  let splitsRest = false
  let lit = ''
  for (let i = 0; i < format.length; ) {
    if (format[i] === '%' && format[i + 1] === '(') {
      const end = format.indexOf(')', i)
      if (end < 0) {
        lit += format.slice(i)
        break
      }
      const atom = format.slice(i + 2, end)
      if (atom !== 'objectname' && atom !== 'objecttype' && atom !== 'objectsize' && atom !== 'rest') {
        throw new UsageError(`unknown format element: %(${atom})`)
      }
      if (lit) parts.push({ literal: lit })
      lit = ''
      parts.push({ atom })
      if (atom === 'rest') splitsRest = true
      i = end + 1
      continue
    }
    lit += format[i]
    i++
  }
  if (lit) parts.push({ literal: lit })
  return { parts, splitsRest }
}

export interface BatchOptions {
  /** --batch (contents follow each line) rather than --batch-check. */
  contents: boolean
  format?: string
}

export interface BatchStats {
  blocks: number
  /** Prefetch calls that had something to fetch. */
  prefetches: number
}

interface Query {
  name: string
  rest: string
  oid?: Oid
  ambiguous?: boolean
}

/**
 * Answers the lines of one block (byte strings, without their newlines). The block's
 * missing objects that are promisor objects are fetched in one batch first; a name that
 * resolves to nothing is answered `<name> missing` like git.
 */
export async function answerBlock(ctx: CatFileContext, format: BatchFormat, contents: boolean, lines: readonly string[], stats?: BatchStats): Promise<Buffer> {
  const queries: Query[] = []
  for (const line of lines) {
    let name = line
    let rest = ''
    if (format.splitsRest) {
      const m = /^(\S*)\s+(.*)$/s.exec(line)
      if (m) {
        name = m[1] as string
        rest = m[2] as string
      }
    }
    const q: Query = { name, rest }
    if (isOid(name)) q.oid = name
    else if (name !== '') {
      try {
        q.oid = await resolveRevision(ctx, Buffer.from(name, 'latin1').toString('utf8'))
      } catch (e) {
        if (e instanceof RevisionError) q.ambiguous = /is ambiguous$/.test(e.message)
        else if (!isAbsent(e)) throw e
      }
    }
    queries.push(q)
  }
  const store = ctx.store
  if (store.canFetch) {
    const missing = await store.missingOf(queries.flatMap((q) => (q.oid ? [q.oid] : [])))
    // What the store would refuse to fetch (not a promisor object, where that is
    // corruption) is answered "missing" rather than failing the block.
    const fetchable: Oid[] = []
    for (const oid of missing) if (await store.mayFetch(oid)) fetchable.push(oid)
    if (fetchable.length > 0) {
      if (stats) stats.prefetches++
      try {
        await store.prefetch(fetchable)
      } catch (e) {
        if (!isAbsent(e)) throw e
      }
    }
  }
  if (stats) stats.blocks++
  const out: Buffer[] = []
  for (const q of queries) {
    const obj = q.oid ? await store.tryRead(q.oid) : undefined
    if (!q.oid || !obj) {
      out.push(Buffer.from(`${q.name} ${q.ambiguous ? 'ambiguous' : 'missing'}\n`, 'latin1'))
      continue
    }
    let line = ''
    for (const p of format.parts) {
      if ('literal' in p) line += p.literal
      else if (p.atom === 'objectname') line += q.oid
      else if (p.atom === 'objecttype') line += obj.type
      else if (p.atom === 'objectsize') line += String(obj.data.length)
      else line += q.rest
    }
    out.push(Buffer.from(`${line}\n`, 'latin1'))
    if (contents) out.push(obj.data, Buffer.from('\n'))
  }
  return Buffer.concat(out)
}

/** The most lines answered as one block (and so fetched in one request). */
export const MAX_BLOCK_LINES = 4096

/**
 * Reads names from `input` (chunks of bytes) and answers each block of complete lines
 * available at once; a block is answered before more input is awaited, so a caller
 * driving cat-file line by line gets its answer.
 */
export async function catFileBatch(
  ctx: CatFileContext,
  options: BatchOptions,
  input: AsyncIterable<Buffer[]>,
  write: (b: Buffer) => Promise<void>,
  stats?: BatchStats,
): Promise<void> {
  const format = parseBatchFormat(options.format ?? DEFAULT_BATCH_FORMAT)
  let pending = ''
  const run = async (lines: string[]): Promise<void> => {
    for (let i = 0; i < lines.length; i += MAX_BLOCK_LINES) {
      await write(await answerBlock(ctx, format, options.contents, lines.slice(i, i + MAX_BLOCK_LINES), stats))
    }
  }
  for await (const chunks of input) {
    pending += Buffer.concat(chunks).toString('latin1')
    const nl = pending.lastIndexOf('\n')
    if (nl < 0) continue
    const lines = pending.slice(0, nl).split('\n')
    pending = pending.slice(nl + 1)
    await run(lines.map((l) => l.replace(/\r$/, '')))
  }
  if (pending !== '') await run([pending])
}
