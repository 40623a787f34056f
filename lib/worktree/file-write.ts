/**
 * Creating one file of a checkout: never overwriting, never following a symlink, and
 * returning the index entry with the stat data of what was written. Synchronous on
 * purpose: for the many small files of a checkout, a direct open/write/fstat/close is
 * several times cheaper than four thread-pool round trips.
 */
import { closeSync, fstatSync, openSync, unlinkSync, writeSync, type BigIntStats } from 'node:fs'
import { MODE_EXECUTABLE } from '../odb/objects.js'
import type { PlanEntry } from './checkout.js'
import { statFields, type IndexEntry } from './index-file.js'

/** Writes the whole of `data` to `fd`. */
export function writeAll(fd: number, data: Buffer): void {
  let off = 0
  while (off < data.length) off += writeSync(fd, data, off, data.length - off)
}

/**
 * Creates `full` (it must not exist), lets `fill` write it, and returns its stat data.
 * A file that could not be written whole is removed: it is ours (O_EXCL made it).
 */
export function writeExclusive(full: string, mode: number, fill: (fd: number) => void): BigIntStats {
  const fd = openSync(full, 'wx', mode)
  let st: BigIntStats
  try {
    fill(fd)
    st = fstatSync(fd, { bigint: true })
  } catch (e) {
    closeSync(fd)
    try {
      unlinkSync(full)
    } catch {
      // the error that matters is the write's
    }
    throw e
  }
  closeSync(fd)
  return st
}

/** An index entry for `e` with the stat data of what was written for it. */
export function indexEntryOf(e: PlanEntry, st: BigIntStats): IndexEntry {
  const f = statFields(st)
  // Spelled out rather than spread: a spread literal this wide became a dictionary-mode
  // object (~600 bytes each, kept for every file until the index is written).
  return {
    ctimeSec: f.ctimeSec, ctimeNsec: f.ctimeNsec, mtimeSec: f.mtimeSec, mtimeNsec: f.mtimeNsec,
    dev: f.dev, ino: f.ino, mode: e.mode, uid: f.uid, gid: f.gid, size: f.size,
    oid: e.oid, stage: 0, assumeValid: false, skipWorktree: false, intentToAdd: false, path: e.path,
  }
}

/**
 * Writes a regular file (MODE_BLOB or MODE_EXECUTABLE) holding `data` at a path where
 * nothing exists (its parent directory must exist) and returns its index entry.
 */
export function writeFileEntry(workTree: string, e: PlanEntry, data: Buffer): IndexEntry {
  // Joined by hand: a planned path has been checked (no empty, `.` or `..` part), and
  // path.join's normalizing, for every file, made garbage in the megabytes.
  const full = workTree.endsWith('/') ? workTree + e.path : `${workTree}/${e.path}`
  return indexEntryOf(e, writeExclusive(full, e.mode === MODE_EXECUTABLE ? 0o777 : 0o666, (fd) => writeAll(fd, data)))
}

