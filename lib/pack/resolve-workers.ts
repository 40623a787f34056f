/**
 * The second pass of index-pack on worker threads, as git's index-pack does it
 * with threads: the delta subtrees left after the pack arrived are independent
 * of one another, so each thread claims blocks of entries and resolves the
 * subtrees hanging off them, re-reading the pack file through the main thread's
 * descriptor (positional reads: no shared file position).
 *
 * The entry table is in shared memory (entries.ts); the threads write each
 * resolved delta's type and id into it, a delta only ever by the thread whose
 * subtree it is in.
 * Memory for bases is divided between the threads, so the bound is the one
 * the single-threaded pass has. REF_DELTA entries (thin packs) are not
 * handled here: a pack with any goes through the single-threaded pass.
 */
import { availableParallelism } from 'node:os'
import { createRequire } from 'node:module'
import type * as NodeWorkerThreads from 'node:worker_threads'
import type { Worker } from 'node:worker_threads'
import { PackError } from '../errors.js'
import type { ProgressSink } from '../events.js'
import type { EntryTable } from './entries.js'
import { deltaLinks } from './resolve.js'
import type { WorkerJob, WorkerReport } from './resolve-job.js'

/**
 * node:worker_threads, loaded when a pack first needs threads rather than when tsgit
 * starts (it and what it loads cost a few milliseconds of every command's start-up).
 */
function workerThreads(): typeof NodeWorkerThreads {
  return createRequire(import.meta.url)('node:worker_threads') as typeof NodeWorkerThreads
}

/** Beside this module: dist/lib/pack/ when built by tsc, dist/ beside the bundle. */
const WORKER_URL = new URL('./resolve-worker.js', import.meta.url)

/** Entries claimed at a time: small enough to share the work evenly, large enough not to contend. */
const BLOCK = 16

/** git index-pack's default: the processors there are, but not more than 3. */
export function defaultResolveThreads(): number {
  return Math.max(1, Math.min(3, availableParallelism()))
}

export interface WorkerResolveOptions {
  threads: number
  maxObjectSize: number
  /** Divided between the threads. */
  baseCacheBytes: number
  /** Divided between the threads. */
  arenaBytes: number
  progress?: ProgressSink
  signal?: AbortSignal
}

/**
 * Resolves the deltas of `t` not resolved yet (`before` of the `deltaCount` are), reading
 * entries from the pack file open as `packFd` (which stays open until this returns). Throws a PackError for a bad delta, or when some are left unresolved.
 */
export async function resolveInWorkers(t: EntryTable, packFd: number, deltaCount: number, before: number, opts: WorkerResolveOptions): Promise<void> {
  if (t.refBase.size > 0) throw new Error('resolveInWorkers: the pack has REF_DELTA entries')
  const n = t.count
  const columns = t.sharedColumns()
  const rootTypes = new Uint8Array(new SharedArrayBuffer(n))
  rootTypes.set(columns.objType)
  const links = deltaLinks(t, true)
  const cursor = new Int32Array(new SharedArrayBuffer(4))
  const done = new Int32Array(new SharedArrayBuffer(4 * opts.threads))
  const share = (bytes: number) => Math.floor(bytes / opts.threads)

  const workers: Worker[] = []
  let progressTimer: NodeJS.Timeout | undefined
  let lastPercent = -1
  const report = (current: number, final: boolean) => {
    if (!opts.progress || deltaCount === 0) return
    const percent = Math.floor((current * 100) / deltaCount)
    if (!final && percent === lastPercent) return
    lastPercent = percent
    opts.progress.progress({ title: 'Resolving deltas', current, total: deltaCount, ...(final ? { done: true } : {}) })
  }
  // A thread publishes its count when its percentage moves, so this may lag by up to a
  // percent per thread: fine while the line moves, never for its last value.
  const published = () => {
    let current = before
    for (let k = 0; k < opts.threads; k++) current += Atomics.load(done, k)
    return current
  }
  let onAbort: (() => void) | undefined
  try {
    const results = await new Promise<number[]>((resolve, reject) => {
      const resolved: number[] = []
      let failed = false
      // The others are stopped before the caller goes on to close the descriptor they read.
      const fail = (e: Error) => {
        if (failed) return
        failed = true
        void Promise.allSettled(workers.map((w) => w.terminate())).then(() => reject(e))
      }
      onAbort = () => fail(Object.assign(new Error('aborted'), { name: 'AbortError' }))
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      if (opts.signal?.aborted) return onAbort()
      for (let slot = 0; slot < opts.threads; slot++) {
        const job: WorkerJob = {
          packFd, count: n, deltaCount, columns, links, rootTypes, cursor, done, slot, block: BLOCK,
          maxObjectSize: opts.maxObjectSize,
          baseCacheBytes: share(opts.baseCacheBytes),
          arenaBytes: share(opts.arenaBytes),
        }
        const w = new (workerThreads().Worker)(WORKER_URL, { workerData: job })
        workers.push(w)
        let answered = false
        w.on('message', (m: WorkerReport) => {
          answered = true
          if ('error' in m) return fail(m.packError ? new PackError(m.error) : new Error(m.error))
          resolved.push(m.resolved)
          if (resolved.length === opts.threads) resolve(resolved)
        })
        w.on('error', (e) => fail(e))
        w.on('exit', (code) => {
          if (!answered) fail(new Error(`delta resolution thread exited with code ${code} before it finished`))
        })
      }
      // The line appears at once, as git's does, and then as the threads report.
      report(published(), false)
      progressTimer = setInterval(() => report(published(), false), 100)
    })
    const total = before + results.reduce((a, b) => a + b, 0)
    const unresolved = deltaCount - total
    if (unresolved > 0) throw new PackError(`pack has ${unresolved} unresolved ${unresolved === 1 ? 'delta' : 'deltas'}`)
    // The threads' own answers, not what they last published: the line ends at total/total.
    report(total, true)
  } finally {
    if (progressTimer) clearInterval(progressTimer)
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort)
  }
}
