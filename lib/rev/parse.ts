/**
 * Revision names as git reads them (gitrevisions(7)), the part scripts use: full and
 * abbreviated object ids, ref names with git's DWIM rules, `@`, `^`, `^N`, `~N`,
 * `^{type}`, `^{}` and `<rev>:<path>`. Objects are read through the store, so a
 * partial clone fetches what a name needs.
 */
import { TsgitError } from '../errors.js'
import { parseCommit, parseTag, parseTree, MODE_TREE } from '../odb/objects.js'
import type { ObjectStore } from '../odb/store.js'
import { isOid, type ObjectType, type Oid } from '../oid.js'
import type { RefStore } from '../repo/refs.js'

export class RevisionError extends TsgitError {
  readonly spec: string
  constructor(spec: string, message: string) {
    super('E_BAD_REVISION', message)
    this.spec = spec
  }
}

export interface RevContext {
  refs: RefStore
  store: ObjectStore
}

/** The ref names `name` may mean, in git's order of preference. */
export function dwimRefNames(name: string): string[] {
  return [name, `refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`, `refs/remotes/${name}`, `refs/remotes/${name}/HEAD`]
}

/** Resolves a ref-ish name (no suffixes) to the full ref name and its id, or undefined. */
export async function dwimRef(refs: RefStore, name: string): Promise<{ ref: string; oid: Oid } | undefined> {
  if (name === '@') name = 'HEAD'
  for (const candidate of dwimRefNames(name)) {
    // Only ALL-CAPS names are looked up directly under .git (HEAD, FETCH_HEAD, ORIG_HEAD…).
    if (!candidate.startsWith('refs/') && !/^[A-Z_]+$/.test(candidate)) continue
    let oid: Oid | undefined
    try {
      oid = await refs.resolve(candidate)
    } catch {
      continue
    }
    if (oid !== undefined) return { ref: candidate, oid }
  }
  return undefined
}

async function resolveBase(ctx: RevContext, base: string, spec: string): Promise<Oid> {
  if (isOid(base)) return base
  const ref = await dwimRef(ctx.refs, base)
  if (ref) return ref.oid
  if (/^[0-9a-f]{4,39}$/.test(base)) {
    const found = await ctx.store.findByPrefix(base)
    if (found.length === 1) return found[0] as Oid
    if (found.length > 1) throw new RevisionError(spec, `short object ID ${base} is ambiguous`)
  }
  throw new RevisionError(spec, `ambiguous argument '${spec}': unknown revision or path not in the working tree.`)
}

async function typeOf(ctx: RevContext, oid: Oid): Promise<{ type: ObjectType; data: Buffer }> {
  return ctx.store.read(oid)
}

/** Peels tags until an object of `want` is reached (or any non-tag for undefined). */
export async function peel(ctx: RevContext, oid: Oid, want: ObjectType | undefined, spec: string): Promise<Oid> {
  let cur = oid
  for (let depth = 0; depth < 64; depth++) {
    const obj = await typeOf(ctx, cur)
    if (want !== undefined && obj.type === want) return cur
    if (obj.type === 'tag') {
      cur = parseTag(obj.data).object
      continue
    }
    if (want === undefined) return cur
    // a commit peels to its tree, as in git (so ^{blob} of a commit is refused as a tree)
    if (obj.type === 'commit') {
      cur = parseCommit(obj.data).tree
      continue
    }
    throw new RevisionError(spec, `${spec}: expected ${want} type, but the object dereferences to ${obj.type} type`)
  }
  throw new RevisionError(spec, `${spec}: tag chain too deep`)
}

/** Looks `path` up in the tree of `treeish`. */
export async function lookupPath(ctx: RevContext, treeish: Oid, path: string, spec: string): Promise<Oid> {
  let cur = await peel(ctx, treeish, 'tree', spec)
  const parts = path.split('/').filter((p) => p !== '')
  for (let i = 0; i < parts.length; i++) {
    const entries = parseTree((await ctx.store.read(cur)).data, { strictNames: false })
    const e = entries.find((x) => x.name === parts[i])
    if (!e) throw new RevisionError(spec, `path '${path}' does not exist in '${spec.slice(0, spec.lastIndexOf(':'))}'`)
    if (i < parts.length - 1 && e.mode !== MODE_TREE) throw new RevisionError(spec, `path '${path}' does not exist in '${spec.slice(0, spec.lastIndexOf(':'))}'`)
    cur = e.oid
  }
  return cur
}

const SUFFIX = /(\^\{[a-z]*\}|\^\d*|~\d*)$/

/** Resolves a revision to an object id; throws RevisionError when it names nothing. */
export async function resolveRevision(ctx: RevContext, spec: string): Promise<Oid> {
  const colon = spec.indexOf(':')
  if (colon > 0) {
    const base = await resolveRevision(ctx, spec.slice(0, colon))
    return lookupPath(ctx, base, spec.slice(colon + 1), spec)
  }
  if (colon === 0) throw new RevisionError(spec, `${spec}: index paths are not supported`)
  const suffixes: string[] = []
  let rest = spec
  for (;;) {
    const m = SUFFIX.exec(rest)
    if (!m || m.index === 0) break
    suffixes.unshift(m[1] as string)
    rest = rest.slice(0, m.index)
  }
  let oid = await resolveBase(ctx, rest, spec)
  for (const s of suffixes) {
    if (s.startsWith('^{')) {
      const t = s.slice(2, -1)
      if (t === '') oid = await peel(ctx, oid, undefined, spec)
      else if (t === 'object') await typeOf(ctx, oid)
      else if (t === 'commit' || t === 'tree' || t === 'blob' || t === 'tag') oid = await peel(ctx, oid, t, spec)
      else throw new RevisionError(spec, `${spec}: unknown type '${t}'`)
    } else if (s.startsWith('^')) {
      const n = s.length === 1 ? 1 : Number(s.slice(1))
      const commit = await peel(ctx, oid, 'commit', spec)
      if (n === 0) {
        oid = commit
        continue
      }
      const parent = ctx.store.parentsOf(commit, parseCommit((await ctx.store.read(commit)).data).parents)[n - 1]
      if (parent === undefined) throw new RevisionError(spec, `ambiguous argument '${spec}': unknown revision or path not in the working tree.`)
      oid = parent
    } else {
      const n = s.length === 1 ? 1 : Number(s.slice(1))
      let commit = await peel(ctx, oid, 'commit', spec)
      for (let i = 0; i < n; i++) {
        const parent = ctx.store.parentsOf(commit, parseCommit((await ctx.store.read(commit)).data).parents)[0]
        if (parent === undefined) throw new RevisionError(spec, `ambiguous argument '${spec}': unknown revision or path not in the working tree.`)
        commit = parent
      }
      oid = commit
    }
  }
  return oid
}
