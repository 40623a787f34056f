/**
 * What a clone's earlier tries left in objects/pack, taken up by the next try: the
 * pack of a response that was cut (its whole objects salvaged into a pack of their
 * own), the packfile-URI downloads it began (continued with Range); and, once every
 * pack of the clone is in, what is no longer needed (.keep files clones made,
 * temporary files a killed try left).
 */
import { readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { TsgitError, isNotFound } from '../errors.js'
import type { ProgressSink } from '../events.js'
import { salvagePack } from '../pack/salvage.js'
import type { Transport, TransportOptions } from '../transport/index.js'
import { downloadNamedPack, type DownloadJournal } from './packfile-uris.js'
import { namesIn } from '../files.js'

/** The .keep files of a clone say so: the clone removes them, whichever try made them. */
export const KEEP_PREFIX = 'tsgit clone'

/** How the clone writes every pack. */
export interface Packing {
  packDir: string
  keep: string
  promisor?: string
  progress: ProgressSink
  signal?: AbortSignal
  threads?: number
}

/** Salvages the pack file `name` a cut response left; the objects kept (0: none, or no file). */
export async function salvageReceiving(packDir: string, name: string, packing: Packing): Promise<number> {
  const salvaged = await salvagePack(join(packDir, name), packing).catch((e: unknown) => {
    if (isNotFound(e)) return undefined
    throw e
  })
  return salvaged?.result !== undefined ? salvaged.objects : 0
}

export interface Continuing extends Packing {
  /** fetch.uriProtocols; none: https only. */
  protocols: readonly string[]
  transportOptions: TransportOptions
  journal: DownloadJournal
  sink: ProgressSink
}

/**
 * Continues the packfile-URI downloads recorded under `keys` (bundles are not these)
 * and installs what completes. A download that can no longer be had (404, a file that
 * changed its checksum) is dropped with a warning: its objects come from the remote.
 */
export async function continueDownloads(transport: Transport, keys: readonly string[], opts: Continuing): Promise<{ bytes: number; objects: number }> {
  let bytes = 0
  let objects = 0
  for (const key of keys) {
    if (key.startsWith('bundle-')) continue
    const rec = opts.journal.get(key)
    if (rec === undefined) continue
    try {
      const got = await downloadNamedPack(transport, { hash: key, uri: rec.uri }, {
        ...opts,
        protocols: opts.protocols.length > 0 ? opts.protocols : ['https'],
        onBytes: (n) => (bytes += n),
      })
      if (!got.installed) {
        const pack = got.pack as typeof got.pack & { install(): Promise<void> }
        await pack.install()
        objects += pack.objectCount
      }
      await opts.journal.forget(key)
    } catch (e) {
      if (e instanceof TsgitError && !e.retryable && e.code !== 'E_RESUME_STATE') {
        opts.sink.warn(`dropping the download of '${rec.uri}': ${e.message}`)
        await opts.journal.forget(key)
        await unlink(join(opts.packDir, `pack-${key}.pack.temp`)).catch(() => undefined)
        continue
      }
      throw e
    }
  }
  return { bytes, objects }
}

/**
 * Removes what the clone's tries left in objects/pack: .keep files clones made (this
 * try's, and any a killed try left), and temporary files a killed try left (nothing is
 * being received any more: every pack of the clone is in).
 */
export async function tidyPackDir(packDir: string): Promise<void> {
  const names = await namesIn(packDir)
  for (const n of names) {
    const path = join(packDir, n)
    let ours = n.startsWith('tmp_') || (n.startsWith('pack-') && n.endsWith('.temp'))
    if (!ours && n.startsWith('pack-') && n.endsWith('.keep')) ours = (await readFile(path, 'utf8').catch(() => '')).startsWith(KEEP_PREFIX)
    if (ours) await unlink(path).catch((e: unknown) => { if (!isNotFound(e)) throw e })
  }
}
