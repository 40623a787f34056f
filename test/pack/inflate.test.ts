import t from 'tap'
import { randomBytes } from 'node:crypto'
import { deflateSync } from 'node:zlib'
import { inflateEntry } from '../../lib/pack/inflate.js'

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
