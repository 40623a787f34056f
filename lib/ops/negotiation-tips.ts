/**
 * What a fetch may offer as haves, as git's configuration and flags say:
 *
 *   fetch.negotiationAlgorithm  `noop` offers nothing (the server sends what the wants
 *                               reach); `consecutive`, `skipping` and `default` all mean
 *                               tsgit's negotiation walk (lib/rev/have-walk.ts), which
 *                               already leaves out what the server acknowledged; any
 *                               other value is git's fatal error. Case does not matter.
 *   --negotiation-tip           the walk starts from these only: a revision (which must
 *                               be here), or a glob over ref names (`refs/` put in front
 *                               when missing; one that matches nothing is ignored with
 *                               git's warning). What the server listed and is here is
 *                               offered too, as git does (it is common, whatever the tips).
 */
import { ConfigError, TsgitError } from '../errors.js'
import type { ProgressSink } from '../events.js'
import type { ObjectStore } from '../odb/store.js'
import type { Oid } from '../oid.js'
import type { ConfigReader } from '../repo/config.js'
import { globRegExp } from '../repo/ref-glob.js'
import type { RefEntry, RefStore } from '../repo/refs.js'
import type { HaveTip } from '../rev/have-walk.js'
import { resolveRevision, RevisionError } from '../rev/parse.js'

/** A --negotiation-tip that names no object here. Exit 128, git's words. */
export class NegotiationTipError extends TsgitError {
  constructor(message: string) {
    super('E_NEGOTIATION_TIP', message)
  }
}

/** Whether fetch.negotiationAlgorithm asks for no haves at all (`noop`); throws git's error on a value it does not know. */
export function offersNoHaves(config: ConfigReader): boolean {
  const value = config.getString('fetch.negotiationAlgorithm')
  if (value === undefined) return false
  const v = value.toLowerCase()
  if (v === 'noop') return true
  if (v === 'consecutive' || v === 'skipping' || v === 'default') return false
  throw new ConfigError(`unknown fetch negotiation algorithm '${value}'`)
}

const GLOB_SPECIALS = /[*?[\\]/

/** A local ref as a tip of the negotiation: its peeled commit when packed-refs records it. */
export function refTip(r: RefEntry, presumed: (ref: string) => boolean): HaveTip {
  return { oid: r.oid, ...(r.peeled !== undefined ? { peeled: r.peeled } : {}), presumed: presumed(r.name) }
}

/**
 * The tips --negotiation-tip names, in the order given, each once: an id of a revision,
 * or the refs (of `localRefs`) a glob matches. `presumed(ref)`: whether a ref's tip is
 * likely known to the server (the remote's own remote-tracking refs).
 */
export async function chosenTips(
  given: readonly string[],
  ctx: { refs: RefStore; store: ObjectStore; sink: ProgressSink },
  localRefs: readonly RefEntry[],
  presumed: (ref: string) => boolean,
): Promise<HaveTip[]> {
  const tips: HaveTip[] = []
  const seen = new Set<Oid>()
  const add = (tip: HaveTip): void => {
    if (seen.has(tip.oid)) return
    seen.add(tip.oid)
    tips.push(tip)
  }
  for (const s of given) {
    if (!GLOB_SPECIALS.test(s)) {
      let oid: Oid
      try {
        oid = await resolveRevision({ refs: ctx.refs, store: ctx.store }, s)
      } catch (e) {
        if (e instanceof RevisionError) throw new NegotiationTipError(`${s} is not a valid object`)
        throw e
      }
      if (!(await ctx.store.has(oid))) throw new NegotiationTipError(`the object ${s} does not exist`)
      add({ oid })
      continue
    }
    const re = globRegExp(s.startsWith('refs/') ? s : `refs/${s}`)
    const before = tips.length
    for (const r of localRefs) if (re.test(r.name)) add(refTip(r, presumed))
    if (tips.length === before) ctx.sink.warn(`ignoring --negotiation-tip=${s} because it does not match any refs`)
  }
  return tips
}

/** The refs the server listed whose objects are here: common already, offered first. */
export async function listedHere(store: ObjectStore, listed: readonly { oid?: Oid }[]): Promise<HaveTip[]> {
  const out: HaveTip[] = []
  const seen = new Set<Oid>()
  for (const r of listed) {
    if (r.oid === undefined || seen.has(r.oid)) continue
    seen.add(r.oid)
    if (await store.has(r.oid)) out.push({ oid: r.oid, presumed: true })
  }
  return out
}
