import t from 'tap'
import { randomBytes } from 'node:crypto'
import { RawOidSet } from '../../lib/rev/raw-oid-set.js'

t.test('raw ids anywhere in a buffer, through growth', async (t) => {
  const ids = Array.from({ length: 30000 }, () => randomBytes(20))
  const set = new RawOidSet(16)
  const host = Buffer.alloc(27)
  for (const id of ids.slice(0, 20000)) {
    id.copy(host, 7)
    if (!set.add(host, 7)) t.fail('a new id was reported as present')
  }
  t.equal(set.size, 20000)
  let wrong = 0
  for (const [i, id] of ids.entries()) if (set.has(id) !== i < 20000) wrong++
  t.equal(wrong, 0, 'present ids found, absent ones not (across resizes)')
  t.equal(set.add(ids[0] as Buffer), false, 'a second add is refused')
  t.equal(set.hasHex((ids[1] as Buffer).toString('hex')), true)
  // ids that differ only in their last byte share a probe chain
  const near = Buffer.from(ids[2] as Buffer)
  near[19] = (near[19] as number) ^ 1
  t.equal(set.has(near), false)
  t.equal(set.addHex(near.toString('hex')), true, 'a near id is a new one')
  t.equal(set.has(near), true)
})
