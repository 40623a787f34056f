/**
 * The negotiation state machine on its own: how many haves each round takes, the
 * commons resent, when it says `done` (the walk at its end, MAX_IN_VAIN after an ACK,
 * the round limit), `ready`, and an ACK for an id never offered.
 */
import t from 'tap'
import { ProtocolError } from '../../lib/errors.js'
import { MAX_IN_VAIN, Negotiator } from '../../lib/protocol/negotiator.js'

let next = 0
/** `n` distinct object ids. */
function ids(n: number): string[] {
  return Array.from({ length: n }, () => (next++).toString(16).padStart(40, '0'))
}

const nak = { commonOids: [], ready: false, nak: true }

t.test('batches of 16, 32, 64, … up to the ceiling, without done while the walk has more', async (t) => {
  const n = new Negotiator({ maxBatch: 64 })
  const sizes: number[] = []
  for (let i = 0; i < 5; i++) {
    sizes.push(n.batchSize)
    const r = n.round(ids(n.batchSize), true)
    t.equal(r.done, false)
    n.acknowledge(nak)
  }
  t.same(sizes, [16, 32, 64, 64, 64])
})

t.test('the walk at its end: done, with what it had left', async (t) => {
  const n = new Negotiator()
  const last = ids(3)
  const r = n.round(last, false)
  t.same(r, { haves: last, done: true })
  t.ok(n.isFinished)
  t.throws(() => n.round([], false), 'no round after done')
})

t.test('acknowledged haves are resent first in every later round; an ACK for one never offered is refused', async (t) => {
  const n = new Negotiator()
  const first = ids(16)
  n.round(first, true)
  const common = [first[3] as string, first[7] as string]
  t.same(n.acknowledge({ commonOids: common, ready: false, nak: false }), common, 'the new commons')
  const second = ids(32)
  t.same(n.round(second, true, [first[3] as string]).haves, [first[3], ...second], 'the commons the walk says to resend, then the new haves')
  t.throws(() => n.acknowledge({ commonOids: ids(1), ready: false, nak: false }), ProtocolError)
})

t.test('a common id the server never acknowledged is not resent', async (t) => {
  const n = new Negotiator()
  const first = ids(16)
  n.round(first, true)
  n.acknowledge(nak)
  t.same(n.round(ids(32), true, [first[0] as string]).haves.length, 32)
})

t.test('ready: finished, the pack follows', async (t) => {
  const n = new Negotiator()
  const first = ids(16)
  n.round(first, true)
  n.acknowledge({ commonOids: [first[0] as string], ready: true, nak: false })
  t.ok(n.isReady)
  t.ok(n.isFinished)
  t.same(n.common, [first[0]])
})

t.test('MAX_IN_VAIN: after an ACK, done once 256 haves went unacknowledged; before any ACK, on', async (t) => {
  const n = new Negotiator()
  const first = ids(16)
  n.round(first, true)
  n.acknowledge(nak)
  // no ACK yet: even past MAX_IN_VAIN haves the walk goes on
  let r = n.round(ids(n.batchSize), true)
  n.acknowledge(nak)
  r = n.round(ids(n.batchSize), true)
  n.acknowledge(nak)
  r = n.round(ids(n.batchSize), true)
  n.acknowledge(nak)
  r = n.round(ids(n.batchSize), true)
  t.equal(r.done, false, `${16 + 32 + 64 + 128 + 256} haves without an ACK: still negotiating`)
  n.acknowledge({ commonOids: [r.haves[0] as string], ready: false, nak: false })
  r = n.round(ids(n.batchSize), true)
  t.equal(r.done, true, `${r.haves.length - 1} new haves after the last ACK (>= ${MAX_IN_VAIN}): done`)
})

t.test('a new ACK starts the count again', async (t) => {
  const n = new Negotiator({ firstBatch: 200, maxBatch: 200 })
  let r = n.round(ids(200), true)
  n.acknowledge({ commonOids: [r.haves[0] as string], ready: false, nak: false })
  r = n.round(ids(200), true)
  t.equal(r.done, false, '200 in vain')
  n.acknowledge({ commonOids: [r.haves.at(-1) as string], ready: false, nak: false })
  r = n.round(ids(200), true)
  t.equal(r.done, false, '200 in vain since the last ACK')
  n.acknowledge(nak)
  t.equal(n.round(ids(200), true).done, true, '400 in vain')
})

t.test('the round limit ends it', async (t) => {
  const n = new Negotiator({ maxRounds: 2 })
  n.round(ids(16), true)
  n.acknowledge(nak)
  t.equal(n.round(ids(32), true).done, true)
})

t.test('limits out of range are refused', async (t) => {
  t.throws(() => new Negotiator({ firstBatch: 0 }), RangeError)
  t.throws(() => new Negotiator({ firstBatch: 32, maxBatch: 16 }), RangeError)
})
