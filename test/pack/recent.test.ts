import t, { type Test as Tap } from 'tap'
import { HEADER_ROOM } from '../../lib/pack/format.js'
import { RecentObjects } from '../../lib/pack/recent.js'

/** Writes `text` as entry `index`'s object; false when there was no room for it. */
function put(t: Tap, r: RecentObjects, index: number, text: string, keep?: number): boolean {
  const room = r.reserve(text.length, keep)
  if (room === undefined) return false
  t.equal(room.length, HEADER_ROOM + text.length + 1, 'room for header, object and the spare byte')
  room.write(text, HEADER_ROOM, 'latin1')
  r.commit(index)
  return true
}

const text = (i: number, n = 100) => String.fromCharCode(97 + (i % 26)).repeat(n)
// Each object of 100 bytes takes 133 bytes of ring: 2128 bytes hold 16 of them, and
// objects up to 2128 / 8 - 33 = 233 bytes are kept.
const RING = 16 * (HEADER_ROOM + 101)

t.test('objects are kept until newer ones need their room, oldest first', async (t) => {
  const r = new RecentObjects(RING)
  for (let i = 0; i < 16; i++) t.ok(put(t, r, i, text(i)))
  for (let i = 0; i < 16; i++) t.equal(r.get(i)?.toString('latin1'), text(i), `object ${i} kept`)
  // The ring is full: the next object wraps to the start and drops the first.
  t.ok(put(t, r, 16, text(16)))
  t.equal(r.get(0), undefined, 'the oldest dropped')
  for (let i = 1; i <= 16; i++) t.equal(r.get(i)?.toString('latin1'), text(i), `object ${i} still there`)
  // A larger object drops as many of the oldest as it overlaps.
  t.ok(put(t, r, 17, text(17, 120)))
  t.equal(r.get(1), undefined)
  t.equal(r.get(2), undefined)
  t.equal(r.get(3)?.toString('latin1'), text(3))
  t.equal(r.get(17)?.toString('latin1'), text(17, 120))
  t.equal(r.get(16)?.toString('latin1'), text(16))
  t.equal(r.get(100), undefined, 'an entry never kept')
})

t.test('after a wrap, what was past the end of the last lap is dropped too', async (t) => {
  const r = new RecentObjects(RING)
  for (let i = 0; i < 31; i++) t.ok(put(t, r, i, text(i)))
  // The second lap has overwritten objects 0-14; 15 still sits at the end of the ring.
  t.equal(r.get(14), undefined)
  t.equal(r.get(15)?.toString('latin1'), text(15))
  // 153 bytes do not fit in the 133 left before the end: this one wraps to the start.
  t.ok(put(t, r, 31, text(31, 120)))
  t.equal(r.get(15), undefined, 'the rest of the last lap is dropped')
  t.equal(r.get(16), undefined, 'overwritten by the wrapped object')
  t.equal(r.get(17), undefined, 'overlapped')
  t.equal(r.get(18)?.toString('latin1'), text(18))
  t.equal(r.get(30)?.toString('latin1'), text(30))
  t.equal(r.get(31)?.toString('latin1'), text(31, 120))
})

t.test('a room that would drop the object being read is refused', async (t) => {
  const r = new RecentObjects(RING)
  for (let i = 0; i < 16; i++) t.ok(put(t, r, i, text(i)))
  t.notOk(put(t, r, 16, text(16), 0), 'entry 0 is the base in use: no room')
  t.equal(r.get(0)?.toString('latin1'), text(0), 'and it is still there')
  t.ok(put(t, r, 16, text(16), 5), 'dropping entry 0 is fine when 5 is the one in use')
  t.equal(r.get(0), undefined)
})

t.test('objects above an eighth of the ring are not kept', async (t) => {
  const r = new RecentObjects(RING)
  t.equal(r.reserve(RING / 8 - HEADER_ROOM - 1 + 1), undefined)
  t.ok(r.reserve(RING / 8 - HEADER_ROOM - 1))
  t.throws(() => new RecentObjects(RING).commit(0), /without a reserved room/)
})

t.test('a room reserved and not committed holds nothing', async (t) => {
  const r = new RecentObjects(RING)
  t.ok(put(t, r, 0, text(0)))
  t.ok(r.reserve(100))
  // An inflate that needs more input gives up the room; the next reserve takes it again.
  t.ok(put(t, r, 1, text(1)))
  t.equal(r.get(0)?.toString('latin1'), text(0))
  t.equal(r.get(1)?.toString('latin1'), text(1))
})

t.test('many laps: whatever is kept is the right object', async (t) => {
  const r = new RecentObjects(4096)
  const size = (i: number) => 1 + ((i * 37) % 600)
  let kept = 0
  let refused = 0
  const wrong: number[] = []
  for (let i = 0; i < 20000; i++) {
    const room = r.reserve(size(i))
    if (room === undefined) {
      refused++
      continue
    }
    room.write(text(i, size(i)), HEADER_ROOM, 'latin1')
    r.commit(i)
    const back = i >= 10 ? r.get(i - 10) : undefined
    if (back === undefined) continue
    kept++
    if (back.toString('latin1') !== text(i - 10, size(i - 10))) wrong.push(i - 10)
  }
  t.same(wrong, [], 'no object read back differs from what was written')
  t.ok(kept > 1000, `objects survive ten newer ones (${kept})`)
  t.ok(refused > 0, 'objects above an eighth of the ring were refused')
})
