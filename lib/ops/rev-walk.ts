/**
 * Walking history and the objects it reaches in the order git's revision walk uses,
 * so rev-list can print what git prints and fsck and backfill can reuse the pieces:
 *
 * - RevWalk: start points (git's handle_commit: tags peeled, trees and blobs kept as
 *   pending objects), then commits newest committer date first, ties in the order
 *   they were queued; with uninteresting (^rev) start points the walk is "limited"
 *   first, as git does, so ancestors of both sides are left out.
 * - enumerateObjects: the pending objects depth first in tree entry order, each once,
 *   with its path and the object that referred to it; uninteresting objects skipped.
 * - prefetchReachable: before such a walk in a partial clone, the missing trees of
 *   each level and all missing blobs are fetched in as few batches as there are
 *   levels with missing trees (plus one), never one request per object.
 *
 * Paths and names are "byte strings": each char is one byte (latin1), so names that
 * are not UTF-8 come out exactly as stored.
 */
import { MissingObjectError, ObjectFormatError } from '../errors.js'
import { MODE_GITLINK, MODE_TREE, parseCommitLinks, parseTag, parseTree } from '../odb/objects.js'
import type { ObjectStore } from '../odb/store.js'
import type { GitObject, ObjectType, Oid } from '../oid.js'

export interface CommitInfo {
  oid: Oid
  tree: Oid
  parents: Oid[]
  /** Committer timestamp (seconds). */
  date: number
}

/** Where a walk starts: a command-line revision, a ref, HEAD. */
export interface StartPoint {
  oid: Oid
  /** The name it was given by (a ref name, the argument). */
  name: string
  /** For `<rev>:<path>`: the path (byte string), printed for a tree or blob. */
  path?: string
  /** `^rev` or after `--not`. */
  uninteresting: boolean
}

export interface PendingObject {
  oid: Oid
  type: 'tag' | 'tree' | 'blob'
  /** For a tag: its name (byte string), as `rev-list --objects` prints it. */
  name?: string
  /** For a tree or blob: the path it is printed with ('' for a root tree). */
  path: string
  /** The object that referred to it (a commit for a root tree), for promisor checks. */
  referrer?: Oid
}

export interface WalkedObject {
  oid: Oid
  type: 'tag' | 'tree' | 'blob'
  /** Path (byte string) for trees and blobs; the tag name for a tag. */
  name: string
  referrer?: Oid
  /** Present only when the object could be read (trees are read to go further; blobs are only checked). */
  present: boolean
}

/**
 * Which entries below a tree a walk goes into, by path (byte string, '/'-separated):
 * a tree entry is entered and a blob entry kept only when this says so. What it
 * turns away is not marked as seen, so the same object is still reached by a path
 * it accepts. The start objects themselves are not asked about.
 */
export interface PathFilter {
  tree(path: string): boolean
  blob(path: string): boolean
}

/** How a walk reads: `fetch` true lets the store fetch missing commits lazily. */
export interface WalkReader {
  store: ObjectStore
  fetch: boolean
}

/** The byte string (latin1) of a UTF-8 string. */
export function byteString(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1')
}

export async function readObject(reader: WalkReader, oid: Oid): Promise<GitObject | undefined> {
  if (!reader.fetch) return reader.store.tryRead(oid)
  try {
    return await reader.store.read(oid)
  } catch (e) {
    if (e instanceof MissingObjectError) return undefined
    throw e
  }
}

/** A tag's name exactly as stored (the `tag` header), as a byte string. */
export function tagNameBytes(data: Buffer): string {
  const text = data.toString('latin1')
  const m = /(?:^|\n)tag ([^\n]*)/.exec(text.slice(0, text.indexOf('\n\n') < 0 ? text.length : text.indexOf('\n\n')))
  return m?.[1] ?? ''
}

/** Max-heap on (date, then earliest queued): git's commit list ordered by date. */
class DateQueue {
  private heap: { c: CommitInfo; seq: number }[] = []
  private seq = 0

  get size(): number {
    return this.heap.length
  }

  private before(a: { c: CommitInfo; seq: number }, b: { c: CommitInfo; seq: number }): boolean {
    return a.c.date > b.c.date || (a.c.date === b.c.date && a.seq < b.seq)
  }

  push(c: CommitInfo): void {
    const h = this.heap
    h.push({ c, seq: this.seq++ })
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.before(h[i]!, h[p]!)) break
      ;[h[i], h[p]] = [h[p]!, h[i]!]
      i = p
    }
  }

  peek(): CommitInfo | undefined {
    return this.heap[0]?.c
  }

  pop(): CommitInfo | undefined {
    const h = this.heap
    const top = h[0]
    if (!top) return undefined
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && this.before(h[l]!, h[m]!)) m = l
        if (r < h.length && this.before(h[r]!, h[m]!)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m]!, h[i]!]
        i = m
      }
    }
    return top.c
  }

  /** Every queued commit, in no particular order. */
  items(): IterableIterator<CommitInfo> {
    return this.heap.map((e) => e.c)[Symbol.iterator]()
  }
}

// git keeps walking a few commits past the point where everything left looks uninteresting,
// in case a commit with a skewed date is still to come.
const SLOP = 5

export interface RevWalkOptions {
  /** --objects: keep tags, trees and blobs as pending objects. */
  objects: boolean
}

export class RevWalk {
  /** Objects that are uninteresting (reachable from a ^rev, as far as the walk has seen). */
  readonly uninteresting = new Set<Oid>()
  /** Tags, trees and blobs from the start points, then the root tree of each commit produced. */
  readonly pending: PendingObject[] = []
  private readonly parsed = new Map<Oid, CommitInfo>()
  /** Commits queued once (git's SEEN). */
  private readonly queued = new Set<Oid>()
  private starts: CommitInfo[] = []
  private limited = false
  private queue = new DateQueue()
  private list: CommitInfo[] | undefined
  private listPos = 0
  private prepared = false

  constructor(
    private readonly reader: WalkReader,
    private readonly options: RevWalkOptions,
  ) {}

  /** The parsed commit, read through the store; throws when it is missing or not a commit. */
  async commit(oid: Oid): Promise<CommitInfo> {
    const known = this.parsed.get(oid)
    if (known) return known
    const obj = await readObject(this.reader, oid)
    if (!obj) throw new MissingObjectError(oid, `bad object ${oid}`)
    if (obj.type !== 'commit') throw new MissingObjectError(oid, `object ${oid} is a ${obj.type}, not a commit`)
    const c = parseCommitLinks(obj.data)
    const info: CommitInfo = { oid, tree: c.tree, parents: this.reader.store.parentsOf(oid, c.parents), date: c.date }
    this.parsed.set(oid, info)
    return info
  }

  /** Adds a start point, in command-line order (git's handle_commit). */
  async add(start: StartPoint): Promise<void> {
    let oid = start.oid
    let path = start.path
    const unint = start.uninteresting
    if (unint) this.uninteresting.add(oid)
    let obj = await readObject(this.reader, oid)
    if (!obj) throw new MissingObjectError(oid, `bad object ${start.name}`)
    for (let depth = 0; obj.type === 'tag'; depth++) {
      if (depth > 64) throw new MissingObjectError(oid, `tag chain too deep at ${start.name}`)
      if (this.options.objects && !unint) this.pending.push({ oid, type: 'tag', name: tagNameBytes(obj.data), path: '' })
      const target = parseTag(obj.data).object
      const next = await readObject(this.reader, target)
      if (!next) {
        if (unint) return
        throw new MissingObjectError(target, `bad object ${target}`)
      }
      oid = target
      obj = next
      if (unint) this.uninteresting.add(oid)
      // A tag's target is printed without the path of the name that led to the tag.
      path = undefined
    }
    if (obj.type === 'commit') {
      const c = await this.commit(oid)
      if (unint) {
        this.markParentsUninteresting(c)
        this.limited = true
      }
      if (!this.queued.has(oid)) {
        this.queued.add(oid)
        this.starts.push(c)
      }
      return
    }
    if (!this.options.objects) return
    if (obj.type === 'tree') {
      if (unint) await this.markTreeContentsUninteresting(oid, obj)
      else this.pending.push({ oid, type: 'tree', path: path ?? '' })
      return
    }
    if (!unint) this.pending.push({ oid, type: 'blob', path: path ?? '' })
  }

  private markOne(oid: Oid, stack: CommitInfo[]): void {
    if (this.uninteresting.has(oid)) return
    this.uninteresting.add(oid)
    // Only a commit already parsed has parents to pass the mark on to now; the others get it when parsed.
    const c = this.parsed.get(oid)
    if (c && c.parents.length > 0) stack.push(c)
  }

  private markParentsUninteresting(c: CommitInfo): void {
    const stack: CommitInfo[] = []
    for (const p of c.parents) this.markOne(p, stack)
    for (let top = stack.pop(); top; top = stack.pop()) for (const p of top.parents) this.markOne(p, stack)
  }

  /** Marks a tree and everything under it uninteresting (read without fetching: what is missing cannot be printed anyway). */
  async markTreeUninteresting(oid: Oid): Promise<void> {
    if (this.uninteresting.has(oid)) return
    this.uninteresting.add(oid)
    await this.markTreeContentsUninteresting(oid)
  }

  private async markTreeContentsUninteresting(root: Oid, rootObj?: GitObject): Promise<void> {
    const work: { oid: Oid; obj?: GitObject }[] = [{ oid: root, obj: rootObj }]
    for (let item = work.pop(); item; item = work.pop()) {
      const obj = item.obj ?? (await this.reader.store.tryRead(item.oid))
      if (!obj || obj.type !== 'tree') continue
      for (const e of parseTree(obj.data, { strictNames: false })) {
        if (e.mode === MODE_GITLINK) continue
        if (e.mode === MODE_TREE) {
          if (this.uninteresting.has(e.oid)) continue
          this.uninteresting.add(e.oid)
          work.push({ oid: e.oid })
        } else {
          this.uninteresting.add(e.oid)
        }
      }
    }
  }

  private async processParents(c: CommitInfo, queue: DateQueue): Promise<void> {
    const unint = this.uninteresting.has(c.oid)
    for (const p of c.parents) {
      if (unint) this.uninteresting.add(p)
      const pc = await this.commit(p)
      if (unint && pc.parents.length > 0) this.markParentsUninteresting(pc)
      if (this.queued.has(p)) continue
      this.queued.add(p)
      queue.push(pc)
    }
  }

  private stillInteresting(queue: DateQueue, date: number, slop: number): number {
    const top = queue.peek()
    if (!top) return 0
    if (date <= top.date) return SLOP
    for (const c of queue.items()) if (!this.uninteresting.has(c.oid)) return SLOP
    return slop - 1
  }

  /** git's limit_list: walks until only uninteresting commits are left, keeps the interesting ones in order. */
  private async limit(): Promise<CommitInfo[]> {
    const out: CommitInfo[] = []
    let date = Number.POSITIVE_INFINITY
    let slop = SLOP
    for (let c = this.queue.pop(); c; c = this.queue.pop()) {
      await this.processParents(c, this.queue)
      if (this.uninteresting.has(c.oid)) {
        this.markParentsUninteresting(c)
        slop = this.stillInteresting(this.queue, date, slop)
        if (slop > 0) continue
        break
      }
      date = c.date
      out.push(c)
    }
    return out
  }

  /**
   * Sorts the start commits and, when there are uninteresting ones, walks far enough to
   * know which commits are left out; with `objects`, then marks the trees of the boundary
   * commits uninteresting (git's mark_edges_uninteresting).
   */
  async prepare(): Promise<void> {
    if (this.prepared) return
    this.prepared = true
    for (const c of this.starts) this.queue.push(c)
    this.starts = []
    if (!this.limited) return
    this.list = await this.limit()
    if (!this.options.objects) return
    for (const c of this.list) {
      if (this.uninteresting.has(c.oid)) {
        await this.markTreeUninteresting(c.tree)
        continue
      }
      for (const p of c.parents) {
        if (!this.uninteresting.has(p)) continue
        await this.markTreeUninteresting((await this.commit(p)).tree)
      }
    }
  }

  /** The next commit to show, or undefined at the end. With `objects`, its root tree joins `pending`. */
  async next(): Promise<CommitInfo | undefined> {
    await this.prepare()
    for (;;) {
      let c: CommitInfo | undefined
      if (this.list) c = this.list[this.listPos++]
      else {
        c = this.queue.pop()
        if (c) await this.processParents(c, this.queue)
      }
      if (!c) return undefined
      if (this.uninteresting.has(c.oid)) continue
      if (this.options.objects) this.pending.push({ oid: c.tree, type: 'tree', path: '', referrer: c.oid })
      return c
    }
  }
}

/**
 * A set of raw 20-byte object ids in flat typed arrays (open addressing). A walk meets
 * each object once per tree version that names it, most of them already seen: asking
 * this with the id's bytes inside the tree costs no hex string and no Set entry.
 */
export class RawOidSet {
  private words: Int32Array
  private used: Uint8Array
  private mask: number
  size = 0

  constructor(expected = 4096) {
    let cap = 1024
    while (cap < expected * 2) cap *= 2
    this.words = new Int32Array(cap * 5)
    this.used = new Uint8Array(cap)
    this.mask = cap - 1
  }

  /** The slot holding the id at `b[at..at+20)`, or ~slot of the empty one where it would go. */
  private find(b: Uint8Array, at: number): number {
    const w = this.words
    const w0 = word(b, at)
    // ids are hashes already: their first bytes are as good an index as any
    let i = (w0 ^ (w0 >>> 15)) & this.mask
    for (;;) {
      if (this.used[i] === 0) return ~i
      const k = i * 5
      if (w[k] === w0 && w[k + 1] === word(b, at + 4) && w[k + 2] === word(b, at + 8) && w[k + 3] === word(b, at + 12) && w[k + 4] === word(b, at + 16)) return i
      i = (i + 1) & this.mask
    }
  }

  has(b: Uint8Array, at = 0): boolean {
    return this.find(b, at) >= 0
  }

  /** Adds the id at `b[at..at+20)`; false when it was there already. */
  add(b: Uint8Array, at = 0): boolean {
    const i = this.find(b, at)
    if (i >= 0) return false
    this.put(~i, b, at)
    if (++this.size * 2 > this.used.length) this.grow()
    return true
  }

  hasHex(oid: Oid): boolean {
    return this.has(Buffer.from(oid, 'hex'))
  }

  addHex(oid: Oid): boolean {
    return this.add(Buffer.from(oid, 'hex'))
  }

  private put(slot: number, b: Uint8Array, at: number): void {
    const k = slot * 5
    for (let j = 0; j < 5; j++) this.words[k + j] = word(b, at + 4 * j)
    this.used[slot] = 1
  }

  private grow(): void {
    const oldWords = this.words
    const oldUsed = this.used
    const cap = oldUsed.length * 2
    const w = (this.words = new Int32Array(cap * 5))
    const used = (this.used = new Uint8Array(cap))
    const mask = (this.mask = cap - 1)
    // The ids are distinct: each goes to the first free slot from its index.
    for (let s = 0; s < oldUsed.length; s++) {
      if (oldUsed[s] === 0) continue
      const w0 = oldWords[s * 5] as number
      let i = (w0 ^ (w0 >>> 15)) & mask
      while (used[i] !== 0) i = (i + 1) & mask
      used[i] = 1
      w.set(oldWords.subarray(s * 5, s * 5 + 5), i * 5)
    }
  }
}

function word(b: Uint8Array, at: number): number {
  return ((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number)
}

export const ENTRY_BLOB = 0
export const ENTRY_TREE = 1
export const ENTRY_GITLINK = 2

/**
 * A tree's entries as offsets into its bytes, three numbers each: the kind (ENTRY_*),
 * where the name starts and where it ends (its NUL; the raw id follows). parseTree makes
 * a Buffer and three strings per entry, and a walk meets most entries only to find it has
 * seen their object before. Whatever this does not recognise is handed to parseTree, for
 * its error (names are not checked, as with parseTree's strictNames: false).
 */
export function scanTree(data: Buffer): number[] {
  const out: number[] = []
  const len = data.length
  let pos = 0
  while (pos < len) {
    let mode = 0
    let p = pos
    for (; p < len && p - pos <= 6; p++) {
      const c = data[p] as number
      if (c < 0x30 || c > 0x37) break
      mode = mode * 8 + (c - 0x30)
    }
    const digits = p - pos
    let kind = -1
    if (p < len && data[p] === 0x20) {
      if (mode === MODE_TREE && (digits === 5 || digits === 6)) kind = ENTRY_TREE
      else if (digits === 6) {
        if (mode === 0o100644 || mode === 0o100664 || mode === 0o100755 || mode === 0o120000) kind = ENTRY_BLOB
        else if (mode === MODE_GITLINK) kind = ENTRY_GITLINK
      }
    }
    let nul = p + 1
    while (nul < len && data[nul] !== 0) nul++
    if (kind < 0 || nul + 21 > len) {
      parseTree(data, { strictNames: false })
      throw new ObjectFormatError(`malformed tree entry at offset ${pos}`)
    }
    out.push(kind, p + 1, nul)
    pos = nul + 21
  }
  return out
}

/** The hex id of the tree entry whose name ends at `nul`. */
function entryOid(data: Buffer, nul: number): Oid {
  return data.toString('hex', nul + 1, nul + 21)
}

/**
 * The pending objects and everything below them, depth first in tree entry order,
 * each object once, without the uninteresting ones (git's traverse_trees_and_blobs).
 * Reads never fetch: run prefetchReachable first to fill a partial clone. A tree that
 * cannot be read is yielded with present=false and not entered; a blob is only checked
 * for presence. `shown`, when given, receives every object yielded, and what it holds
 * already is not yielded.
 */
export async function* enumerateObjects(
  store: ObjectStore,
  pending: readonly PendingObject[],
  skip: ReadonlySet<Oid>,
  shown?: Set<Oid>,
  filter?: PathFilter,
): AsyncGenerator<WalkedObject> {
  // What was yielded or turned away by `skip` (which does not change during the walk).
  const done = new RawOidSet()
  const known = (oid: Oid): boolean => done.hasHex(oid) || skip.has(oid) || shown?.has(oid) === true
  for (const p of pending) {
    if (known(p.oid)) continue
    if (p.type === 'tree') {
      yield* walkTree(store, p.oid, p.path, p.referrer, skip, done, shown, filter)
      continue
    }
    done.addHex(p.oid)
    shown?.add(p.oid)
    if (p.type === 'tag') yield { oid: p.oid, type: 'tag', name: p.name ?? '', referrer: p.referrer, present: true }
    else yield { oid: p.oid, type: 'blob', name: p.path, referrer: p.referrer, present: await store.has(p.oid) }
  }
}

interface Frame {
  data: Buffer
  entries: number[]
  /** Index into entries (three numbers per entry). */
  i: number
  base: string
  tree: Oid
}

async function* walkTree(
  store: ObjectStore,
  root: Oid,
  rootPath: string,
  referrer: Oid | undefined,
  skip: ReadonlySet<Oid>,
  done: RawOidSet,
  shown: Set<Oid> | undefined,
  filter: PathFilter | undefined,
): AsyncGenerator<WalkedObject> {
  const stack: Frame[] = []
  // Blobs are checked for presence in batches (one store call, one look at the pack
  // directory for the missing ones) and handed out in order before the next tree.
  const ready: WalkedObject[] = []
  const unsure: WalkedObject[] = []
  const settle = async (): Promise<void> => {
    if (unsure.length === 0) return
    const still = new Set(await store.stillMissing(unsure.map((o) => o.oid)))
    for (const o of unsure) o.present = !still.has(o.oid)
    unsure.length = 0
  }
  const enter = async (oid: Oid, path: string, from: Oid | undefined): Promise<WalkedObject> => {
    shown?.add(oid)
    const obj = await store.tryRead(oid)
    const ok = obj !== undefined && obj.type === 'tree'
    if (ok) stack.push({ data: obj.data, entries: scanTree(obj.data), i: 0, base: path === '' ? '' : `${path}/`, tree: oid })
    return { oid, type: 'tree', name: path, referrer: from, present: ok }
  }
  done.addHex(root)
  yield await enter(root, rootPath, referrer)
  while (stack.length > 0) {
    const f = stack[stack.length - 1] as Frame
    const { data, entries } = f
    if (f.i >= entries.length) {
      stack.pop()
      continue
    }
    const kind = entries[f.i] as number
    const nameAt = entries[f.i + 1] as number
    const nul = entries[f.i + 2] as number
    f.i += 3
    if (kind === ENTRY_GITLINK || done.has(data, nul + 1)) continue
    const oid = entryOid(data, nul)
    if (skip.has(oid) || shown?.has(oid) === true) {
      done.add(data, nul + 1)
      continue
    }
    const path = f.base + data.toString('latin1', nameAt, nul)
    if (kind === ENTRY_TREE) {
      if (filter && !filter.tree(path)) continue
      done.add(data, nul + 1)
      await settle()
      yield* ready
      ready.length = 0
      yield await enter(oid, path, f.tree)
      continue
    }
    if (filter && !filter.blob(path)) continue
    done.add(data, nul + 1)
    shown?.add(oid)
    const o: WalkedObject = { oid, type: 'blob', name: path, referrer: f.tree, present: store.hasCached(oid) }
    if (!o.present) unsure.push(o)
    ready.push(o)
  }
  await settle()
  yield* ready
}

export interface PrefetchRoot {
  oid: Oid
  type: ObjectType
  referrer?: Oid
  /** Where a tree root sits, for `paths` (byte string); default ''. */
  path?: string
}

interface LevelTree {
  oid: Oid
  referrer?: Oid
  path: string
}

export interface PrefetchStats {
  /** prefetch calls that had something missing (each is one request per promisor remote). */
  batches: number
  objects: number
}

/**
 * Makes the trees and blobs reachable from `roots` present, fetching level by level:
 * the missing trees of a level are fetched together (with the blobs found missing so
 * far), the remaining blobs in one last batch. `skip` objects are not entered. Each
 * batch names the trees that referred to it, so the store can tell cheaply that the
 * missing ids are promisor objects. With `blobs: false` only trees are fetched; with
 * `paths`, only what the filter accepts is entered or fetched.
 */
export async function prefetchReachable(
  store: ObjectStore,
  roots: readonly PrefetchRoot[],
  skip: ReadonlySet<Oid> = new Set(),
  options: { blobs?: boolean; paths?: PathFilter } = {},
): Promise<PrefetchStats> {
  const wantBlobs = options.blobs ?? true
  const filter = options.paths
  const stats: PrefetchStats = { batches: 0, objects: 0 }
  const visited = new RawOidSet()
  // Turned away by `skip`, which does not change: asked about by raw id from then on.
  const skipped = new RawOidSet(16)
  let blobs: Oid[] = []
  let blobReferrers = new Set<Oid>()
  let level: LevelTree[] = []
  for (const r of roots) {
    if (skip.has(r.oid) || visited.hasHex(r.oid)) continue
    visited.addHex(r.oid)
    if (r.type === 'tree') level.push({ oid: r.oid, referrer: r.referrer, path: r.path ?? '' })
    else if (r.type === 'blob' && wantBlobs) {
      blobs.push(r.oid)
      if (r.referrer) blobReferrers.add(r.referrer)
    }
  }
  const flush = async (ids: Oid[], referrers: Set<Oid>): Promise<void> => {
    const missing = await store.missingOf(ids)
    if (missing.length === 0) return
    stats.batches++
    stats.objects += missing.length
    await store.prefetch(missing, { referrers: referrers.size > 0 ? referrers : undefined })
  }
  while (level.length > 0) {
    const missingTrees = await store.missingOf(level.map((l) => l.oid))
    if (missingTrees.length > 0) {
      const refs = new Set(blobReferrers)
      const missingSet = new Set(missingTrees)
      for (const l of level) if (missingSet.has(l.oid) && l.referrer) refs.add(l.referrer)
      await flush([...missingTrees, ...blobs], refs)
      blobs = []
      blobReferrers = new Set()
    }
    const next: LevelTree[] = []
    for (const l of level) {
      const obj = await store.tryRead(l.oid)
      if (!obj || obj.type !== 'tree') continue
      const base = l.path === '' ? '' : `${l.path}/`
      const data = obj.data
      const entries = scanTree(data)
      for (let i = 0; i < entries.length; i += 3) {
        const kind = entries[i] as number
        if (kind === ENTRY_GITLINK || (kind === ENTRY_BLOB && !wantBlobs)) continue
        const nul = entries[i + 2] as number
        if (visited.has(data, nul + 1) || skipped.has(data, nul + 1)) continue
        const oid = entryOid(data, nul)
        if (skip.has(oid)) {
          skipped.add(data, nul + 1)
          continue
        }
        // paths are only spelled out when a filter will look at them
        const path = filter ? base + data.toString('latin1', entries[i + 1] as number, nul) : ''
        if (kind === ENTRY_TREE) {
          if (filter && !filter.tree(path)) continue
          visited.add(data, nul + 1)
          next.push({ oid, referrer: l.oid, path })
          continue
        }
        if (filter && !filter.blob(path)) continue
        visited.add(data, nul + 1)
        blobs.push(oid)
        blobReferrers.add(l.oid)
      }
    }
    level = next
  }
  if (blobs.length > 0) await flush(blobs, blobReferrers)
  return stats
}
