import t from 'tap'
import { BuddyArena } from '../../lib/pack/arena.js'

t.test('blocks are views of one buffer, of the size asked for, and do not overlap', async (t) => {
  const arena = new BuddyArena(64 * 1024)
  const sizes = [1, 255, 256, 257, 1000, 4096, 5000, 12000]
  const blocks = sizes.map((n) => arena.alloc(n) as Buffer)
  t.same(blocks.map((b) => b.length), sizes)
  t.ok(blocks.every((b) => b.buffer === blocks[0]?.buffer), 'one ArrayBuffer')
  const spans = blocks.map((b) => [b.byteOffset, b.byteOffset + b.length] as const).sort((a, b) => a[0] - b[0])
  for (let i = 1; i < spans.length; i++) t.ok((spans[i - 1] as readonly number[])[1]! <= spans[i]![0], `block ${i} starts after block ${i - 1} ends`)
  t.equal(arena.bytesInUse, 256 + 256 + 256 + 512 + 1024 + 4096 + 8192 + 16384, 'each block rounded up to a power of two')
})

t.test('given back in any order, blocks merge back into the whole arena', async (t) => {
  const arena = new BuddyArena(1 << 20)
  const blocks: Buffer[] = []
  for (let b = arena.alloc(3000); b !== undefined; b = arena.alloc(3000)) blocks.push(b)
  t.equal(blocks.length, (1 << 20) / 4096, 'full at capacity / block size')
  t.equal(arena.alloc(1), undefined, 'nothing left when full')
  // Give them back in a scrambled order.
  for (let i = 0; i < blocks.length; i++) arena.release(blocks[(i * 97) % blocks.length] as Buffer)
  t.equal(arena.bytesInUse, 0)
  const whole = arena.alloc(1 << 20)
  t.ok(whole, 'the whole capacity is one block again')
  t.equal(whole?.byteOffset, blocks[0]?.byteOffset)
})

t.test('too large, foreign, not a block start, or given back twice: no effect', async (t) => {
  const arena = new BuddyArena(8192)
  t.equal(arena.capacity, 8192)
  t.equal(arena.alloc(8193), undefined, 'larger than the arena')
  const a = arena.alloc(100) as Buffer
  arena.release(Buffer.alloc(100))
  arena.release(a.subarray(1))
  t.equal(arena.bytesInUse, 256, 'a foreign buffer and a view inside a block change nothing')
  arena.release(a.subarray(0, 10))
  t.equal(arena.bytesInUse, 0, 'a view at the start gives the block back')
  arena.release(a)
  t.equal(arena.bytesInUse, 0, 'a second release changes nothing')
  const b = arena.alloc(8192) as Buffer
  t.equal(b.length, 8192, 'and the arena is whole, not counted twice')
  t.equal(arena.alloc(1), undefined)
})

t.test('capacity is rounded down to a power of two, at least 256 bytes', async (t) => {
  t.equal(new BuddyArena(100_000).capacity, 65536)
  t.equal(new BuddyArena(0).capacity, 256)
})

t.test('random use against a model: live blocks keep their bytes', async (t) => {
  const arena = new BuddyArena(1 << 18)
  let seed = 12345
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed % n
  }
  const live: { buf: Buffer; fill: number }[] = []
  let failures = 0
  for (let step = 0; step < 20000; step++) {
    if (live.length > 0 && random(3) === 0) {
      const { buf, fill } = live.splice(random(live.length), 1)[0] as { buf: Buffer; fill: number }
      if (!buf.every((x) => x === fill)) failures++
      arena.release(buf)
    } else {
      const size = 1 + random(random(4) === 0 ? 40000 : 2000)
      const buf = arena.alloc(size)
      if (buf === undefined) continue
      const fill = random(256)
      buf.fill(fill)
      live.push({ buf, fill })
    }
  }
  t.equal(failures, 0, 'no block was written through another')
  for (const { buf } of live) arena.release(buf)
  t.equal(arena.bytesInUse, 0)
  t.equal(arena.alloc(1 << 18)?.length, 1 << 18, 'all merged back')
})
