/**
 * The local history a fetch offers as haves, newest committer date first from every
 * local tip (git's negotiation walk), never fetching and never past a shallow commit:
 * what is missing here is simply not offered.
 *
 * What the server acknowledges is common, and so is everything below it: those commits
 * are never offered, and the walk ends once only common commits are left in it (it
 * stops near the common boundary instead of going down to the root). Only the
 * acknowledged commits that are not below another common one need resending in a
 * stateless request (`frontier`).
 *
 * Tips presumed known to the server — the remote's own remote-tracking refs, which it
 * once sent — are offered first and their history is held back from the first round:
 * in a clone whose branches went their own way, the server finds the common base in one
 * round instead of after every local commit. Other commits no newer than the newest of
 * them (tags, old branches) are likely below them and wait too; the first round offers
 * the presumed tips and the local commits newer than them. The first answer settles the
 * presumption (`settle`): a tip it did not acknowledge has its history walked like any
 * other, and what waited is walked as usual.
 */
import { MissingObjectError } from '../errors.js'
import { parseTag } from '../odb/objects.js'
import type { Oid } from '../oid.js'
import { readObject, RevWalk, type CommitInfo, type WalkReader } from './commit-walk.js'
import { DateQueue } from './date-queue.js'

/**
 * Commits the walk goes below the common boundary, with nothing offered meanwhile,
 * before it ends: enough to carry the common mark across a merge or a side line of a
 * few thousand commits, far less than a long history (git.git: 80,000 commits).
 */
export const COMMON_WALK_LIMIT = 1024

export interface HaveTip {
  oid: Oid
  /** What a tag ref peels to, when known (packed-refs records it): the tag is not read. */
  peeled?: Oid
  /** Likely known to the server: offered first, its history held back until settled. */
  presumed?: boolean
}

export class HaveWalk {
  private readonly commits: RevWalk
  private readonly queue = new DateQueue<CommitInfo>()
  /** Queued once. */
  private readonly queued = new Set<Oid>()
  /** In the queue now. */
  private readonly inQueue = new Set<Oid>()
  /** How many in the queue are not known common: at none the walk is over. */
  private nonCommon = 0
  /** Commits walked below the common boundary since a commit was last offered. */
  private belowSinceOffer = 0
  /** The walk gave up on what is left (see COMMON_WALK_LIMIT). */
  private givenUp = false
  private readonly offered = new Set<Oid>()
  private readonly commonSet = new Set<Oid>()
  private readonly frontierSet = new Set<Oid>()
  /** Presumed tips, newest first, still to offer; then, until settled, held back. */
  private presumed: CommitInfo[] = []
  private presumedPos = 0
  private readonly presumedSet = new Set<Oid>()
  /** Presumed commits the walk reached before the presumption was settled. */
  private held: CommitInfo[] = []
  private presumedNewest = Number.NEGATIVE_INFINITY
  private settled = false

  constructor(private readonly reader: WalkReader) {
    if (reader.fetch) throw new Error('a negotiation walk never fetches')
    this.commits = new RevWalk(reader, { objects: false })
  }

  /** The commit, or undefined when it is not here (a partial or damaged history is offered as far as it goes). */
  private async commit(oid: Oid): Promise<CommitInfo | undefined> {
    try {
      return await this.commits.commit(oid)
    } catch (e) {
      if (e instanceof MissingObjectError) return undefined
      throw e
    }
  }

  /** A ref's commit: tags peeled; undefined for anything else or what is missing. */
  private async peel(oid: Oid): Promise<CommitInfo | undefined> {
    let at = oid
    for (let depth = 0; depth <= 64; depth++) {
      const obj = await readObject(this.reader, at)
      if (obj === undefined) return undefined
      if (obj.type === 'commit') return this.commit(at)
      if (obj.type !== 'tag') return undefined
      at = parseTag(obj.data).object
    }
    return undefined
  }

  /** The local tips, each once. */
  async add(tips: readonly HaveTip[]): Promise<void> {
    for (const tip of tips) {
      const c = tip.peeled !== undefined ? await this.commit(tip.peeled) : await this.peel(tip.oid)
      if (c === undefined) continue
      if (tip.presumed && !this.settled) {
        if (!this.presumedSet.has(c.oid)) {
          this.presumedSet.add(c.oid)
          this.presumed.push(c)
        }
        continue
      }
      this.enqueue(c)
    }
    this.presumed.sort((a, b) => b.date - a.date)
    this.presumedNewest = this.presumed[0]?.date ?? Number.NEGATIVE_INFINITY
  }

  private enqueue(c: CommitInfo): void {
    if (this.queued.has(c.oid)) return
    this.queued.add(c.oid)
    this.push(c)
  }

  private push(c: CommitInfo): void {
    this.inQueue.add(c.oid)
    if (!this.commonSet.has(c.oid)) this.nonCommon++
    this.queue.push(c)
  }

  private pop(): CommitInfo | undefined {
    const c = this.queue.pop()
    if (c === undefined) return undefined
    this.inQueue.delete(c.oid)
    if (!this.commonSet.has(c.oid)) this.nonCommon--
    return c
  }

  /** Whether take() may return more. */
  get more(): boolean {
    if (this.givenUp) return false
    return this.presumedPos < this.presumed.length || this.nonCommon > 0 || (!this.settled && this.presumed.length > 0)
  }

  /** The next `n` haves at most (fewer at the end of the walk). */
  async take(n: number): Promise<Oid[]> {
    const out: Oid[] = []
    while (out.length < n) {
      const tip = this.presumed[this.presumedPos]
      if (tip !== undefined && !this.settled) {
        this.presumedPos++
        if (!this.commonSet.has(tip.oid) && !this.offered.has(tip.oid)) {
          this.offered.add(tip.oid)
          out.push(tip.oid)
        }
        continue
      }
      // Only common commits left: nothing more to offer.
      if (this.nonCommon === 0 || this.givenUp) break
      const c = this.pop()
      if (c === undefined) break
      if (this.commonSet.has(c.oid)) {
        // Below the boundary: walked on, never offered, so that the mark reaches the
        // commits another line of history meets (in date order, before it gets there).
        // Not for ever: old tags wait in the queue as not known common, and reaching them
        // would read most of a long history. Past the limit the walk ends: the commons
        // found make the pack, and what is left is very likely below them.
        if (++this.belowSinceOffer > COMMON_WALK_LIMIT) {
          this.givenUp = true
          break
        }
        for (const p of c.parents) this.spread(p)
        await this.enqueueParents(c)
        continue
      }
      // Until settled, what is no newer than the newest presumed tip is likely below
      // one (a tag, an old branch, the presumed commits themselves) and waits.
      if (!this.settled && (this.presumedSet.has(c.oid) || c.date <= this.presumedNewest)) {
        this.held.push(c)
        continue
      }
      await this.enqueueParents(c)
      if (this.offered.has(c.oid)) continue
      this.offered.add(c.oid)
      this.belowSinceOffer = 0
      out.push(c.oid)
    }
    return out
  }

  private async enqueueParents(c: CommitInfo): Promise<void> {
    for (const p of c.parents) {
      if (this.queued.has(p)) continue
      const pc = await this.commit(p)
      if (pc !== undefined) this.enqueue(pc)
    }
  }

  /** The server acknowledged `oid`: it and everything below it are common. */
  markCommon(oid: Oid): void {
    if (this.commonSet.has(oid)) return
    this.spread(oid)
    this.frontierSet.add(oid)
  }

  /** Marks `oid` and its ancestors known so far common; one acknowledged below another leaves the frontier. */
  private spread(oid: Oid): void {
    const stack = [oid]
    for (let o = stack.pop(); o !== undefined; o = stack.pop()) {
      if (this.commonSet.has(o)) {
        this.frontierSet.delete(o)
        continue
      }
      this.commonSet.add(o)
      if (this.inQueue.has(o)) this.nonCommon--
      const c = this.commits.known(o)
      if (c !== undefined) stack.push(...c.parents)
    }
  }

  /** The acknowledged commits that are not below another common one: what a stateless request resends. */
  get frontier(): Oid[] {
    return [...this.frontierSet]
  }

  /**
   * After the first answer: presumed tips the server did not acknowledge are walked
   * like any other tip, with what was held back below them.
   */
  settle(): void {
    if (this.settled) return
    this.settled = true
    for (const c of this.presumed) if (!this.commonSet.has(c.oid)) this.enqueue(c)
    for (const c of this.held) this.push(c)
    this.held = []
    this.presumedPos = this.presumed.length
  }
}
