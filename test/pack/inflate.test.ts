import t from 'tap'
import { randomBytes } from 'node:crypto'
import { deflateSync } from 'node:zlib'
import { inflateChunked, inflateEntry, inflateTo } from '../../lib/pack/inflate.js'

t.test('inflates exactly the declared size and says where the stream ended', async (t) => {
  for (const size of [0, 1, 63, 64, 1800, 70_000, 5 * 1024 * 1024]) {
    const data = randomBytes(size)
    const z = deflateSync(data)
    const next = Buffer.from('next entry')
    const r = inflateEntry(Buffer.concat([z, next]), size)
    t.ok(r.data.equals(data), `${size} bytes round-trip`)
    t.equal(r.consumed, z.length, `${size}: consumed the zlib stream and nothing after it`)
  }
})

t.test('a small object does not pin a 16 KiB output chunk', async (t) => {
  const data = randomBytes(1800)
  const r = inflateEntry(deflateSync(data), data.length)
  // Default inflateSync returns a slice of a 16 KiB chunk; ours is at most a shared 8 KiB pool slab.
  t.ok(r.data.buffer.byteLength < 16 * 1024, `backing store is ${r.data.buffer.byteLength} bytes`)
})

t.test('more data than declared, a cut stream and garbage fail with zlib codes', async (t) => {
  const data = randomBytes(5000)
  const z = deflateSync(data)
  t.throws(() => inflateEntry(z, 4999), { code: 'ERR_BUFFER_TOO_LARGE' })
  t.throws(() => inflateEntry(z.subarray(0, z.length - 10), 5000), { code: 'Z_BUF_ERROR' })
  t.throws(() => inflateEntry(Buffer.from('not zlib at all'), 10), { code: 'Z_DATA_ERROR' })
  // Declaring more than the stream holds is the caller's check: the data comes back short.
  t.equal(inflateEntry(z, 6000).data.length, 5000)
})

/** A reader over `input` in pieces of `piece` bytes, for inflateChunked. */
function pieces(input: Buffer, piece: number): (chunk: Buffer) => number {
  let at = 0
  return (chunk) => {
    const n = Math.min(piece, chunk.length, input.length - at)
    input.copy(chunk, 0, at, at + n)
    at += n
    return n
  }
}

t.test('inflateChunked: the stream read a piece at a time, wherever its end falls', async (t) => {
  for (const [size, piece] of [[0, 7], [5000, 1], [70_000, 4096], [3 * 1024 * 1024 + 3, 64 * 1024], [2 * 1024 * 1024, 1024 * 1024]] as const) {
    const data = randomBytes(size)
    const z = deflateSync(data)
    t.ok(inflateChunked(size, pieces(z, piece), 64 * 1024).equals(data), `${size} bytes in pieces of ${piece}`)
    // bytes after the stream (the next entry of a pack) are left alone
    t.ok(inflateChunked(size, pieces(Buffer.concat([z, randomBytes(100)]), piece), 64 * 1024).equals(data), `${size} bytes, more input after the stream`)
  }
  // the stream ending exactly where a chunk does
  const data = randomBytes(10_000)
  const z = deflateSync(data)
  t.ok(inflateChunked(data.length, pieces(Buffer.concat([z, Buffer.from('next')]), z.length), z.length).equals(data))
})

t.test('inflateChunked: more data than declared, a cut stream and garbage fail with zlib codes', async (t) => {
  const data = randomBytes(50_000)
  const z = deflateSync(data)
  t.throws(() => inflateChunked(49_999, pieces(z, 1000)), { code: 'ERR_BUFFER_TOO_LARGE' })
  t.throws(() => inflateChunked(50_000, pieces(z.subarray(0, z.length - 10), 1000)), { code: 'Z_BUF_ERROR' })
  t.throws(() => inflateChunked(10, pieces(Buffer.from('not zlib at all'), 4)), { code: 'Z_DATA_ERROR' })
  t.equal(inflateChunked(60_000, pieces(z, 1000)).length, 50_000, 'declaring more than the stream holds: the caller checks the length')
})

t.test('inflateTo: the output handed over a chunk at a time, none bigger than the chunk', async (t) => {
  for (const [size, piece, chunkBytes] of [[0, 7, 1024], [100_000, 999, 4096], [3 * 1024 * 1024 + 5, 65_536, 65_536], [200_000, 200_000, 1 << 20]] as const) {
    const data = Buffer.concat([randomBytes(size >> 1), Buffer.alloc(size - (size >> 1), 'compressible ')])
    const z = Buffer.concat([deflateSync(data), Buffer.from('next entry')])
    const parts: Buffer[] = []
    const n = inflateTo(size, pieces(z, piece), (c) => {
      t.ok(c.length <= chunkBytes)
      parts.push(Buffer.from(c))
    }, chunkBytes)
    t.equal(n, size)
    t.ok(Buffer.concat(parts).equals(data), `${size} bytes in pieces of ${piece}, chunks of ${chunkBytes}`)
  }
  const data = randomBytes(50_000)
  const z = deflateSync(data)
  const drop = (): void => undefined
  t.throws(() => inflateTo(49_999, pieces(z, 1000), drop, 4096), { code: 'ERR_BUFFER_TOO_LARGE' })
  t.throws(() => inflateTo(50_000, pieces(z.subarray(0, z.length - 10), 1000), drop, 4096), { code: 'Z_BUF_ERROR' })
  t.throws(() => inflateTo(10, pieces(Buffer.from('not zlib at all'), 4), drop, 4096), { code: 'Z_DATA_ERROR' })
})
