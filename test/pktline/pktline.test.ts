import t from 'tap'
import { PktLineError, RemoteError } from '../../lib/errors.js'
import { encodePkt, LARGE_PACKET_DATA_MAX, PktLineReader } from '../../lib/pktline/pktline.js'
import { pkts, readerOf } from '../protocol/server.js'

t.test('packets and special packets round-trip', async (t) => {
  const r = readerOf(Buffer.concat([encodePkt('a\n'), Buffer.from('000100000002'), encodePkt(Buffer.alloc(0))]), 1)
  t.same(await r.read(), { type: 'data', data: Buffer.from('a\n') })
  t.same(await r.read(), { type: 'delim' })
  t.same(await r.read(), { type: 'flush' })
  t.same(await r.read(), { type: 'response-end' })
  t.same(await r.read(), { type: 'data', data: Buffer.alloc(0) })
  t.equal(await r.read(), undefined)
  t.equal(encodePkt('a\n').toString(), '0006a\n')
  t.throws(() => encodePkt(Buffer.alloc(LARGE_PACKET_DATA_MAX + 1)), PktLineError)
})

t.test('bad input', async (t) => {
  await t.rejects(readerOf('fff1' + 'x'.repeat(10)).read(), { constructor: PktLineError, message: /bad line length 65521 \(over 65520\)/ })
  await t.rejects(readerOf('ffff').read(), { constructor: PktLineError, message: /over 65520/ })
  await t.rejects(readerOf('00zz').read(), { constructor: PktLineError, message: /bad line length character/ })
  await t.rejects(readerOf('0003').read(), { constructor: PktLineError, message: /bad line length 3/ })
  await t.rejects(readerOf('000ahi').read(), { constructor: PktLineError, message: /hung up/ })
  await t.rejects(readerOf('00').read(), { constructor: PktLineError, message: /inside a pkt-line length/ })
  await t.rejects(readerOf('0010ERR no such\n').read(), { constructor: RemoteError, message: 'remote error: no such' })
  await t.rejects(readerOf('').expect('capabilities'), { constructor: PktLineError, message: /expected capabilities/ })
})

t.test('a stream that ends or fails inside a data packet: what came of it is kept, once', async (t) => {
  const ended = readerOf(pkts('ok\n') + '0010abc', 3)
  t.same(await ended.read(), { type: 'data', data: Buffer.from('ok\n') })
  await t.rejects(ended.read(), { constructor: PktLineError, message: /inside a pkt-line/ })
  t.same(ended.takeCutShort(), Buffer.from('abc'))
  t.equal(ended.takeCutShort(), undefined, 'handed out once')

  const failure = new Error('ECONNRESET')
  const failing = new PktLineReader(
    (async function* () {
      yield Buffer.from('0010ab')
      yield Buffer.from('cd')
      throw failure
    })(),
  )
  await t.rejects(failing.read(), failure)
  t.same(failing.takeCutShort(), Buffer.from('abcd'))

  const inLength = readerOf(pkts('ok\n') + '00', 1)
  await inLength.read()
  await t.rejects(inLength.read(), PktLineError)
  t.equal(inLength.takeCutShort(), undefined, 'cut inside a length: no packet began')
})
