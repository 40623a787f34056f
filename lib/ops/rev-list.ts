/**
 * rev-list: the commits reachable from some revisions and not from others, newest
 * first, and with `objects` the trees, blobs and tags they reach, printed the way git
 * 2.39 prints them. With a `missing` action other than 'error' nothing is fetched
 * (those modes exist to inspect a partial clone); with 'error' a partial clone fetches
 * what is missing in batches, one tree level at a time.
 */
import { PathLimitingError, TsgitError, UsageError } from '../errors.js'
import type { ObjectStore } from '../odb/store.js'
import type { Oid } from '../oid.js'
import type { RefStore } from '../repo/refs.js'
import { RevWalk, type StartPoint } from '../rev/commit-walk.js'
import { enumerateObjects } from '../rev/enumerate.js'
import { resolveRevision } from '../rev/parse.js'
import { byteString } from '../rev/paths.js'
import { prefetchReachable } from '../rev/prefetch-reachable.js'

export type MissingAction = 'error' | 'allow-any' | 'allow-promisor' | 'print'

export const MISSING_ACTIONS: readonly MissingAction[] = ['error', 'allow-any', 'allow-promisor', 'print']

export interface RevListContext {
  refs: RefStore
  store: ObjectStore
}

export interface RevListOptions {
  /** Revision arguments in order: revisions, `^rev`, `a..b`, `--all`, `--not`. */
  args: readonly string[]
  objects?: boolean
  missing?: MissingAction
  /** false: --no-object-names. */
  objectNames?: boolean
  /** --count: instead of the commits and objects, how many there are (after --missing=print's lines, as git). */
  count?: boolean
  /** Receives output in pieces; each piece is a byte string (one char per byte). */
  write(chunk: string): void | Promise<void>
}

/** A missing object rev-list may not skip: fatal like git's die(). */
export class RevListMissingError extends TsgitError {
  readonly oid: Oid
  constructor(oid: Oid, message: string) {
    super('E_REV_LIST_MISSING', message)
    this.oid = oid
  }
}

/** The start points named by the arguments, in git's order (--all: refs by name, then HEAD, then the other worktrees' HEADs). */
export async function startPoints(ctx: RevListContext, args: readonly string[]): Promise<StartPoint[]> {
  const out: StartPoint[] = []
  let not = false
  let revs = 0
  const resolve = async (spec: string, neg: boolean): Promise<void> => {
    const oid = await resolveRevision(ctx, spec)
    const colon = spec.indexOf(':')
    const path = colon > 0 ? byteString(spec.slice(colon + 1).replace(/^\/+|\/+$/g, '')) : undefined
    out.push({ oid, name: spec, path, uninteresting: neg })
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    if (a === '--not') {
      not = !not
      continue
    }
    if (a === '--all') {
      revs++
      for (const r of await ctx.refs.list('refs/')) out.push({ oid: r.oid, name: r.name, uninteresting: not })
      const head = await ctx.refs.resolve('HEAD').catch(() => undefined)
      if (head !== undefined) out.push({ oid: head, name: 'HEAD', uninteresting: not })
      for (const w of await ctx.refs.otherWorktreeHeads()) out.push({ oid: w.oid, name: w.name, uninteresting: not })
      continue
    }
    if (a === '--') {
      if (i < args.length - 1) throw new PathLimitingError('rev-list', args.slice(i + 1))
      break
    }
    if (a.startsWith('-')) throw new UsageError(`unknown option '${a}'`)
    revs++
    const dots = a.indexOf('..')
    if (dots >= 0 && !a.includes('...') && a.indexOf(':') < 0) {
      const left = a.slice(0, dots) || 'HEAD'
      const right = a.slice(dots + 2) || 'HEAD'
      await resolve(left, !not)
      await resolve(right, not)
      continue
    }
    if (a.includes('...') && a.indexOf(':') < 0) throw new UsageError(`symmetric difference '${a}' is not supported`)
    if (a.startsWith('^')) await resolve(a.slice(1), !not)
    else await resolve(a, not)
  }
  if (revs === 0) throw new UsageError('usage: tsgit rev-list [<options>] <commit>... [--not <commit>...]')
  return out
}

/**
 * The order in which git 2.39 prints the ids of a khash oidset (the `?<oid>` lines):
 * buckets indexed by the first four bytes of the id read as a little-endian number,
 * quadratic probing, doubling at 77% load with the same re-insertion order. rev-list
 * sizes its set for 16384 ids up front. Replaying the inserts gives byte-identical output.
 */
export function khashOrder(oids: readonly Oid[], initialBuckets = 16384): Oid[] {
  let n = 0
  let keys: (Oid | undefined)[] = []
  let size = 0
  let upper = 0
  const hashOf = (oid: Oid): number => Buffer.from(oid.slice(0, 8), 'hex').readUInt32LE(0)
  const resize = (want: number): void => {
    let nb = 4
    while (nb < want) nb *= 2
    if (size >= Math.floor(nb * 0.77 + 0.5)) return
    const oldKeys = keys
    const oldN = n
    const newKeys: (Oid | undefined)[] = new Array<Oid | undefined>(nb).fill(undefined)
    const mask = nb - 1
    // Rehashing kicks a key out of a slot that is still occupied by an old key; moving
    // keys in old-slot order through the new table reproduces where each ends up.
    const occupied: boolean[] = oldKeys.map((k) => k !== undefined)
    const filled = new Array<boolean>(nb).fill(false)
    const work = oldKeys.slice()
    for (let j = 0; j < oldN; j++) {
      if (!occupied[j]) continue
      let key = work[j] as Oid
      occupied[j] = false
      for (;;) {
        let i = hashOf(key) & mask
        let step = 0
        while (filled[i]) i = (i + ++step) & mask
        filled[i] = true
        if (i < oldN && occupied[i]) {
          const kicked = work[i] as Oid
          work[i] = key
          newKeys[i] = key
          occupied[i] = false
          key = kicked
          continue
        }
        newKeys[i] = key
        break
      }
    }
    keys = newKeys
    n = nb
    upper = Math.floor(nb * 0.77 + 0.5)
  }
  if (initialBuckets > 0) resize(initialBuckets)
  for (const oid of oids) {
    if (size >= upper) resize(n > (size << 1) ? n - 1 : n + 1)
    const mask = n - 1
    let i = hashOf(oid) & mask
    let step = 0
    let dup = false
    while (keys[i] !== undefined) {
      if (keys[i] === oid) {
        dup = true
        break
      }
      i = (i + ++step) & mask
    }
    if (dup) continue
    keys[i] = oid
    size++
  }
  return keys.filter((k): k is Oid => k !== undefined)
}

/** Runs rev-list; output goes through options.write. */
export async function revList(ctx: RevListContext, options: RevListOptions): Promise<void> {
  const objects = options.objects === true
  const missing = options.missing ?? 'error'
  const names = options.objectNames !== false
  const counting = options.count === true
  let counted = 0
  const store = ctx.store
  // Only --missing=error may fetch: the other modes exist to look at what a partial clone lacks.
  const fetch = missing === 'error' && store.canFetch
  const starts = await startPoints(ctx, options.args)
  const walk = new RevWalk({ store, fetch }, { objects })
  for (const s of starts) await walk.add(s)
  let buf: string[] = []
  let bytes = 0
  // A promise only when a chunk goes out: most lines need no await at all.
  const out = (line: string): void | Promise<void> => {
    buf.push(line)
    bytes += line.length
    if (bytes < 65536) return
    const chunk = buf.join('')
    buf = []
    bytes = 0
    return options.write(chunk)
  }
  // Like git, whatever was printed before a fatal error still reaches the output.
  try {
    for (let c = await walk.next(); c; c = await walk.next()) {
      if (counting) counted++
      else await out(`${c.oid}\n`)
    }
    if (objects) {
      if (fetch) {
        await prefetchReachable(
          store,
          walk.pending.map((p) => ({ oid: p.oid, type: p.type, referrer: p.referrer })),
          walk.uninteresting,
        )
      }
      const missingIds: Oid[] = []
      for await (const o of enumerateObjects(store, walk.pending, walk.uninteresting)) {
        if (o.present && counting) {
          counted++
          continue
        }
        if (o.present) {
          // git cuts a name at its first newline so the output stays one object per line.
          const nl = names ? o.name.indexOf('\n') : -1
          const w = out(names ? `${o.oid} ${nl < 0 ? o.name : o.name.slice(0, nl)}\n` : `${o.oid}\n`)
          if (w) await w
          continue
        }
        const kind = o.type
        if (missing === 'error') {
          throw new RevListMissingError(o.oid, kind === 'tree' ? `bad tree object ${o.oid}` : `missing ${kind} object '${o.oid}'`)
        }
        if (missing === 'allow-promisor' && !(await store.isPromisorObject(o.oid, o.referrer))) {
          throw new RevListMissingError(o.oid, `unexpected missing ${kind} object '${o.oid}'`)
        }
        if (missing === 'print') missingIds.push(o.oid)
      }
      for (const oid of khashOrder(missingIds)) await out(`?${oid}\n`)
    }
    if (counting) await out(`${counted}\n`)
  } finally {
    if (buf.length > 0) await options.write(buf.join(''))
  }
}
