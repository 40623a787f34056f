/**
 * The record of resumable downloads kept in the repository's config (`resumeDownload.<key>`,
 * clone-state.ts): what a later try needs to continue a download without trusting a
 * file that changed (its If-Range validator, its length, the bytes that were on disk).
 * Downloads run side by side and the config has one lock, so edits go one at a time.
 */
import type { LayeredConfig } from '../repo/config-load.js'
import { readDownloadRecord, removeDownloadRecord, writeDownloadRecord, type DownloadRecord } from '../repo/clone-state.js'
import type { DownloadJournal } from './resumable-download.js'

export class ConfigJournal implements DownloadJournal {
  private queue: Promise<void> = Promise.resolve()

  constructor(private readonly config: LayeredConfig) {}

  get(key: string): DownloadRecord | undefined {
    return readDownloadRecord(this.config, key)
  }

  started(key: string, record: DownloadRecord): Promise<void> {
    return this.edit((f) => writeDownloadRecord(f, key, record))
  }

  stopped(key: string, have: number): Promise<void> {
    return this.edit((f) => {
      const uri = f.get(`resumeDownload.${key}.uri`)
      if (typeof uri !== 'string') return
      f.set(`resumeDownload.${key}.have`, String(have))
    })
  }

  forget(key: string): Promise<void> {
    if (readDownloadRecord(this.config, key) === undefined) return Promise.resolve()
    return this.edit((f) => removeDownloadRecord(f, key))
  }

  private edit(fn: Parameters<LayeredConfig['update']>[0]): Promise<void> {
    const next = this.queue.then(() => this.config.update(fn))
    this.queue = next.catch(() => undefined)
    return next
  }
}
