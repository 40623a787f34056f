/**
 * Git's delta format (gitformat-pack, "Deltified representation"): two size
 * varints, then copy-from-base and insert-literal instructions. Everything in a
 * delta comes from the network, so every size and range is checked before use.
 */
import { PackError } from '../errors.js'

export interface DeltaHeader {
  baseSize: number
  resultSize: number
  /** Offset of the first instruction. */
  headerLength: number
}

// 2^53 is where JS numbers stop being exact; no real object comes near it.
const MAX_VARINT_SHIFT = 49

function readSize(delta: Buffer, start: number): { value: number; next: number } {
  let value = 0
  let shift = 0
  let pos = start
  for (;;) {
    const byte = delta[pos]
    if (byte === undefined) throw new PackError('delta header is truncated')
    pos++
    value += (byte & 0x7f) * 2 ** shift
    if ((byte & 0x80) === 0) break
    shift += 7
    if (shift > MAX_VARINT_SHIFT) throw new PackError('delta header size is too large')
  }
  return { value, next: pos }
}

/** The base and result sizes a delta declares, without applying it. */
export function deltaHeaderSizes(delta: Buffer): DeltaHeader {
  const base = readSize(delta, 0)
  const result = readSize(delta, base.next)
  return { baseSize: base.value, resultSize: result.value, headerLength: result.next }
}

/** Results up to this size are allocated before the instructions are checked; that costs nothing. */
const PRESCAN_THRESHOLD = 1024 * 1024

/** What the instructions after `start` would write, without writing it; stops counting at an invalid instruction (applyDelta reports it). */
function deltaOutputSize(delta: Buffer, start: number): number {
  let total = 0
  let pos = start
  while (pos < delta.length) {
    const op = delta[pos++] as number
    if (op & 0x80) {
      let size = 0
      for (let i = 0; i < 4; i++) if (op & (1 << i)) pos++
      for (let i = 0; i < 3; i++) {
        if (op & (0x10 << i)) size += (delta[pos++] ?? 0) << (8 * i)
      }
      total += size === 0 ? 0x10000 : size
    } else if (op !== 0) {
      total += op
      pos += op
    } else {
      break
    }
  }
  return total
}

/**
 * Checks what `delta` declares against `base` and the limit, before anything is
 * allocated for its result: the base size must match, the result must fit the
 * limit, and a large result must really be what the instructions produce.
 */
export function checkDelta(base: Buffer, delta: Buffer, maxResultSize: number): DeltaHeader {
  const header = deltaHeaderSizes(delta)
  const { baseSize, resultSize, headerLength } = header
  if (baseSize !== base.length) {
    throw new PackError(`delta base size mismatch: delta expects ${baseSize} bytes, base has ${base.length}`)
  }
  if (resultSize > maxResultSize) {
    throw new PackError(`delta result of ${resultSize} bytes exceeds the limit of ${maxResultSize}`)
  }
  // The header is only a claim: before allocating a large result, add up what the
  // instructions really produce, so a few bytes of delta cannot reserve gigabytes.
  if (resultSize > PRESCAN_THRESHOLD) {
    const produced = deltaOutputSize(delta, headerLength)
    if (produced !== resultSize) {
      throw new PackError(`delta produces ${produced} bytes but its header declares ${resultSize}`)
    }
  }
  return header
}

/**
 * Spans up to this long are copied byte by byte: a call into copyWithin or Buffer#copy
 * costs more than that. Trees' deltas are mostly such spans (an entry's 20-40 new bytes
 * inserted between long copies): ~300 ns per instruction before, in a blob:none clone.
 */
const SMALL_SPAN = 64

/**
 * Writes the result of `delta` (whose header `checkDelta` returned) into
 * `out[at, at + resultSize)`. Throws PackError if an instruction reads outside
 * the base or the delta, or the result's size differs from the header's.
 */
export function writeDelta(base: Buffer, delta: Buffer, header: DeltaHeader, out: Buffer, at: number): void {
  const { baseSize, resultSize, headerLength } = header
  if (out.length - at < resultSize) throw new RangeError('delta output buffer is too small')
  const outEnd = at + resultSize
  let outPos = at
  let pos = headerLength
  const end = delta.length
  // Base and result may be views of one ArrayBuffer (Node's pool for small buffers, a
  // ring of recent objects): Buffer#copy between them copies each span twice (V8 makes
  // the source a temporary copy first), copyWithin on a view of the whole does not.
  const shared = base.buffer === out.buffer ? new Uint8Array(out.buffer) : undefined
  const literalsShared = delta.buffer === out.buffer ? (shared ?? new Uint8Array(out.buffer)) : undefined
  while (pos < end) {
    const op = delta[pos++] as number
    if (op & 0x80) {
      let offset = 0
      let size = 0
      // Each flag bit says whether the corresponding little-endian byte is present.
      for (let i = 0; i < 4; i++) {
        if (op & (1 << i)) {
          const b = delta[pos++]
          if (b === undefined) throw new PackError('delta copy instruction is truncated')
          offset += b * 2 ** (8 * i)
        }
      }
      for (let i = 0; i < 3; i++) {
        if (op & (0x10 << i)) {
          const b = delta[pos++]
          if (b === undefined) throw new PackError('delta copy instruction is truncated')
          size += b << (8 * i)
        }
      }
      if (size === 0) size = 0x10000
      if (offset + size > baseSize) {
        throw new PackError(`delta copies ${size} bytes at ${offset}, outside the ${baseSize}-byte base`)
      }
      if (outPos + size > outEnd) throw new PackError('delta produces more data than its header declares')
      if (size <= SMALL_SPAN) for (let k = 0; k < size; k++) out[outPos + k] = base[offset + k] as number
      else if (shared) shared.copyWithin(out.byteOffset + outPos, base.byteOffset + offset, base.byteOffset + offset + size)
      else base.copy(out, outPos, offset, offset + size)
      outPos += size
    } else if (op !== 0) {
      if (pos + op > end) throw new PackError('delta insert instruction runs past the end of the delta')
      if (outPos + op > outEnd) throw new PackError('delta produces more data than its header declares')
      if (op <= SMALL_SPAN) for (let k = 0; k < op; k++) out[outPos + k] = delta[pos + k] as number
      else if (literalsShared) literalsShared.copyWithin(out.byteOffset + outPos, delta.byteOffset + pos, delta.byteOffset + pos + op)
      else delta.copy(out, outPos, pos, pos + op)
      outPos += op
      pos += op
    } else {
      throw new PackError('delta contains the reserved instruction 0')
    }
  }
  if (outPos !== outEnd) {
    throw new PackError(`delta produced ${outPos - at} bytes but its header declares ${resultSize}`)
  }
}

/**
 * Applies `delta` to `base`. Throws PackError if the delta does not fit its
 * base, claims a result larger than `maxResultSize` (checked before
 * allocating), reads outside the base or the delta, or produces a result whose
 * size differs from its header.
 */
export function applyDelta(base: Buffer, delta: Buffer, maxResultSize: number): Buffer {
  const header = checkDelta(base, delta, maxResultSize)
  const out = Buffer.allocUnsafe(header.resultSize)
  writeDelta(base, delta, header, out, 0)
  return out
}
