/** What a second-pass worker thread is given, and what it answers (resolve-workers.ts, resolve-worker.ts). */
import type { EntryColumns } from './entries.js'
import type { DeltaLinks } from './resolve.js'

export interface WorkerJob {
  /** The pack file's descriptor, open in the main thread: descriptors are the process's, and positional reads do not share a file position. */
  packFd: number
  count: number
  deltaCount: number
  /** The entry table, in shared memory: objType and oids are written by the workers. */
  columns: EntryColumns
  links: DeltaLinks
  /** objType before any worker began: which entries are roots. */
  rootTypes: Uint8Array
  /** [0]: the first entry of the next block to claim. */
  cursor: Int32Array
  /** Deltas resolved so far by each worker, at [slot]: published when its percentage moves, and when it ends. */
  done: Int32Array
  slot: number
  block: number
  maxObjectSize: number
  baseCacheBytes: number
  arenaBytes: number
}

export type WorkerReport = { resolved: number } | { error: string; packError: boolean }
