import t from 'tap'
import { PassThrough, Readable } from 'node:stream'
import { chunksOf } from '../../lib/transport/chunks.js'

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = []
  for await (const c of it) out.push(c)
  return out
}

t.test('chunks come out one by one, as written, not concatenated', async (t) => {
  const s = new PassThrough()
  const written = [Buffer.from('one'), Buffer.from('two'), Buffer.from('three')]
  // All three are buffered before the consumer asks: the async iterator would join them.
  for (const w of written) s.write(w)
  s.end()
  const got = await collect(chunksOf(s))
  t.same(got.map((b) => b.toString()), ['one', 'two', 'three'])
  t.ok(got.every((b, i) => b === written[i]), 'the very buffers written, not copies')
})

t.test('the stream is paused while more than highWater bytes wait, and resumed', async (t) => {
  const s = new PassThrough({ highWaterMark: 1 })
  const it = chunksOf(s, 10)
  const first = it.next()
  for (let i = 0; i < 5; i++) s.write(Buffer.alloc(4, i))
  await new Promise((r) => setImmediate(r))
  t.ok(s.isPaused(), 'paused with 20 bytes waiting')
  const got = [(await first).value as Buffer]
  for (let r = await it.next(); !r.done; r = await it.next()) {
    got.push(r.value)
    if (got.length === 5) s.end()
  }
  t.equal(Buffer.concat(got).length, 20)
  t.same(got.map((b) => b[0]), [0, 1, 2, 3, 4], 'in order')
})

t.test('an error is thrown to the consumer', async (t) => {
  const s = new PassThrough()
  s.write(Buffer.from('before'))
  const it = chunksOf(s)
  t.equal(((await it.next()).value as Buffer).toString(), 'before')
  s.destroy(new Error('connection reset'))
  await t.rejects(it.next(), /connection reset/)
})

t.test('a stream destroyed before its end is a premature close', async (t) => {
  const s = new PassThrough()
  const it = chunksOf(s)
  const pending = it.next()
  s.destroy()
  await t.rejects(pending, { code: 'ERR_STREAM_PREMATURE_CLOSE' })
})

t.test('a consumer that stops early destroys the stream and leaves no listener', async (t) => {
  const s = new PassThrough()
  s.write(Buffer.from('a'))
  s.write(Buffer.from('b'))
  for await (const c of chunksOf(s)) {
    t.equal(c.toString(), 'a')
    break
  }
  t.ok(s.destroyed, 'destroyed')
  t.equal(s.listenerCount('data'), 0)
  t.equal(s.listenerCount('error'), 0)
})

t.test('an empty stream gives nothing; strings become buffers', async (t) => {
  t.same(await collect(chunksOf(Readable.from([], { objectMode: false }))), [])
  const got = await collect(chunksOf(Readable.from(['x', 'y'], { objectMode: false })))
  t.same(got.map((b) => b.toString()), ['x', 'y'])
})
