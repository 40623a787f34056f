/**
 * A worker thread of the second pass (resolve-workers.ts): resolves the delta
 * subtrees of the blocks of entries it claims, writing types and ids into the
 * shared entry table, and reports how many it resolved. It reads the pack through
 * the main thread's descriptor.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { PackError } from '../errors.js'
import { silentSink, type ProgressSink } from '../events.js'
import { EntryTable } from './entries.js'
import { DeltaResolver } from './resolve.js'
import type { WorkerJob, WorkerReport } from './resolve-job.js'

async function work(job: WorkerJob): Promise<number> {
  const t = EntryTable.over(job.columns, job.count)
  let before = 0
  const progress: ProgressSink = { ...silentSink, progress: (e) => void Atomics.store(job.done, job.slot, e.current - before) }
  // The main thread's descriptor: a thread that is terminated leaves nothing open.
  const resolver = new DeltaResolver(t, { fd: job.packFd }, job.deltaCount, {
    maxObjectSize: job.maxObjectSize,
    baseCacheBytes: job.baseCacheBytes,
    arenaBytes: job.arenaBytes,
    links: job.links,
    progress,
  })
  before = resolver.resolved
  await resolver.runClaimed(() => Atomics.add(job.cursor, 0, job.block), job.block, job.rootTypes)
  const mine = resolver.resolved - before
  Atomics.store(job.done, job.slot, mine)
  return mine
}

const port = parentPort
if (port) {
  work(workerData as WorkerJob).then(
    (resolved) => port.postMessage({ resolved } satisfies WorkerReport),
    (e: unknown) => port.postMessage({ error: e instanceof Error ? e.message : String(e), packError: e instanceof PackError } satisfies WorkerReport),
  )
}
