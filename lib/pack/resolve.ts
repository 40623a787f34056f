/**
 * The second half of index-pack: gives every delta not yet resolved its object
 * id by walking delta trees depth-first from their bases, re-reading entries
 * from the pack file by offset. A base is inflated once and stays in memory
 * only while it still has children to resolve; the bytes held along the current
 * path are bounded, and bases dropped to honour that bound are rebuilt from the
 * file.
 *
 * Deltas the receiver resolved on arrival (recent.ts) have their type set. The
 * deltas left form subtrees whose roots hang off resolved entries: an OFS_DELTA
 * comes after its base, so the base of one left unresolved on arrival was
 * itself left unresolved, or had dropped out of the recent objects.
 */
import { readSync } from 'node:fs'
import { PackError } from '../errors.js'
import type { ProgressSink } from '../events.js'
import type { GitObject, Oid } from '../oid.js'
import { BuddyArena } from './arena.js'
import { checkDelta, writeDelta } from './delta.js'
import { EntryTable, NO_BASE } from './entries.js'
import { inflateEntry } from './inflate.js'
import { HEADER_ROOM, OBJ_OFS_DELTA, hashInRoom, isDeltaType, typeCode, typeName } from './format.js'

/** Largest read buffer kept between reads. */
const MAX_SCRATCH = 1024 * 1024

/** Memory reused for bases and results (arena.ts); objects that do not fit are allocated on their own. */
export const DEFAULT_ARENA_BYTES = 16 * 1024 * 1024

/** `base` value of a delta whose base came from resolveExternal. */
const EXTERNAL_BASE = -2

/** Where entries are re-read from: an open pack file (a FileHandle will do). */
export interface PackSource {
  readonly fd: number
}

/** The OFS_DELTA children of each entry, in compressed-row form: those of i are childList[childStart[i] .. childStart[i + 1]). */
export interface DeltaLinks {
  childStart: Int32Array
  childList: Int32Array
}

/** The children of every entry of `t`; in shared memory when `shared` (for worker threads). */
export function deltaLinks(t: EntryTable, shared = false): DeltaLinks {
  const n = t.count
  let ofs = 0
  for (let i = 0; i < n; i++) if (t.packType[i] === OBJ_OFS_DELTA) ofs++
  const childStart = new Int32Array(shared ? new SharedArrayBuffer(4 * (n + 1)) : new ArrayBuffer(4 * (n + 1)))
  const childList = new Int32Array(shared ? new SharedArrayBuffer(4 * ofs) : new ArrayBuffer(4 * ofs))
  for (let i = 0; i < n; i++) if (t.packType[i] === OBJ_OFS_DELTA) childStart[(t.base[i] as number) + 1]!++
  for (let i = 0; i < n; i++) childStart[i + 1]! += childStart[i] as number
  const fill = childStart.slice(0, n)
  for (let i = 0; i < n; i++) {
    if (t.packType[i] === OBJ_OFS_DELTA) childList[fill[t.base[i] as number]!++] = i
  }
  return { childStart, childList }
}

export interface ResolveOptions {
  maxObjectSize: number
  /** Bytes of bases kept in memory along the current path of the walk. */
  baseCacheBytes: number
  /** Capacity of the arena bases and results are made in. Default 16 MiB. */
  arenaBytes?: number
  resolveExternal?: (oid: Oid) => Promise<GitObject | undefined>
  /**
   * Called with each base resolveExternal supplies, once, the first time it is fetched and
   * before any delta on it is resolved (fix-thin.ts appends it to the pack). One at a time.
   */
  onExternalBase?: (oid: Oid, base: GitObject) => Promise<void>
  /** The whole pack, when it is small enough to hold: entries are then sliced, not read. */
  packBytes?: Buffer
  progress?: ProgressSink
  signal?: AbortSignal
  /** The children of each entry, when already computed (deltaLinks). */
  links?: DeltaLinks
}

interface Frame {
  index: number
  type: number
  data: Buffer | null
  /** What holds `data`, given back to the arena when `data` is dropped. */
  block: Buffer | null
  kids: number[]
  next: number
}

export class DeltaResolver {
  resolved = 0
  private readonly childStart: Int32Array
  private readonly childList: Int32Array
  private readonly refChildren = new Map<string, number[]>()
  private held = 0
  private lastPercent = -1
  /** Compressed bytes are dead once inflated, so one buffer serves every read. */
  private scratch = Buffer.allocUnsafe(64 * 1024)
  /** Where deltas are inflated: each is applied, then dead. */
  private readonly inflated = Buffer.allocUnsafe(256 * 1024)
  private readonly arena: BuddyArena

  constructor(
    private readonly t: EntryTable,
    private readonly pack: PackSource,
    private readonly deltaCount: number,
    private readonly opts: ResolveOptions,
  ) {
    this.arena = new BuddyArena(opts.arenaBytes ?? DEFAULT_ARENA_BYTES)
    const n = t.count
    for (let i = 0; i < n; i++) if (isDeltaType(t.packType[i] as number) && t.objType[i] !== 0) this.resolved++
    const links = opts.links ?? deltaLinks(t)
    this.childStart = links.childStart
    this.childList = links.childList
    for (const [i, oid] of t.refBase) {
      const key = oid.toString('hex')
      const list = this.refChildren.get(key)
      if (list) list.push(i)
      else this.refChildren.set(key, [i])
    }
  }

  async run(): Promise<void> {
    const t = this.t
    for (let i = 0; i < t.count; i++) {
      if (this.resolved === this.deltaCount) break
      await this.resolveFrom(i)
    }
    // Whatever is left hangs off bases outside the pack (a thin pack), or is a cycle.
    while (this.resolved < this.deltaCount && this.refChildren.size > 0) {
      const [oid, kids] = this.refChildren.entries().next().value as [string, number[]]
      this.refChildren.delete(oid)
      const base = await this.external(oid, kids[0] as number)
      await this.opts.onExternalBase?.(oid, base)
      for (const k of kids) t.base[k] = EXTERNAL_BASE
      await this.walk(EXTERNAL_BASE, typeCode(base.type), base.data, kids)
    }
    const unresolved = this.deltaCount - this.resolved
    if (unresolved > 0) throw new PackError(`pack has ${unresolved} unresolved ${unresolved === 1 ? 'delta' : 'deltas'}`)
    this.emitProgress(true)
  }

  /**
   * Resolves the subtrees of the entries in the blocks `claim` hands out (the start of
   * the next block of `block` entries; past the end: done). Worker threads share one
   * claim, so each subtree is resolved by exactly one of them. Roots are the entries
   * `rootTypes` (objType as it was before any worker began) says are resolved: an entry
   * another worker resolves meanwhile belongs to that worker's subtree. No REF_DELTA.
   */
  async runClaimed(claim: () => number, block: number, rootTypes: Uint8Array): Promise<void> {
    const n = this.t.count
    for (let from = claim(); from < n; from = claim()) {
      const to = Math.min(n, from + block)
      for (let i = from; i < to; i++) if (rootTypes[i] !== 0) await this.resolveFrom(i)
    }
  }

  /** Resolves the deltas left in the subtree of entry `i`, if it is resolved. */
  private async resolveFrom(i: number): Promise<void> {
    const t = this.t
    const type = t.objType[i] as number
    if (type === 0) return
    const kids = this.kidsOf(i, t.oid(i))
    if (kids.length === 0) return
    const isDelta = isDeltaType(t.packType[i] as number)
    await this.walk(i, type, isDelta ? await this.materialize(i, kids[0] as number) : this.readEntry(i), kids)
  }

  /** The deltas based on entry `i` that are not resolved yet. */
  private kidsOf(i: number, oid: Buffer): number[] {
    const kids: number[] = []
    for (let k = this.childStart[i] as number; k < (this.childStart[i + 1] as number); k++) {
      const kid = this.childList[k] as number
      if (this.t.objType[kid] === 0) kids.push(kid)
    }
    if (this.refChildren.size === 0) return kids
    const oidHex = oid.toString('hex')
    const refs = this.refChildren.get(oidHex)
    if (refs) {
      // Each REF_DELTA is resolved once, even when its base appears twice in the pack.
      this.refChildren.delete(oidHex)
      for (const r of refs) this.t.base[r] = i
      kids.push(...refs)
    }
    return kids
  }

  private async walk(index: number, type: number, data: Buffer, kids: number[]): Promise<void> {
    const t = this.t
    const stack: Frame[] = [{ index, type, data, block: data, kids, next: 0 }]
    this.held += data.length
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as Frame
      if (top.next >= top.kids.length) {
        stack.pop()
        this.drop(top)
        continue
      }
      this.opts.signal?.throwIfAborted()
      const child = top.kids[top.next++] as number
      // A base dropped to honour baseCacheBytes is rebuilt for this child only.
      const base = top.data ?? (await this.materialize(top.index, top.kids[0] as number))
      let framed: Buffer
      try {
        framed = this.applyInArena(base, this.readEntry(child, true), HEADER_ROOM)
      } finally {
        if (base !== top.data) this.arena.release(base)
      }
      const result = framed.subarray(HEADER_ROOM)
      t.setOidHex(child, hashInRoom(typeName(top.type), framed, result.length))
      t.objType[child] = top.type
      this.resolved++
      this.emitProgress(false)
      if (top.next >= top.kids.length) {
        // The parent has no other child waiting: let it go before descending.
        stack.pop()
        this.drop(top)
      }
      const grandKids = this.kidsOf(child, t.oid(child))
      if (grandKids.length === 0) {
        this.arena.release(framed)
        continue
      }
      stack.push({ index: child, type: top.type, data: result, block: framed, kids: grandKids, next: 0 })
      this.held += result.length
      for (const f of stack) {
        if (this.held <= this.opts.baseCacheBytes || f === stack[stack.length - 1]) break
        this.drop(f)
      }
    }
  }

  /** Lets go of a frame's data (it is rebuilt from the file if needed again). */
  private drop(f: Frame): void {
    if (f.data) this.held -= f.data.length
    if (f.block) this.arena.release(f.block)
    f.data = null
    f.block = null
  }

  /** A buffer of `size` bytes: from the arena when it has room, else of its own. */
  private allocate(size: number): Buffer {
    return this.arena.alloc(size) ?? Buffer.allocUnsafe(size)
  }

  /** The result of `delta` on `base`, after `room` bytes (left for an object header), in the arena when it fits. */
  private applyInArena(base: Buffer, delta: Buffer, room: number): Buffer {
    const header = checkDelta(base, delta, this.opts.maxObjectSize)
    const framed = this.allocate(room + header.resultSize)
    try {
      writeDelta(base, delta, header, framed, room)
    } catch (e) {
      this.arena.release(framed)
      throw e
    }
    return framed
  }

  /** Rebuilds entry `index` from the pack file; `someChild` identifies an external base. */
  private async materialize(index: number, someChild: number): Promise<Buffer> {
    const t = this.t
    if (index === EXTERNAL_BASE) {
      // Whole, from the store, as the first time: not from where fix-thin.ts wrote it.
      return (await this.external((t.refBase.get(someChild) as Buffer).toString('hex'), someChild)).data
    }
    const chain: number[] = []
    let j = index
    while (isDeltaType(t.packType[j] as number)) {
      chain.push(j)
      j = t.base[j] as number
      if (j === NO_BASE) throw new PackError(`delta at offset ${t.offset[chain[chain.length - 1] as number]} has no resolved base`)
      if (j === EXTERNAL_BASE) break
    }
    let data = j === EXTERNAL_BASE ? await this.materialize(EXTERNAL_BASE, chain[chain.length - 1] as number) : this.readEntry(j)
    for (let k = chain.length - 1; k >= 0; k--) {
      const base = data
      try {
        data = this.applyInArena(base, this.readEntry(chain[k] as number, true), 0)
      } finally {
        this.arena.release(base)
      }
    }
    return data
  }

  /** The base `oid` of REF_DELTA entry `child` from outside the pack (a thin pack), or a PackError naming both. */
  private async external(oid: string, child: number): Promise<GitObject> {
    const resolve = this.opts.resolveExternal
    const base = resolve ? await resolve(oid) : undefined
    if (base !== undefined) return base
    const where = `needed by the delta at offset ${this.t.offset[child]}`
    throw new PackError(`delta base ${oid} missing (${where}): not in the pack${resolve ? ' nor in the repository' : ''}`)
  }

  /** Inflates entry `i` (an object or a delta) from the pack file; a `transient` result is only valid until the next read. */
  private readEntry(i: number, transient = false): Buffer {
    const t = this.t
    const start = (t.offset[i] as number) + (t.headerLength[i] as number)
    const length = (t.end[i] as number) - start
    const size = t.size[i] as number
    const held = this.opts.packBytes
    const compressed = held !== undefined ? held.subarray(start, start + length) : this.readCompressed(i, start, length)
    // A kept object goes to the arena: inflateEntry writes into it (one spare byte) and returns a view of its start.
    const into = transient ? this.inflated : this.arena.alloc(size + 1)
    let data: Buffer
    try {
      data = inflateEntry(compressed, size, into).data
    } catch (e) {
      if (into !== undefined) this.arena.release(into)
      throw new PackError(`pack has bad object at offset ${t.offset[i]}: ${(e as Error).message}`, { cause: e })
    }
    // Objects past inflateEntry's one-shot limit come back in a buffer of their own.
    if (into !== undefined && !transient && data.buffer !== into.buffer) this.arena.release(into)
    if (data.length !== size) throw new PackError(`pack has bad object at offset ${t.offset[i]}: size mismatch on re-read`)
    return data
  }

  /** The compressed bytes of entry `i`, valid until the next call. */
  private readCompressed(i: number, start: number, length: number): Buffer {
    // Synchronous positional reads: resolution is CPU-bound, and a thread-pool
    // round trip per delta costs more than the read itself.
    if (length > this.scratch.length && length <= MAX_SCRATCH) this.scratch = Buffer.allocUnsafe(Math.min(MAX_SCRATCH, Math.max(length, 2 * this.scratch.length)))
    const compressed = length <= this.scratch.length ? this.scratch.subarray(0, length) : Buffer.allocUnsafe(length)
    let done = 0
    while (done < length) {
      const n = readSync(this.pack.fd, compressed, done, length - done, start + done)
      if (n === 0) throw new PackError(`pack file ended inside the object at offset ${this.t.offset[i]}`)
      done += n
    }
    return compressed
  }

  private emitProgress(done: boolean): void {
    const sink = this.opts.progress
    if (!sink || this.deltaCount === 0) return
    const percent = Math.floor((this.resolved * 100) / this.deltaCount)
    if (!done && percent === this.lastPercent) return
    this.lastPercent = percent
    sink.progress({ title: 'Resolving deltas', current: this.resolved, total: this.deltaCount, ...(done ? { done: true } : {}) })
  }
}
