/**
 * Files written while the blobs they hold arrive. A checkout in a partial clone fetches
 * its blobs in one request; the server spends most of that request's time making and
 * sending the pack, and git writes no file before the whole pack is in. tsgit is told
 * of each blob as soon as it is inflated and hashed (ObjectObserver) and writes the
 * files that hold it there and then, so writing overlaps the transfer.
 *
 * Only where nothing is: a file is created with O_EXCL (never overwriting, never
 * following a symlink) in a real directory, made with its parents when its first file
 * is written (never through a symlink or where a file is). Whatever cannot be written
 * that way (something in the way, a symlink, a blob not told of) is left for the
 * checkout's own write loop after the fetch, which reports any error. The blob's id is
 * its content's hash, so what is written is what the tree names, whatever the rest of
 * the pack turns out to be. If the fetch fails, undo() removes every file written and
 * the work tree is as it was.
 */
import { lstatSync, mkdirSync, rmdirSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { MODE_BLOB, MODE_EXECUTABLE, MODE_GITLINK } from '../odb/objects.js'
import type { ObjectReader } from '../odb/types.js'
import type { ObjectObserver, Oid } from '../oid.js'
import { checkAborted, type PlanEntry } from './checkout.js'
import { conversionBeforeFetch, fetchOrder, lineEndings, type AttributesEntry, type Conversion, type ConversionLoader, type LineEndingsGate, type Smudge } from './conversion.js'
import { writeFileEntry } from './file-write.js'
import type { IndexEntry } from './index-file.js'

/** The directory holding `path` ('' for the top). */
function parentOf(path: string): string {
  const slash = path.lastIndexOf('/')
  return slash < 0 ? '' : path.slice(0, slash)
}

/** The writer for the regular files of `entries`, to be told of the blobs as they arrive. */
export function startArrivals(workTree: string, entries: readonly PlanEntry[], signal?: AbortSignal, smudge?: Smudge | LineEndingsGate): ArrivalWriter {
  return new ArrivalWriter(workTree, entries.filter((e) => e.mode === MODE_BLOB || e.mode === MODE_EXECUTABLE), signal, smudge)
}

/** What a checkout's one blob fetch is given and what it leaves. */
export interface ArrivingFetch {
  reader: Pick<ObjectReader, 'prefetch' | 'missingOf'>
  workTree: string
  /** The entries to write; those that are not gitlinks have their blobs fetched. */
  entries: readonly PlanEntry[]
  /** The attributes files of the tree or index being checked out, and how to read them. */
  attributes: readonly AttributesEntry[]
  conversion: ConversionLoader | undefined
  /** The trees naming the blobs (PrefetchOptions.referrers). */
  referrers: Iterable<Oid>
  signal?: AbortSignal
}

/**
 * Fetches every blob `entries` need in one request (the attributes files that come with
 * it first), writing each file as its blob arrives where it can be; a failure (or an
 * abort) takes back what was written and is thrown. Returns the index entries of the
 * files written and the line-ending conversion for the rest.
 */
export async function fetchWritingOnArrival(f: ArrivingFetch): Promise<{ written: ReadonlyMap<string, IndexEntry>; conversion: Conversion | undefined }> {
  const early = await conversionBeforeFetch(f.conversion, f.reader, f.attributes)
  const writer = startArrivals(f.workTree, f.entries, f.signal, lineEndings(early))
  try {
    const blobs: Oid[] = []
    for (const e of f.entries) if (e.mode !== MODE_GITLINK) blobs.push(e.oid)
    if (blobs.length > 0) await f.reader.prefetch(fetchOrder(early, blobs), { referrers: f.referrers, onObject: writer.observe })
    checkAborted(f.signal)
  } catch (e) {
    writer.undo()
    throw e
  }
  writer.close()
  return { written: writer.written, conversion: early.known ? early.conversion : await early.afterFetch() }
}

/** Blobs held while the conversion of line endings is being made (ArrivalWriter.held). */
const HOLD_BYTES = 8 * 1024 * 1024

export class ArrivalWriter {
  /** Line endings (conversion.ts), once known. */
  private smudge: Smudge | undefined
  /** The attributes files' blobs still to come before anything is written, and those come. */
  private gate: { waitingFor: Set<Oid>; texts: Map<Oid, Buffer>; open: LineEndingsGate['open'] } | undefined
  /**
   * Blobs that arrived before the gate opened (the pack goes on arriving while the
   * conversion is made), copied, to be written when it opens: HOLD_BYTES at most, the
   * rest left for the write loop.
   */
  private held: { oid: Oid; data: Buffer }[] = []
  private heldBytes = 0
  /** No more writes: the fetch ended (close) or failed (undo). */
  private closed = false

  /** Regular files still to write, by the blob they hold (an array only for a blob held by several). */
  private readonly waiting = new Map<Oid, PlanEntry | PlanEntry[]>()
  /** Index entries of the files written, by path. */
  readonly written = new Map<string, IndexEntry>()
  /**
   * Directories looked at: true when real (there already or made here), false when
   * something else is in the way. '' is the work tree itself.
   */
  private readonly dirs = new Map<string, boolean>([['', true]])
  /** Directories made, parents first: removed again by undo(). */
  private readonly made: string[] = []

  /**
   * `entries`: regular files. Nothing is touched before the first blob arrives: the
   * directories a file needs are made when it is written (after the fetch request has
   * gone, while the server makes its pack).
   */
  constructor(
    private readonly workTree: string,
    entries: Iterable<PlanEntry>,
    private readonly signal?: AbortSignal,
    smudge?: Smudge | LineEndingsGate,
  ) {
    if (typeof smudge === 'function') this.smudge = smudge
    else if (smudge !== undefined && smudge.missing.size > 0) this.gate = { waitingFor: new Set(smudge.missing), texts: new Map(), open: (t) => smudge.open(t) }
    for (const e of entries) {
      const had = this.waiting.get(e.oid)
      if (had === undefined) this.waiting.set(e.oid, e)
      else if (Array.isArray(had)) had.push(e)
      else this.waiting.set(e.oid, [had, e])
    }
  }

  /**
   * Whether `dir` is a real directory now, making it (and its parents) where nothing
   * is: never through a symlink or a file, never where a parent is not real.
   */
  private ensureDir(dir: string): boolean {
    const known = this.dirs.get(dir)
    if (known !== undefined) return known
    let real = this.ensureDir(parentOf(dir))
    if (real) {
      try {
        const full = join(this.workTree, dir)
        const st = lstatSync(full, { throwIfNoEntry: false })
        if (st === undefined) {
          mkdirSync(full, 0o777)
          this.made.push(dir)
        } else {
          real = st.isDirectory()
        }
      } catch {
        real = false
      }
    }
    this.dirs.set(dir, real)
    return real
  }

  /** Told of each object of the fetch as it arrives. */
  readonly observe: ObjectObserver = (oid, type, data) => {
    if (type !== 'blob' || this.closed) return
    const gate = this.gate
    if (gate !== undefined) {
      if (gate.waitingFor.delete(oid)) {
        gate.texts.set(oid, Buffer.from(data))
        if (gate.waitingFor.size === 0) {
          gate
            .open(gate.texts)
            .then((s) => {
              this.smudge = s
              this.gate = undefined
              const held = this.held
              this.held = []
              this.heldBytes = 0
              for (const h of held) this.write(h.oid, h.data)
            })
            .catch(() => {
              this.held = []
            })
        }
      }
      if (this.waiting.has(oid) && this.heldBytes + data.length <= HOLD_BYTES) {
        this.held.push({ oid, data: Buffer.from(data) })
        this.heldBytes += data.length
      }
      return
    }
    this.write(oid, data)
  }

  /** Writes the files waiting for blob `oid`. */
  private write(oid: Oid, data: Buffer): void {
    if (this.closed) return
    const had = this.waiting.get(oid)
    if (had === undefined) return
    this.waiting.delete(oid)
    for (const e of Array.isArray(had) ? had : [had]) {
      if (this.signal?.aborted === true) return
      if (!this.ensureDir(parentOf(e.path))) continue
      try {
        const convert = this.smudge?.(e.path)
        this.written.set(e.path, writeFileEntry(this.workTree, e, convert === undefined ? data : convert(data)))
      } catch {
        // left for the write loop, which says what is wrong
      }
    }
  }

  /** The fetch is over: nothing more is written (what is left goes through the write loop). */
  close(): void {
    this.closed = true
    this.held = []
  }

  /** The fetch failed: every file written goes, then the directories made for them (deepest first, if empty). */
  undo(): void {
    this.close()
    for (const path of this.written.keys()) {
      try {
        unlinkSync(join(this.workTree, path))
      } catch {
        // gone already
      }
    }
    this.written.clear()
    for (let i = this.made.length - 1; i >= 0; i--) {
      try {
        rmdirSync(join(this.workTree, this.made[i] as string))
      } catch {
        // not empty (something else was put there) or gone
      }
    }
    this.made.length = 0
  }
}
