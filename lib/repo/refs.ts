/**
 * The files ref backend as git 2.39 lays it out: loose refs under the git dir,
 * `packed-refs` (loose wins over packed), symrefs as `ref: <target>`, every
 * write through `<ref>.lock`, and reflogs under `logs/`. Names are ref-name.ts's,
 * the packed-refs format packed-refs.ts's, transactions ref-transaction.ts's.
 */
import { mkdir, open, readFile, rmdir, appendFile, stat, type FileHandle } from 'node:fs/promises'
import { dirname, join, resolve as resolvePath } from 'node:path'
import { RefError, isNotFound } from '../errors.js'
import { NULL_OID, isOid, type Oid } from '../oid.js'
import { LockFile } from './lock.js'
import { formatPackedRefs, parsePackedRefs, type PackedRef } from './packed-refs.js'
import { assertValidRefName, compareRefNames, isPerWorktreeRef, isValidRefName } from './ref-name.js'
import { RefTransaction } from './ref-transaction.js'
import { worktreeHeads } from './worktrees.js'
import { namesIn } from '../files.js'

// Importers keep taking these from here, where they lived before their parts had modules of their own.
export { isValidRefName, type CheckRefFormatOptions } from './ref-name.js'
export type { PackedRef } from './packed-refs.js'
export type { RefTransaction } from './ref-transaction.js'

/** git gives up after this many symref hops (SYMREF_MAXDEPTH). */
const SYMREF_MAX_DEPTH = 5
/** A loose ref is one line; anything bigger is not a ref we wrote or git wrote. */
const MAX_LOOSE_REF_SIZE = 4096

export interface RefEntry {
  name: string
  oid: Oid
  peeled?: Oid
  /** Set when the ref itself is a symref (e.g. refs/remotes/origin/HEAD). */
  symref?: string
}

export interface RefIdent {
  name: string
  email: string
  /** Seconds since the epoch. */
  timestamp: number
  /** `+hhmm` / `-hhmm`. */
  tz: string
}

export interface ReflogOptions {
  ident: RefIdent
  message: string
}

export type LogAllRefUpdates = boolean | 'always'

export interface RefStoreOptions {
  /** core.logAllRefUpdates: true for non-bare repositories by default. */
  logAllRefUpdates?: LogAllRefUpdates
  /**
   * A linked worktree's common directory (`git worktree add`): refs, packed-refs and
   * their logs live there; HEAD and the other per-worktree refs stay in gitDir.
   */
  commonDir?: string
}

type LooseRef = { kind: 'oid'; oid: Oid } | { kind: 'symref'; target: string }

function parseLoose(content: string, name: string): LooseRef {
  if (content.startsWith('ref:')) {
    const target = content.slice(4).trim()
    if (target.length === 0) throw new RefError(`invalid symref in '${name}'`)
    return { kind: 'symref', target }
  }
  const oid = content.slice(0, 40)
  const rest = content.slice(40)
  if (!isOid(oid) || (rest.length > 0 && !/^\s/.test(rest))) throw new RefError(`cannot read ref '${name}': invalid content`)
  return { kind: 'oid', oid }
}

/** git's reflog message normalisation: whitespace runs become one space, ends trimmed. */
function normaliseReflogMessage(message: string): string {
  return message.split(/[ \t\n\r]+/).filter((s) => s.length > 0).join(' ')
}

export function formatReflogLine(oldOid: Oid, newOid: Oid, ident: RefIdent, message: string): string {
  const msg = normaliseReflogMessage(message)
  return `${oldOid} ${newOid} ${ident.name} <${ident.email}> ${ident.timestamp} ${ident.tz}${msg.length > 0 ? `\t${msg}` : ''}\n`
}

export class RefStore {
  readonly gitDir: string
  /** Where shared refs and packed-refs live: gitDir, except in a linked worktree. */
  readonly commonDir: string
  private readonly logAll: LogAllRefUpdates
  /** The packed refs last parsed, and the file's identity then (readPackedRefs). */
  private packedCache: { key: string; refs: readonly PackedRef[] } | undefined

  constructor(gitDir: string, options: RefStoreOptions = {}) {
    this.gitDir = gitDir
    this.commonDir = options.commonDir ?? gitDir
    this.logAll = options.logAllRefUpdates ?? false
  }

  /** The directory a ref's file (and its log, under logs/) lives in. */
  private dirOf(name: string): string {
    return this.commonDir !== this.gitDir && isPerWorktreeRef(name) ? this.gitDir : this.commonDir
  }

  /** @internal the loose file of a ref */
  path(name: string): string {
    return join(this.dirOf(name), name)
  }

  /** @internal the reflog of a ref */
  logPath(name: string): string {
    return join(this.dirOf(name), 'logs', name)
  }

  /** @internal */
  get packedRefsPath(): string {
    return join(this.commonDir, 'packed-refs')
  }

  private async readLoose(name: string): Promise<LooseRef | undefined> {
    let content: Buffer
    try {
      const p = this.path(name)
      const st = await stat(p)
      if (st.isDirectory()) return undefined
      if (st.size > MAX_LOOSE_REF_SIZE) throw new RefError(`cannot read ref '${name}': file too large`)
      content = await readFile(p)
    } catch (e) {
      if (isNotFound(e)) return undefined
      throw e
    }
    return parseLoose(content.toString('utf8'), name)
  }

  /**
   * The packed refs, parsed again only when the file changed (its inode, size, mtime or
   * ctime: it is only ever replaced by a rename), so that resolving ref after ref does
   * not parse a thousand tags each time.
   */
  async readPackedRefs(): Promise<PackedRef[]> {
    let handle: FileHandle
    try {
      handle = await open(this.packedRefsPath, 'r')
    } catch (e) {
      if (isNotFound(e)) {
        this.packedCache = undefined
        return []
      }
      throw e
    }
    try {
      const st = await handle.stat({ bigint: true })
      const key = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`
      if (this.packedCache?.key !== key) this.packedCache = { key, refs: parsePackedRefs(await handle.readFile('utf8')) }
      return this.packedCache.refs.slice()
    } finally {
      await handle.close()
    }
  }

  /** The target of a symref, or undefined when `name` is absent or not a symref. */
  async readSymref(name: string): Promise<string | undefined> {
    const loose = await this.readLoose(name)
    return loose?.kind === 'symref' ? loose.target : undefined
  }

  /** Follows symrefs to the ref that holds an object id; returns its name (which may not exist yet). */
  async resolveName(name: string): Promise<string> {
    let current = name
    for (let depth = 0; depth <= SYMREF_MAX_DEPTH; depth++) {
      const loose = await this.readLoose(current)
      if (loose?.kind !== 'symref') return current
      current = loose.target
    }
    throw new RefError(`symref chain too deep at '${name}'`)
  }

  /** The object id `name` points to, following symrefs; undefined when it does not exist. */
  async resolve(name: string): Promise<Oid | undefined> {
    const target = await this.resolveName(name)
    const loose = await this.readLoose(target)
    if (loose?.kind === 'oid') return loose.oid
    return (await this.readPackedRefs()).find((r) => r.name === target)?.oid
  }

  private async walkLoose(dir: string, prefix: string, out: string[]): Promise<void> {
    const names = await namesIn(dir)
    for (const n of names) {
      const full = join(dir, n)
      const st = await stat(full)
      const refName = `${prefix}${n}`
      if (st.isDirectory()) await this.walkLoose(full, `${refName}/`, out)
      else if (isValidRefName(refName)) out.push(refName)
    }
  }

  /** Every ref under `prefix` (default `refs/`), loose overriding packed, sorted like git. */
  async list(prefix = 'refs/'): Promise<RefEntry[]> {
    const byName = new Map<string, RefEntry>()
    for (const p of await this.readPackedRefs()) {
      if (p.name.startsWith(prefix)) byName.set(p.name, { ...p })
    }
    const loose: string[] = []
    await this.walkLoose(join(this.commonDir, 'refs'), 'refs/', loose)
    if (this.commonDir !== this.gitDir) {
      // a linked worktree: its own refs/bisect, refs/worktree, refs/rewritten (and none of the main one's)
      const own: string[] = []
      await this.walkLoose(join(this.gitDir, 'refs'), 'refs/', own)
      const shared = loose.filter((n) => !isPerWorktreeRef(n))
      loose.length = 0
      loose.push(...shared, ...own.filter(isPerWorktreeRef))
    }
    for (const name of loose) {
      if (!name.startsWith(prefix)) continue
      const ref = await this.readLoose(name)
      if (ref === undefined) continue
      if (ref.kind === 'oid') {
        byName.set(name, { name, oid: ref.oid })
        continue
      }
      const oid = await this.resolve(name)
      if (oid === undefined) byName.delete(name)
      else byName.set(name, { name, oid, symref: ref.target })
    }
    return [...byName.values()].sort((a, b) => compareRefNames(a.name, b.name))
  }

  /**
   * The HEADs of the repository's other worktrees, resolved (git's other_head_refs,
   * which `--all` and fsck add): the main worktree's when this is a linked one, and
   * every linked one's but this one's. A HEAD that does not resolve is left out.
   */
  async otherWorktreeHeads(): Promise<{ name: string; oid: Oid }[]> {
    const self = resolvePath(this.gitDir)
    const out: { name: string; oid: Oid }[] = []
    for (const wt of await worktreeHeads(this.commonDir, false)) {
      if (wt.gitDir === self) continue
      const oid = wt.detached ?? (wt.symref === undefined ? undefined : await this.resolve(wt.symref))
      if (oid !== undefined) out.push({ name: wt.headName, oid })
    }
    return out
  }

  /** Replaces packed-refs with exactly these refs, in git's format and order. */
  async writePackedRefs(refs: readonly PackedRef[]): Promise<void> {
    const text = formatPackedRefs(refs)
    const lock = await LockFile.acquire(this.packedRefsPath)
    try {
      await lock.write(text)
      await lock.commit()
    } finally {
      await lock.rollback()
    }
  }

  /** Points `name` at `target` (`ref: <target>\n`), e.g. HEAD at refs/heads/main. */
  async setSymref(name: string, target: string, reflog?: ReflogOptions): Promise<void> {
    assertValidRefName(name)
    if (!isValidRefName(target)) throw new RefError(`refusing to point '${name}' at bad ref name '${target}'`)
    const p = this.path(name)
    await mkdir(dirname(p), { recursive: true })
    const old = reflog === undefined ? undefined : await this.resolve(name)
    const lock = await LockFile.acquire(p)
    try {
      await lock.write(`ref: ${target}\n`)
      await lock.commit()
    } finally {
      await lock.rollback()
    }
    if (reflog !== undefined) {
      const now = await this.resolve(target)
      if (now !== undefined && now !== old) await this.appendReflog(name, old ?? NULL_OID, now, reflog.ident, reflog.message)
    }
  }

  /** Whether an update of `name` gets a reflog entry under core.logAllRefUpdates. */
  async shouldLog(name: string): Promise<boolean> {
    if (this.logAll === 'always') return true
    if (this.logAll && (name === 'HEAD' || /^refs\/(heads|remotes|notes)\//.test(name))) return true
    try {
      await stat(this.logPath(name))
      return true
    } catch (e) {
      if (isNotFound(e)) return false
      throw e
    }
  }

  /** Appends one reflog line if core.logAllRefUpdates (or an existing log) calls for it. */
  async appendReflog(name: string, oldOid: Oid, newOid: Oid, ident: RefIdent, message: string): Promise<void> {
    if (!(await this.shouldLog(name))) return
    const p = this.logPath(name)
    await mkdir(dirname(p), { recursive: true })
    await appendFile(p, formatReflogLine(oldOid, newOid, ident, message))
  }

  transaction(): RefTransaction {
    return new RefTransaction(this)
  }

  /** @internal used by RefTransaction */
  async lockRef(name: string): Promise<LockFile> {
    const p = this.path(name)
    try {
      await mkdir(dirname(p), { recursive: true })
    } catch (e) {
      throw new RefError(`cannot lock ref '${name}': ${e instanceof Error ? e.message : String(e)}`, { cause: e })
    }
    try {
      return await LockFile.acquire(p)
    } catch (e) {
      throw new RefError(`cannot lock ref '${name}': ${e instanceof Error ? e.message : String(e)}`, { cause: e })
    }
  }

  /** @internal removes now-empty directories left by a deleted loose ref, as git does. */
  async pruneEmptyParents(name: string): Promise<void> {
    // like git, spare refs/ and its immediate subdirectories (refs/heads, refs/tags)
    const parts = name.split('/')
    for (let n = parts.length - 1; n > 2; n--) {
      try {
        await rmdir(join(this.dirOf(name), ...parts.slice(0, n)))
      } catch {
        return
      }
    }
  }
}
