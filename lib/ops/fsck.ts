/**
 * fsck: everything reachable from the refs, HEAD and the index must be present and
 * well-formed; without connectivityOnly every object read is re-hashed and every loose
 * object is checked against its name. In a partial clone a missing promisor object is
 * fine. Nothing is ever fetched (tryRead only). Messages and exit bits follow git 2.39:
 * 1 a bad object, 2 a missing reachable object, 8 a bad ref.
 */
import { readdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { ObjectFormatError, PackError, isNotFound } from '../errors.js'
import { MODE_GITLINK, MODE_TREE, hashObject, parseCommitLinks, parseTag, parseTree } from '../odb/objects.js'
import type { ObjectStore } from '../odb/store.js'
import { ENTRY_GITLINK, ENTRY_TREE, scanTree } from '../odb/tree-scan.js'
import type { GitObject, ObjectType, Oid } from '../oid.js'
import type { RefStore } from '../repo/refs.js'
import type { Repository } from '../repo/repository.js'
import { worktreeHeads } from '../repo/worktrees.js'
import { RawOidSet } from '../rev/raw-oid-set.js'
import { readIndexFile } from '../worktree/index-file.js'
import type { RepoContext } from './repo-context.js'

export const FSCK_ERROR_OBJECT = 1
export const FSCK_ERROR_REACHABLE = 2
/** A pack failed verification (git's ERROR_PACK). */
export const FSCK_ERROR_PACK = 4
export const FSCK_ERROR_REFS = 8

export interface FsckContext {
  refs: RefStore
  store: ObjectStore
  gitDir: string
  /** The index file of every worktree (git fsck reads them all). */
  indexPaths?: string[]
}

export interface FsckOptions {
  connectivityOnly?: boolean
  /** A line for stdout (what git prints there: missing objects, broken links). */
  out(line: string): void
  /** A line for stderr (error: …). */
  err(line: string): void
  /** How a file path is shown (git shows it relative to where it runs). */
  showPath?(path: string): string
}

export interface FsckResult {
  /** git's exit status: an OR of the FSCK_ERROR_* bits. */
  exitCode: number
  /** Objects walked. */
  reachable: number
}

interface Work {
  oid: Oid
  type: ObjectType | undefined
  parent?: { oid: Oid; type: ObjectType }
}

const pad7 = (s: string): string => s.padStart(7, ' ')

function isHex38(name: string): boolean {
  return /^[0-9a-f]{38}$/.test(name)
}

/** The valid tree ids of an index's cache-tree extension, in file (pre-)order. */
export function cacheTreeOids(data: Buffer): Oid[] {
  const out: Oid[] = []
  let pos = 0
  while (pos < data.length) {
    const nul = data.indexOf(0, pos)
    if (nul < 0) break
    const lf = data.indexOf(0x0a, nul)
    if (lf < 0) break
    const m = /^(-?\d+) (\d+)$/.exec(data.toString('latin1', nul + 1, lf))
    if (!m) break
    pos = lf + 1
    if (Number(m[1]) >= 0) {
      if (pos + 20 > data.length) break
      out.push(data.toString('hex', pos, pos + 20))
      pos += 20
    }
  }
  return out
}

/** zlib's own words for why an entry would not inflate, when that is the cause. */
function zlibCause(e: Error): string | undefined {
  for (let c: unknown = e; c instanceof Error; c = c.cause) {
    if ((c as { code?: unknown }).code === 'Z_DATA_ERROR') return c.message
  }
  return undefined
}

export async function fsck(ctx: FsckContext, options: FsckOptions): Promise<FsckResult> {
  const { store } = ctx
  const show = options.showPath ?? ((p: string) => p)
  let exitCode = 0
  // Objects that exist on disk but are not what their name says: treated as missing afterwards.
  const bad = new Set<Oid>()
  // Pack entries that cannot be read, already reported by the pack check: as git, not reported again.
  const damaged = new Set<Oid>()

  if (!options.connectivityOnly) {
    // The packs as wholes (git's verify_pack): opening them checks only what lookups need.
    for (const pack of await store.packFiles()) {
      const problems = await pack.verify()
      if (problems === undefined) continue
      // git's words for a checksum that fails; a table fault under a good checksum (a crafted index) is named.
      if (problems.index === 'index checksum mismatch') options.err(`error: Packfile index for ${show(pack.path)} hash mismatch`)
      else if (problems.index !== undefined) options.err(`error: Packfile index for ${show(pack.path)} is corrupt: ${problems.index}`)
      if (problems.pack !== undefined) {
        options.err(`error: ${show(pack.path)} pack checksum mismatch`)
        // git's verify_pack goes on to name the entries whose CRC32 is wrong, and those it cannot read.
        for (const d of await pack.damagedEntries()) {
          options.err(`error: index CRC mismatch for object ${d.oid} from ${show(pack.path)} at offset ${d.offset}`)
          if (d.error === undefined) continue
          const zlib = zlibCause(d.error)
          options.err(zlib !== undefined ? `error: inflate: data stream error (${zlib})` : `error: ${d.error.message}`)
          if (d.deltaAt !== undefined) options.err(`error: failed to unpack compressed delta at offset ${d.deltaAt} from ${show(pack.path)}`)
          options.err(`error: cannot unpack ${d.oid} from ${show(pack.path)} at offset ${d.offset}`)
          damaged.add(d.oid)
        }
      }
      exitCode |= FSCK_ERROR_PACK
    }
    for (const dir of await readdir(store.objectsDir).catch((e: unknown) => (isNotFound(e) ? [] : Promise.reject(e)))) {
      if (!/^[0-9a-f]{2}$/.test(dir)) continue
      for (const name of await readdir(join(store.objectsDir, dir))) {
        if (!isHex38(name)) continue
        const oid = dir + name
        const path = join(store.objectsDir, dir, name)
        let obj: GitObject | undefined
        try {
          obj = await store.tryRead(oid)
        } catch (e) {
          if (!(e instanceof ObjectFormatError)) throw e
          options.err(`error: ${oid}: object corrupt or missing: ${show(path)}`)
          exitCode |= FSCK_ERROR_OBJECT
          bad.add(oid)
          continue
        }
        if (!obj) continue
        const real = hashObject(obj.type, obj.data)
        if (real !== oid) {
          options.err(`error: ${real}: hash-path mismatch, found at: ${show(path)}`)
          exitCode |= FSCK_ERROR_OBJECT
          bad.add(oid)
        }
      }
    }
  }

  // Raw ids: a walk meets every tree entry of the history, most of them seen before.
  const reachable = new RawOidSet(1 << 16)
  const missing: { oid: Oid; type: ObjectType | undefined }[] = []
  const queue: Work[] = []

  const present = async (oid: Oid): Promise<GitObject | undefined | 'damaged'> => {
    if (damaged.has(oid)) return 'damaged'
    if (bad.has(oid)) return undefined
    let obj: GitObject | undefined
    try {
      obj = await store.tryRead(oid)
    } catch (e) {
      if (e instanceof PackError) {
        // a damaged pack entry the pack check did not name (--connectivity-only makes none)
        options.err(`error: ${e.message}`)
        options.err(`error: ${oid}: object corrupt or missing`)
        exitCode |= FSCK_ERROR_OBJECT
        damaged.add(oid)
        return 'damaged'
      }
      if (!(e instanceof ObjectFormatError)) throw e
      options.err(`error: ${oid}: object corrupt or missing`)
      exitCode |= FSCK_ERROR_OBJECT
      bad.add(oid)
      return undefined
    }
    if (obj && !options.connectivityOnly && hashObject(obj.type, obj.data) !== oid) {
      options.err(`error: ${oid}: object corrupt or missing`)
      exitCode |= FSCK_ERROR_OBJECT
      bad.add(oid)
      return undefined
    }
    return obj
  }

  // Roots are all marked before any walking, so (like git) a link to an object that is
  // itself a root is not reported as broken.
  const root = async (oid: Oid, type: ObjectType | undefined, what: string | undefined): Promise<void> => {
    if (!reachable.addHex(oid)) return
    if (await store.has(oid)) {
      // The index's blobs, like any blob, are only checked for presence under --connectivity-only.
      if (!(type === 'blob' && options.connectivityOnly)) queue.push({ oid, type })
      return
    }
    if (await store.isPromisorObject(oid)) return
    if (what !== undefined) {
      options.err(`error: ${what}: invalid sha1 pointer ${oid}`)
      exitCode |= FSCK_ERROR_REFS
    } else {
      missing.push({ oid, type })
    }
  }
  for (const ref of await ctx.refs.list('refs/')) await root(ref.oid, undefined, ref.name)
  const head = await ctx.refs.resolve('HEAD').catch(() => undefined)
  if (head !== undefined) await root(head, undefined, 'HEAD')
  for (const w of await ctx.refs.otherWorktreeHeads()) await root(w.oid, undefined, w.name)
  for (const indexPath of ctx.indexPaths ?? []) {
    const index = await readIndexFile(indexPath)
    for (const e of index?.entries ?? []) if (e.mode !== MODE_GITLINK) await root(e.oid, 'blob', undefined)
    const tree = index?.extensions.find((x) => x.signature === 'TREE')
    for (const oid of tree ? cacheTreeOids(tree.data) : []) {
      if (reachable.hasHex(oid)) continue
      if (bad.has(oid) || !(await store.has(oid))) {
        if (await store.isPromisorObject(oid)) continue
        options.err(`error: ${oid}: invalid sha1 pointer in cache-tree`)
        exitCode |= FSCK_ERROR_REFS
        continue
      }
      reachable.addHex(oid)
      queue.push({ oid, type: 'tree' })
    }
  }

  /** An object just marked reachable, linked to from `parent`: present (walked, unless a blob git would not read), a promisor object, or broken. */
  const follow = async (oid: Oid, type: ObjectType, parent: { oid: Oid; type: ObjectType }): Promise<void> => {
    if (bad.has(oid) || !(await store.has(oid))) {
      if (!bad.has(oid) && (await store.isPromisorObject(oid, parent.oid))) return
      options.out(`broken link from ${pad7(parent.type)} ${parent.oid}\n              to ${pad7(type)} ${oid}`)
      exitCode |= FSCK_ERROR_REACHABLE
      missing.push({ oid, type })
      return
    }
    // --connectivity-only checks that blobs exist without reading them, as git does.
    if (type === 'blob' && options.connectivityOnly) return
    queue.push({ oid, type, parent })
  }

  const link = async (oid: Oid, type: ObjectType, parent: { oid: Oid; type: ObjectType }): Promise<void> => {
    if (reachable.addHex(oid)) await follow(oid, type, parent)
  }

  /**
   * A tree's links under --connectivity-only, from its raw bytes: an entry already seen
   * costs no hex id, a present one no promise. A missing entry is fine when the tree is in
   * a promisor pack (asked once per tree), as isPromisorObject would answer for it.
   */
  const linkTreeEntries = async (data: Buffer, self: { oid: Oid; type: ObjectType }): Promise<void> => {
    const entries = scanTree(data)
    let promisorTree: boolean | undefined
    for (let i = 0; i < entries.length; i += 3) {
      const kind = entries[i] as number
      if (kind === ENTRY_GITLINK) continue
      const at = (entries[i + 2] as number) + 1
      if (!reachable.add(data, at)) continue
      const type = kind === ENTRY_TREE ? 'tree' : 'blob'
      const oid = bad.size === 0 && kind !== ENTRY_TREE ? undefined : data.toString('hex', at, at + 20)
      if (store.hasCachedBytes(data, at) && (oid === undefined || !bad.has(oid))) {
        if (oid !== undefined && kind === ENTRY_TREE) queue.push({ oid, type, parent: self })
        continue
      }
      // A blob not in this view of the packs: present after all (a pack that appeared since) or promised, both fine.
      if (kind !== ENTRY_TREE && (promisorTree ??= await store.inPromisorPack(self.oid))) continue
      await follow(oid ?? data.toString('hex', at, at + 20), type, self)
    }
  }

  for (let w = queue.pop(); w; w = queue.pop()) {
    const obj = await present(w.oid)
    if (obj === 'damaged') continue
    if (!obj) {
      missing.push({ oid: w.oid, type: w.type })
      continue
    }
    const self = { oid: w.oid, type: obj.type }
    try {
      if (obj.type === 'commit') {
        const c = parseCommitLinks(obj.data)
        await link(c.tree, 'tree', self)
        for (const p of store.parentsOf(w.oid, c.parents)) await link(p, 'commit', self)
      } else if (obj.type === 'tree' && options.connectivityOnly) {
        await linkTreeEntries(obj.data, self)
      } else if (obj.type === 'tree') {
        for (const e of parseTree(obj.data)) {
          if (e.mode === MODE_GITLINK) continue
          await link(e.oid, e.mode === MODE_TREE ? 'tree' : 'blob', self)
        }
      } else if (obj.type === 'tag') {
        const t = parseTag(obj.data)
        await link(t.object, t.type, self)
      }
    } catch (e) {
      if (!(e instanceof ObjectFormatError)) throw e
      options.err(`error: object ${w.oid}: ${e.message}`)
      exitCode |= FSCK_ERROR_OBJECT
    }
  }

  // git lists these from its object hash table; sorted by id is the stable approximation.
  const seen = new Set<Oid>()
  for (const m of missing.sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0))) {
    if (seen.has(m.oid)) continue
    seen.add(m.oid)
    options.out(`missing ${m.type ?? 'unknown'} ${m.oid}`)
    exitCode |= FSCK_ERROR_REACHABLE
  }
  return { exitCode, reachable: reachable.size }
}

/** The index of this worktree (unless bare) and of every other one: git fsck reads them all. */
export async function worktreeIndexPaths(repo: Repository): Promise<string[]> {
  const paths = repo.bare ? [] : [resolve(repo.gitDir, 'index')]
  for (const wt of await worktreeHeads(repo.commonDir, repo.config.getBool('core.bare', false))) {
    const p = join(wt.gitDir, 'index')
    if (!paths.includes(p)) paths.push(p)
  }
  return paths
}

/** `tsgit fsck`: fsck of the opened repository, its refs, its store and every worktree's index. */
export async function fsckRepository(rc: Pick<RepoContext, 'repo' | 'store'>, options: FsckOptions): Promise<FsckResult> {
  return fsck({ refs: rc.repo.refs, store: rc.store, gitDir: rc.repo.gitDir, indexPaths: await worktreeIndexPaths(rc.repo) }, options)
}
