/**
 * The commit walk in the order git's revision walk uses, so rev-list can print what
 * git prints and backfill and checkout can reuse it: start points as git's
 * handle_commit takes them (tags peeled, trees and blobs kept as pending objects), then
 * commits newest committer date first, ties in the order they were queued; with
 * uninteresting (^rev) start points the walk is "limited" first, as git does, so
 * ancestors of both sides are left out. The objects below the commits are
 * enumerate.ts's.
 */
import { MissingObjectError } from '../errors.js'
import { MODE_GITLINK, MODE_TREE, parseCommitLinks, parseTag, parseTree } from '../odb/objects.js'
import type { ObjectStore } from '../odb/store.js'
import type { GitObject, Oid } from '../oid.js'
import { DateQueue } from './date-queue.js'

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

/** How a walk reads: `fetch` true lets the store fetch missing commits lazily. */
export interface WalkReader {
  store: ObjectStore
  fetch: boolean
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
  private queue = new DateQueue<CommitInfo>()
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

  /** The commit if this walk has parsed it already; never reads. */
  known(oid: Oid): CommitInfo | undefined {
    return this.parsed.get(oid)
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

  private async processParents(c: CommitInfo, queue: DateQueue<CommitInfo>): Promise<void> {
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

  private stillInteresting(queue: DateQueue<CommitInfo>, date: number, slop: number): number {
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
