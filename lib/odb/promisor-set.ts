/**
 * git's promisor objects (gitrepository-layout, "objects/pack/*.promisor"): the objects
 * of the promisor packs and the objects they refer to. A missing promisor object is one
 * a partial clone was promised; the store fetches it lazily.
 *
 * The store also refuses to fetch a missing object that is not one: that is corruption
 * (or an id the repository never had), and asking a server cannot be the answer. The
 * refusal is sound only where every object the clone lacks is referred to by a promisor
 * object it has. That holds after a blob filter, whose trees are all present; it fails
 * once a promisor object refers to a missing tree or commit (a tree:<depth> clone, whose
 * subtrees hang below trees that are missing too, as git's t5616 reads them): then any
 * missing object may be one the clone lacks, and it is fetched, as git fetches it.
 */
import { MODE_GITLINK, MODE_TREE, parseCommit, parseTag, parseTree } from './objects.js'
import type { PackDirectory } from './pack-dir.js'
import type { Oid } from '../oid.js'

export interface PromisorSetSources {
  packs: PackDirectory
  /** Whether an object is present, as far as the store's current view goes (synchronous, no rescan). */
  present(oid: Oid): boolean
  /** A commit's parents as history sees them (none for a shallow commit). */
  parentsOf(commit: Oid, parents: Oid[]): Oid[]
}

interface Built {
  /** The promisor packs' objects and those they refer to. */
  objects: Set<Oid>
  /** A promisor object refers to a tree or commit that is missing. */
  missingTrees: boolean
  /** PackDirectory.promisorGeneration when built. */
  generation: number
}

export class PromisorSet {
  private readonly sources: PromisorSetSources
  private built: Built | undefined

  constructor(sources: PromisorSetSources) {
    this.sources = sources
  }

  /** Whether a promisor pack holds `oid` (synchronous: one index search per promisor pack). */
  inPromisorPack(oid: Oid): boolean {
    return this.sources.packs.inPromisorPack(oid)
  }

  /**
   * Whether `oid` is a promisor object. With a referrer (an object the caller knows
   * refers to it) the cheap test is whether the referrer is in a promisor pack;
   * otherwise every object of the promisor packs is parsed, once per set of packs.
   */
  async isPromisorObject(oid: Oid, referrer?: Oid): Promise<boolean> {
    if (this.inPromisorPack(oid)) return true
    if (referrer !== undefined && this.inPromisorPack(referrer)) return true
    return (await this.build()).objects.has(oid)
  }

  /**
   * Whether a promisor object refers to a missing tree or commit, so that objects with
   * no present referrer may be missing by the clone's filter (see the top of this file).
   * Only the current view counts: once the trees are fetched, the refusal is sound again.
   */
  async hasMissingTrees(): Promise<boolean> {
    return (await this.build()).missingTrees
  }

  /** Whether a lazy fetch may ask for the missing `oid`: a promisor object, or any object where the refusal is unsound. */
  async mayFetch(oid: Oid, referrer?: Oid): Promise<boolean> {
    return (await this.isPromisorObject(oid, referrer)) || (await this.hasMissingTrees())
  }

  /**
   * Of `ids` (all missing), those a lazy fetch must not ask for. `referrers`: the trees
   * or commits naming them; when every one is in a promisor pack, so are all of `ids`
   * promisor objects (a batch names thousands of trees: asked without parsing a pack).
   */
  async refused(ids: readonly Oid[], referrers?: readonly Oid[]): Promise<Oid[]> {
    if (ids.length === 0) return []
    if (referrers !== undefined && referrers.length > 0 && referrers.every((r) => this.inPromisorPack(r))) return []
    const out: Oid[] = []
    for (const oid of ids) if (!(await this.isPromisorObject(oid))) out.push(oid)
    return out.length > 0 && (await this.hasMissingTrees()) ? [] : out
  }

  private async build(): Promise<Built> {
    const { packs, present, parentsOf } = this.sources
    if (this.built !== undefined && this.built.generation === packs.promisorGeneration) return this.built
    const generation = packs.promisorGeneration
    const objects = new Set<Oid>()
    let missingTrees = false
    // A referred tree or commit is asked about only until one is found missing.
    const container = (oid: Oid): void => {
      objects.add(oid)
      if (!missingTrees && !present(oid)) missingTrees = true
    }
    for (const pack of packs.promisorPacks()) {
      for (const oid of pack.index.oids()) {
        objects.add(oid)
        const obj = await pack.read(oid)
        if (!obj) continue
        if (obj.type === 'commit') {
          const c = parseCommit(obj.data)
          container(c.tree)
          for (const parent of parentsOf(oid, c.parents)) container(parent)
        } else if (obj.type === 'tree') {
          for (const e of parseTree(obj.data, { strictNames: false })) {
            if (e.mode === MODE_TREE) container(e.oid)
            else if (e.mode !== MODE_GITLINK) objects.add(e.oid)
          }
        } else if (obj.type === 'tag') {
          const tag = parseTag(obj.data)
          if (tag.type === 'blob') objects.add(tag.object)
          else container(tag.object)
        }
      }
    }
    this.built = { objects, missingTrees, generation }
    return this.built
  }
}
