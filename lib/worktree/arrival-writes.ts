/**
 * Files written while the blobs they hold arrive. A checkout in a partial clone fetches
 * its blobs in one request; the server spends most of that request's time making and
 * sending the pack, and git writes no file before the whole pack is in. tsgit is told
 * of each blob as soon as it is inflated and hashed (ObjectObserver) and writes the
 * files that hold it there and then, so writing overlaps the transfer.
 *
 * Only where nothing is: a file is created with O_EXCL (never overwriting, never
 * following a symlink), in a directory that already exists. Whatever cannot be written
 * that way (something in the way, a symlink, a blob not told of) is left for the
 * checkout's own write loop after the fetch, which reports any error. The blob's id is
 * its content's hash, so what is written is what the tree names, whatever the rest of
 * the pack turns out to be. If the fetch fails, undo() removes every file written and
 * the work tree is as it was.
 */
import { lstatSync, mkdirSync, rmdirSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { MODE_BLOB, MODE_EXECUTABLE } from '../odb/objects.js'
import type { ObjectObserver, Oid } from '../oid.js'
import type { PlanEntry } from './checkout.js'
import { writeFileEntry } from './file-write.js'
import type { IndexEntry } from './index-file.js'

/** The directory holding `path` ('' for the top). */
function parentOf(path: string): string {
  const slash = path.lastIndexOf('/')
  return slash < 0 ? '' : path.slice(0, slash)
}

/**
 * Makes the directories the regular files of `entries` need that are not there yet
 * (below real directories only: nothing is made through a symlink or where a file is),
 * and returns the writer for the files that can then go in as their blobs arrive.
 */
export function startArrivals(workTree: string, entries: readonly PlanEntry[], signal?: AbortSignal): ArrivalWriter {
  const files = entries.filter((e) => e.mode === MODE_BLOB || e.mode === MODE_EXECUTABLE)
  const wanted = new Set<string>()
  for (const e of files) for (let d = parentOf(e.path); d !== '' && !wanted.has(d); d = parentOf(d)) wanted.add(d)
  const depth = (p: string): number => p.split('/').length
  const real = new Set<string>([''])
  const made: string[] = []
  for (const d of [...wanted].sort((a, b) => depth(a) - depth(b))) {
    if (!real.has(parentOf(d))) continue
    const full = join(workTree, d)
    try {
      const st = lstatSync(full, { throwIfNoEntry: false })
      if (st === undefined) {
        mkdirSync(full, 0o777)
        made.push(d)
      } else if (!st.isDirectory()) {
        continue
      }
      real.add(d)
    } catch {
      // left for the write loop
    }
  }
  return new ArrivalWriter(workTree, files.filter((e) => real.has(parentOf(e.path))), made, signal)
}

export class ArrivalWriter {
  /** Regular files still to write, by the blob they hold (an array only for a blob held by several). */
  private readonly waiting = new Map<Oid, PlanEntry | PlanEntry[]>()
  /** Index entries of the files written, by path. */
  readonly written = new Map<string, IndexEntry>()

  /**
   * `entries`: regular files, each in a real directory; `directories`: those made for
   * them (parents first), removed again by undo().
   */
  constructor(
    private readonly workTree: string,
    entries: Iterable<PlanEntry>,
    private readonly directories: readonly string[],
    private readonly signal?: AbortSignal,
  ) {
    for (const e of entries) {
      const had = this.waiting.get(e.oid)
      if (had === undefined) this.waiting.set(e.oid, e)
      else if (Array.isArray(had)) had.push(e)
      else this.waiting.set(e.oid, [had, e])
    }
  }

  /** Told of each object of the fetch as it arrives. */
  readonly observe: ObjectObserver = (oid, type, data) => {
    if (type !== 'blob') return
    const had = this.waiting.get(oid)
    if (had === undefined) return
    this.waiting.delete(oid)
    for (const e of Array.isArray(had) ? had : [had]) {
      if (this.signal?.aborted === true) return
      try {
        this.written.set(e.path, writeFileEntry(this.workTree, e, data))
      } catch {
        // left for the write loop, which says what is wrong
      }
    }
  }

  /** The fetch failed: every file written goes, then the directories made for them (deepest first, if empty). */
  undo(): void {
    for (const path of this.written.keys()) {
      try {
        unlinkSync(join(this.workTree, path))
      } catch {
        // gone already
      }
    }
    this.written.clear()
    for (let i = this.directories.length - 1; i >= 0; i--) {
      try {
        rmdirSync(join(this.workTree, this.directories[i] as string))
      } catch {
        // not empty (something else was put there) or gone
      }
    }
  }
}
