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

function acquire(): Reusable | undefined {
  if (reusable || unsupported) return reusable
  const stream = createInflate()
  const internals = stream as unknown as { _handle?: unknown; _writeState?: unknown }
  const handle = internals._handle
  const state = internals._writeState
  if (!isNativeHandle(handle) || !(state instanceof Uint32Array) || state.length < 2 || typeof stream.reset !== 'function') {
    unsupported = true
    stream.destroy()
    return undefined
  }
  const r: Reusable = { stream, handle, state, error: undefined }
  handle.onerror = (message, errno, code) => {
    r.error ??= Object.assign(new Error(message), { errno, code })
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
