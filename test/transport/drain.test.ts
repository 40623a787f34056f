/** drainOutput: reads what is left up to a bound, calls onOver past it, ends the output, never throws. */
import t from 'tap'
import { drainOutput } from '../../lib/transport/drain.js'

function output(chunks: number, size: number, fail = false): { gen: AsyncGenerator<Buffer>; read: () => number; ended: () => boolean } {
  let read = 0
  let ended = false
  async function* gen(): AsyncGenerator<Buffer> {
    try {
      for (let i = 0; i < chunks; i++) {
        read++
        yield Buffer.alloc(size)
      }
      if (fail) throw new Error('connection reset')
    } finally {
      ended = true
    }
  }
  return { gen: gen(), read: () => read, ended: () => ended }
}

t.test('reads everything under the bound, no onOver', async (t) => {
  const o = output(4, 100)
  let over = false
  await drainOutput(o.gen, () => (over = true), 1000)
  t.equal(o.read(), 4)
  t.equal(over, false)
  t.ok(o.ended())
})

t.test('past the bound: onOver, and no more is read', async (t) => {
  const o = output(100, 100)
  let over = 0
  await drainOutput(o.gen, () => over++, 250)
  t.equal(over, 1)
  t.equal(o.read(), 3, 'stopped at the chunk that went over')
  t.ok(o.ended(), 'the output is ended')
})

t.test('a failure while reading ends the draining quietly; no output at all is fine', async (t) => {
  const o = output(2, 10, true)
  await t.resolves(drainOutput(o.gen))
  await t.resolves(drainOutput(undefined))
})
