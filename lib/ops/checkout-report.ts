/**
 * What checkout says about commits and upstreams: a commit's label ("HEAD is now at
 * <abbrev> <subject>") and how far a branch is ahead of and behind its upstream.
 */
import { MissingObjectError } from '../errors.js'
import { parseCommit } from '../odb/objects.js'
import type { ObjectStore } from '../odb/store.js'
import type { Oid } from '../oid.js'
import { abbreviate } from '../rev/abbrev.js'
import { RevWalk } from '../rev/commit-walk.js'
import { subjectOf } from '../rev/pretty.js'

/** A commit as git names it in messages: abbreviated id and subject. */
export interface CommitLabel {
  oid: Oid
  abbrev: string
  subject: string
}

export interface UpstreamStatus {
  /** Short name, e.g. origin/main. */
  name: string
  /** undefined when the upstream ref does not exist. */
  ahead?: number
  behind?: number
}

/** A commit as git's checkout names it: its abbreviated id and subject. */
export async function label(store: ObjectStore, oid: Oid, min: number): Promise<CommitLabel> {
  const commit = parseCommit((await store.read(oid)).data)
  return { oid, abbrev: await abbreviate(store, oid, min), subject: subjectOf(commit.message) }
}

/**
 * How many commits are reachable from `a` but not from `b`, and the reverse: two
 * limited walks (`b..a`, `a..b`), which stop a few commits past where everything left
 * is reachable from both sides, as git's own count does. Shallow commits have no
 * parents. Nothing is fetched for a report: undefined when a commit is missing.
 */
export async function aheadBehind(store: ObjectStore, a: Oid, b: Oid): Promise<{ ahead: number; behind: number } | undefined> {
  // The usual case right after a clone or a pull: nothing to walk.
  if (a === b) return { ahead: 0, behind: 0 }
  const count = async (from: Oid, not: Oid): Promise<number> => {
    const walk = new RevWalk({ store, fetch: false }, { objects: false })
    await walk.add({ oid: from, name: from, uninteresting: false })
    await walk.add({ oid: not, name: not, uninteresting: true })
    let n = 0
    while (await walk.next()) n++
    return n
  }
  try {
    return { ahead: await count(a, b), behind: await count(b, a) }
  } catch (e) {
    if (e instanceof MissingObjectError) return undefined
    throw e
  }
}
