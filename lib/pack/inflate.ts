/**
 * One-shot inflation of a pack entry whose inflated size the entry header
 * already declares.
 *
 * `inflateSync` builds a zlib stream object per call and, with its defaults,
 * returns a slice of a 16 KiB output chunk, so every small object pinned 16 KiB
 * of external memory until the next GC (most of tsgit's peak RSS in a clone,
 * and much of its GC time). Here one inflater is reset and reused, writing into
 * an output buffer of exactly the declared size plus one byte: the spare byte
 * tells "ended where declared" from "has more", and the buffer is the object's
 * own, not a slice of a shared chunk or pool (unless the caller says it will not keep
 * it: then a small one may be a slice of Node's pool, which is cheaper to get).
 *
 * Node exposes no public synchronous call on a reusable inflater, so this uses
 * the stream's native handle (`_handle.writeSync`, `_writeState`), which
 * node:zlib itself drives the same way; when those are not there, or for
 * objects above MAX_EXACT, it falls back to `inflateSync` with a chunk sized to
 * the object.
 */
import { constants, createInflate, inflateSync, type Inflate } from 'node:zlib'

// zlib refuses smaller chunks.
const MIN_CHUNK = 64
// Above this, inflateSync's own chunking is used: a retried partial entry
// (receive.ts) must not allocate the whole declared size on every attempt.
const MAX_EXACT = 4 * 1024 * 1024

export interface Inflated {
  data: Buffer
  /** Compressed bytes consumed: where the zlib stream ended in `input`. */
  consumed: number
}

interface NativeHandle {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void
  onerror: (message: string, errno: number, code?: string) => void
}

interface Reusable {
  stream: Inflate
  handle: NativeHandle
  /** [avail_out, avail_in] after each write, filled in by the native side. */
  state: Uint32Array
  error: Error | undefined
}

function isNativeHandle(h: unknown): h is NativeHandle {
  return typeof h === 'object' && h !== null && typeof (h as { writeSync?: unknown }).writeSync === 'function'
}

let reusable: Reusable | undefined
let unsupported = false

/** A new inflater driven through its native handle, or undefined where Node does not expose one. */
function nativeInflater(): Reusable | undefined {
  const stream = createInflate()
  const internals = stream as unknown as { _handle?: unknown; _writeState?: unknown }
  const handle = internals._handle
  const state = internals._writeState
  if (!isNativeHandle(handle) || !(state instanceof Uint32Array) || state.length < 2) {
    stream.destroy()
    return undefined
  }
  const r: Reusable = { stream, handle, state, error: undefined }
  handle.onerror = (message, errno, code) => {
    r.error ??= Object.assign(new Error(message), { errno, code })
  }
  return r
}

function acquire(): Reusable | undefined {
  if (reusable || unsupported) return reusable
  const r = nativeInflater()
  if (r === undefined || typeof r.stream.reset !== 'function') {
    unsupported = true
    r?.stream.destroy()
    return undefined
  }
  reusable = r
  return r
}

function bufferTooLarge(size: number): Error {
  return Object.assign(new RangeError(`Cannot create a Buffer larger than ${size} bytes`), { code: 'ERR_BUFFER_TOO_LARGE' })
}

function inflateWithChunk(input: Buffer, size: number): Inflated {
  const chunkSize = Math.max(MIN_CHUNK, Math.min(size + 1, MAX_EXACT))
  const r = inflateSync(input, { info: true, chunkSize, maxOutputLength: Math.max(1, size) }) as unknown as {
    buffer: Buffer
    engine: { bytesWritten: number }
  }
  return { data: r.buffer, consumed: r.engine.bytesWritten }
}

/**
 * Inflates the zlib stream at `input[from..]`, which must inflate to no
 * more than `size` bytes. zlib's errors are thrown with zlib's codes (callers
 * tell Z_BUF_ERROR, an incomplete stream, from corruption), and more output
 * than `size` with code ERR_BUFFER_TOO_LARGE, as `inflateSync` does. The
 * caller checks that `data.length` equals the size it expects. With `scratch`
 * (longer than `size`), `data` may be a view of it, valid until its next use.
 */
export function inflateEntry(input: Buffer, size: number, scratch?: Buffer, transient = false, from = 0): Inflated {
  const z = size < MAX_EXACT ? acquire() : undefined
  if (!z) return inflateWithChunk(from === 0 ? input : input.subarray(from), size)
  // Data the caller drops at once (hashed, or a delta about to be applied) goes to its scratch buffer.
  // Offsets into input and output rather than views of them: a view per entry shows in a profile.
  const out = scratch !== undefined && scratch.length > size ? scratch : transient ? Buffer.allocUnsafe(size + 1) : Buffer.allocUnsafeSlow(size + 1)
  const outLength = size + 1
  z.error = undefined
  z.handle.writeSync(constants.Z_FINISH, input, from, input.length - from, out, 0, outLength)
  const error = z.error as Error | undefined
  if (error) {
    // A failed stream is not trusted to reset cleanly: start the next one afresh.
    reusable = undefined
    z.stream.destroy()
    throw error
  }
  const availOut = z.state[0] as number
  const availIn = z.state[1] as number
  z.stream.reset()
  if (availOut === 0) throw bufferTooLarge(Math.max(1, size))
  return { data: out.subarray(0, outLength - availOut), consumed: input.length - from - availIn }
}

/**
 * Inflates a zlib stream that is read a chunk at a time into one buffer of the size the
 * entry declares: memory is the object plus one chunk, where reading the whole
 * compressed entry first and letting inflateSync gather its output held it about three
 * times (a 300 MB blob took 925 MB to check out). `next` fills the chunk it is given
 * and returns how many bytes it put there, 0 when there is no more input. Errors as
 * inflateEntry's: zlib's codes (Z_BUF_ERROR for a stream that ends too soon), and
 * ERR_BUFFER_TOO_LARGE for more output than `size`.
 */
export function inflateChunked(size: number, next: (chunk: Buffer) => number, chunkBytes = 1024 * 1024): Buffer {
  const z = nativeInflater()
  const chunk = Buffer.allocUnsafe(chunkBytes)
  if (z === undefined) {
    // No native handle to drive: gather the input, then inflate it at once.
    const parts: Buffer[] = []
    for (let n = next(chunk); n > 0; n = next(chunk)) parts.push(Buffer.from(chunk.subarray(0, n)))
    return inflateWithChunk(Buffer.concat(parts), size).data
  }
  const { stream, handle, state } = z
  try {
    const out = Buffer.allocUnsafeSlow(size + 1)
    let produced = 0
    for (;;) {
      const n = next(chunk)
      // At the end of the input, finishing makes a stream that has not ended an error.
      handle.writeSync(n === 0 ? constants.Z_FINISH : constants.Z_NO_FLUSH, chunk, 0, n, out, produced, size + 1 - produced)
      if (z.error !== undefined) throw z.error
      produced = size + 1 - (state[0] as number)
      if (produced > size) throw bufferTooLarge(Math.max(1, size))
      // Input left over with room to spare: the stream has ended.
      if ((state[1] as number) > 0 || n === 0) break
    }
    return out.subarray(0, produced)
  } finally {
    stream.destroy()
  }
}

/**
 * Inflates a zlib stream read a chunk at a time (as inflateChunked) and hands the
 * output to `write` a chunk at a time, never holding more than one of each: for an
 * object too large to hold (a big file checked out). Returns the number of bytes
 * produced; more than `size` is ERR_BUFFER_TOO_LARGE, a cut stream Z_BUF_ERROR.
 */
export function inflateTo(size: number, next: (chunk: Buffer) => number, write: (out: Buffer) => void, chunkBytes = 1024 * 1024): number {
  const z = nativeInflater()
  if (z === undefined) {
    const data = inflateChunked(size, next, chunkBytes)
    write(data)
    return data.length
  }
  const { stream, handle, state } = z
  try {
    const input = Buffer.allocUnsafe(chunkBytes)
    const out = Buffer.allocUnsafe(chunkBytes)
    let produced = 0
    for (;;) {
      const n = next(input)
      const flush = n === 0 ? constants.Z_FINISH : constants.Z_NO_FLUSH
      let inOff = 0
      let inLen = n
      let availOut: number
      do {
        handle.writeSync(flush, input, inOff, inLen, out, 0, out.length)
        if (z.error !== undefined) throw z.error
        availOut = state[0] as number
        const made = out.length - availOut
        inOff += inLen - (state[1] as number)
        inLen = state[1] as number
        if (made > 0) {
          produced += made
          if (produced > size) throw bufferTooLarge(Math.max(1, size))
          write(out.subarray(0, made))
        }
      } while (availOut === 0)
      // Input left over with output room to spare: the stream has ended.
      if (inLen > 0 || n === 0) return produced
    }
  } finally {
    stream.destroy()
  }
}
