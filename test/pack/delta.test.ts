import t from 'tap'
import { PackError } from '../../lib/errors.js'
import { applyDelta, deltaHeaderSizes } from '../../lib/pack/delta.js'
import { makeDelta } from '../fixtures/packs.js'

const base = Buffer.from('0123456789abcdefghij')

t.test('copy and insert instructions', async (t) => {
  // copy 5 bytes at offset 10, insert "XY", copy 3 bytes at offset 0
  const delta = makeDelta(base.length, 10, [0x91, 10, 5, 2, 0x58, 0x59, 0x90, 3])
  t.same(deltaHeaderSizes(delta), { baseSize: 20, resultSize: 10, headerLength: 2 })
  t.equal(applyDelta(base, delta, 100).toString(), 'abcdeXY012')
})

t.test('copy size 0 means 0x10000; multi-byte offsets and sizes', async (t) => {
  const big = Buffer.alloc(0x20000)
  for (let i = 0; i < big.length; i++) big[i] = i % 251
  const d1 = makeDelta(big.length, 0x10000, [0x81, 0x05])
  t.ok(applyDelta(big, d1, 1 << 20).equals(big.subarray(5, 5 + 0x10000)))
  // offset 0x010203 (3 bytes), size 0x0102 (2 bytes)
  const d2 = makeDelta(big.length, 0x102, [0x80 | 0x07 | 0x30, 0x03, 0x02, 0x01, 0x02, 0x01])
  t.ok(applyDelta(big, d2, 1 << 20).equals(big.subarray(0x10203, 0x10203 + 0x102)))
})

t.test('every lie is a PackError', async (t) => {
  const cases: [string, Buffer, RegExp, number?][] = [
    ['base size mismatch', makeDelta(19, 3, [0x90, 3]), /base size mismatch/],
    ['result larger than allowed, before allocating', makeDelta(20, 2 ** 50, [0x90, 3]), /exceeds the limit/, 1000],
    ['copy past the end of the base', makeDelta(20, 5, [0x91, 18, 5]), /outside the 20-byte base/],
    ['insert past the end of the delta', makeDelta(20, 5, [5, 0x41, 0x42]), /past the end of the delta/],
    ['result shorter than declared', makeDelta(20, 6, [0x90, 5]), /produced 5 bytes but its header declares 6/],
    ['result longer than declared', makeDelta(20, 4, [0x90, 5]), /more data than its header declares/],
    ['reserved opcode 0', makeDelta(20, 1, [0]), /reserved instruction/],
    ['truncated copy instruction', makeDelta(20, 1, [0x91, 1]), /truncated/],
    ['truncated header', Buffer.from([0x80]), /truncated/],
    ['absurd header varint', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0]), /too large/],
  ]
  for (const [what, delta, re, max] of cases) {
    t.throws(() => applyDelta(base, delta, max ?? 1000), PackError, what)
    try {
      applyDelta(base, delta, max ?? 1000)
    } catch (e) {
      t.match((e as Error).message, re, what)
    }
  }
})
