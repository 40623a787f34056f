/**
 * One-shot inflation of a pack entry whose inflated size the entry header
 * already declares.
 *
 * `inflateSync` with its defaults allocates a 16 KiB output chunk per call and
 * returns a slice of it, so every small object kept 16 KiB of external memory
 * alive until the next GC (most of tsgit's peak RSS in a clone, and much of its
 * GC time). Sizing the chunk to the declared size plus one byte makes the
 * output buffer exactly the object: the spare byte lets zlib report the end of
 * the stream without a second output chunk, and an entry that inflates to more
 * than it declares still fails through `maxOutputLength`.
 */
import { inflateSync } from 'node:zlib'

// zlib refuses smaller chunks.
const MIN_CHUNK = 64
// Above this, exact sizing buys nothing and a retried partial entry (receive.ts)
// would allocate the whole size each time; zlib's own growth is fine there.
const MAX_EXACT_CHUNK = 4 * 1024 * 1024

export interface Inflated {
  data: Buffer
  /** Compressed bytes consumed: where the zlib stream ended in `input`. */
  consumed: number
}

/**
 * Inflates the zlib stream at the start of `input`, which must inflate to no
 * more than `size` bytes. zlib's errors are thrown as they are (callers tell
 * Z_BUF_ERROR, an incomplete stream, from corruption); the caller checks that
 * `data.length` equals the size it expects.
 */
export function inflateEntry(input: Buffer, size: number): Inflated {
  const chunkSize = Math.max(MIN_CHUNK, Math.min(size + 1, MAX_EXACT_CHUNK))
  const r = inflateSync(input, { info: true, chunkSize, maxOutputLength: Math.max(1, size) }) as unknown as {
    buffer: Buffer
    engine: { bytesWritten: number }
  }
  return { data: r.buffer, consumed: r.engine.bytesWritten }
}
