/**
 * Ref transactions of the files backend: RefStore (refs.ts) hands over its paths,
 * locks and reflogs; the transaction decides the order and when it is all or nothing.
 */
import { unlink } from 'node:fs/promises'
import { RefError, isNotFound } from '../errors.js'
import { NULL_OID, isOid, type Oid } from '../oid.js'
import { LockFile } from './lock.js'
import { formatPackedRefs } from './packed-refs.js'
import { assertValidRefName, compareRefNames } from './ref-name.js'
import type { RefStore, ReflogOptions } from './refs.js'

interface PendingUpdate {
  name: string
  newOid: Oid | null
  oldOid?: Oid
  reflog?: ReflogOptions
  /** Update `name` itself even if it is a symref (a detached HEAD). */
  noDeref?: boolean
}

/**
 * All-or-nothing ref updates: every touched ref is locked, expected old values
 * are checked under the locks, then all are renamed into place; any failure
 * before that point releases every lock and leaves every ref as it was.
 */
export class RefTransaction {
  private readonly updates: PendingUpdate[] = []
  private done = false

  constructor(private readonly store: RefStore) {}

  /** Sets `name` to `newOid`; with `oldOid`, only if it currently has that value (NULL_OID: must not exist). */
  update(name: string, newOid: Oid, options: { oldOid?: Oid; reflog?: ReflogOptions; noDeref?: boolean } = {}): this {
    if (!isOid(newOid)) throw new RefError(`invalid object id '${newOid}' for '${name}'`)
    return this.queue({ name, newOid, ...options })
  }

  /** Deletes `name` (loose and packed); with `oldOid`, only if it currently has that value. */
  delete(name: string, options: { oldOid?: Oid } = {}): this {
    return this.queue({ name, newOid: null, ...options })
  }

  /** Creates `name`, failing if it exists. */
  create(name: string, newOid: Oid, options: { reflog?: ReflogOptions } = {}): this {
    return this.update(name, newOid, { ...options, oldOid: NULL_OID })
  }

  private queue(u: PendingUpdate): this {
    if (this.done) throw new RefError('transaction already finished')
    assertValidRefName(u.name)
    if (u.oldOid !== undefined && !isOid(u.oldOid)) throw new RefError(`invalid object id '${u.oldOid}' for '${u.name}'`)
    this.updates.push(u)
    return this
  }

  async commit(): Promise<void> {
    if (this.done) throw new RefError('transaction already finished')
    this.done = true
    const store = this.store
    // updates through a symref (HEAD) land on the ref it points to, as in git
    const resolved: (PendingUpdate & { target: string; before: Oid | undefined })[] = []
    const seen = new Set<string>()
    for (const u of this.updates) {
      const target = u.newOid === null || u.noDeref === true ? u.name : await store.resolveName(u.name)
      assertValidRefName(target)
      if (seen.has(target)) throw new RefError(`multiple updates for ref '${target}' not allowed`)
      seen.add(target)
      resolved.push({ ...u, target, before: undefined })
    }
    resolved.sort((a, b) => compareRefNames(a.target, b.target))

    const locks: LockFile[] = []
    let packedLock: LockFile | undefined
    try {
      for (const u of resolved) locks.push(await store.lockRef(u.target))
      for (const u of resolved) {
        u.before = await store.resolve(u.target)
        if (u.oldOid === undefined) continue
        const expected = u.oldOid === NULL_OID ? undefined : u.oldOid
        if (u.before !== expected) {
          throw new RefError(
            expected === undefined
              ? `cannot lock ref '${u.name}': reference already exists`
              : u.before === undefined
                ? `cannot lock ref '${u.name}': unable to resolve reference '${u.target}'`
                : `cannot lock ref '${u.name}': is at ${u.before} but expected ${expected}`,
          )
        }
      }
      const deletions = new Set(resolved.filter((u) => u.newOid === null).map((u) => u.target))
      if (deletions.size > 0) {
        const packed = await store.readPackedRefs()
        if (packed.some((p) => deletions.has(p.name))) {
          packedLock = await LockFile.acquire(store.packedRefsPath)
          const fresh = await store.readPackedRefs()
          await packedLock.write(formatPackedRefs(fresh.filter((p) => !deletions.has(p.name))))
        }
      }
      for (let i = 0; i < resolved.length; i++) {
        const u = resolved[i] as (typeof resolved)[number]
        if (u.newOid !== null) await (locks[i] as LockFile).write(`${u.newOid}\n`)
      }
    } catch (e) {
      await packedLock?.rollback()
      for (const l of locks) await l.rollback()
      throw e
    }

    // Past this point each step is a rename or an unlink; git's files backend has the same window.
    if (packedLock !== undefined) await packedLock.commit()
    for (let i = 0; i < resolved.length; i++) {
      const u = resolved[i] as (typeof resolved)[number]
      const lock = locks[i] as LockFile
      if (u.newOid === null) {
        try {
          await unlink(store.path(u.target))
        } catch (e) {
          if (!isNotFound(e)) throw e
        }
        await lock.rollback()
        try {
          await unlink(store.logPath(u.target))
        } catch (e) {
          if (!isNotFound(e)) throw e
        }
        await store.pruneEmptyParents(u.target)
        continue
      }
      await lock.commit()
      if (u.reflog !== undefined) {
        await store.appendReflog(u.target, u.before ?? NULL_OID, u.newOid, u.reflog.ident, u.reflog.message)
        if (u.target !== u.name) await store.appendReflog(u.name, u.before ?? NULL_OID, u.newOid, u.reflog.ident, u.reflog.message)
      }
    }
  }

  /** Drops the queued updates; nothing was locked yet, so nothing to release. */
  abort(): void {
    this.done = true
  }
}
