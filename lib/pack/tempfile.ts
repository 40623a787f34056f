/** Exclusive temp files inside a directory, so a rename into place is atomic. */
import { randomBytes } from 'node:crypto'
import { open, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

function suffix(): string {
  const bytes = randomBytes(6)
  let s = ''
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length]
  return s
}

/**
 * Creates `<dir>/<prefix>XXXXXX` with O_EXCL, opened for reading and writing. Read-only
 * by default, as git makes its temp files: only a file that may be reopened for writing
 * later (a pack to be continued) needs `mode` 0o644.
 */
export async function createTempFile(dir: string, prefix: string, mode = 0o444): Promise<{ path: string; handle: FileHandle }> {
  for (let attempt = 0; ; attempt++) {
    const path = join(dir, prefix + suffix())
    try {
      return { path, handle: await open(path, 'wx+', mode) }
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'EEXIST' || attempt >= 100) throw e
    }
  }
}

export async function writeAll(handle: FileHandle, data: Buffer, position?: number): Promise<void> {
  let done = 0
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position === undefined ? null : position + done)
    done += bytesWritten
  }
}

/** Writes `data`, one buffer after the other, at `position`. */
export async function writeAllV(handle: FileHandle, data: readonly Buffer[], position: number): Promise<void> {
  let rest = data.filter((b) => b.length > 0)
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest, position)
    position += bytesWritten
    // a short write: drop what went out, go on from inside the buffer it stopped in
    let k = 0
    while (k < rest.length && bytesWritten >= (rest[k] as Buffer).length) bytesWritten -= (rest[k++] as Buffer).length
    rest = rest.slice(k)
    if (rest.length > 0 && bytesWritten > 0) rest[0] = (rest[0] as Buffer).subarray(bytesWritten)
  }
}

/** Reads exactly `length` bytes at `position`; returns fewer only at end of file. */
export async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length)
  let done = 0
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done)
    if (bytesRead === 0) break
    done += bytesRead
  }
  return done === length ? buf : buf.subarray(0, done)
}
