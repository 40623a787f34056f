import t from 'tap'
import { PktLineError, RemoteError } from '../../lib/errors.js'
import { demuxSideband, unwrapSidebandAll } from '../../lib/pktline/sideband.js'
import { collect, pkts, readerOf } from '../protocol/server.js'

function sink(): { lines: string[]; remote(text: string): void } {
  const lines: string[] = []
  return { lines, remote: (s: string) => lines.push(s) }
}

t.test('band 1 is yielded, band 2 split into lines across packets, empty band 1 skipped', async (t) => {
  const s = sink()
  const input = pkts('\x01', '\x02Counting: 1%\rCount', '\x01PACK', '\x02ing: 100%\r\nTotal 3\n', '\x01rest', '\x02tail', '0000', 'after')
  const reader = readerOf(input, 3)
  const data = await collect(demuxSideband(reader, s))
  t.equal(data.toString('latin1'), 'PACKrest')
  t.same(s.lines, ['Counting: 1%\r', 'Counting: 100%\r', '\n', 'Total 3\n', 'tail'])
  const next = await reader.read()
  t.same(next?.type === 'data' ? next.data.toString() : next, 'after', 'stops right after the flush')
})

t.test('band 3 is a remote error with the server message', async (t) => {
  const it = demuxSideband(readerOf(pkts('\x01PA', '\x03upload-pack: not our ref\n', '0000')), sink())
  await t.rejects(collect(it), { constructor: RemoteError, message: 'remote error: upload-pack: not our ref' })
})

t.test('framing errors', async (t) => {
  await t.rejects(collect(demuxSideband(readerOf(pkts('\x05x', '0000')), sink())), { constructor: PktLineError, message: 'protocol error: bad band #5' })
  await t.rejects(collect(demuxSideband(readerOf(pkts('\x01a', '0001')), sink())), { constructor: PktLineError, message: /unexpected delim/ })
  await t.rejects(collect(demuxSideband(readerOf(pkts('\x01a')), sink())), { constructor: PktLineError, message: /ended before flush/ })
  await t.rejects(collect(demuxSideband(readerOf(pkts('\x01a', 'ERR access denied')), sink())), { constructor: RemoteError, message: 'remote error: access denied' })
  await t.rejects(collect(demuxSideband(readerOf('00040000'), sink())), { constructor: PktLineError, message: /no band byte/ })
})

t.test('unwrapSidebandAll turns a band-framed response into plain packets', async (t) => {
  const s = sink()
  // Empty band-1 packets are keepalives, wherever they come: skipped, never an empty line.
  const r = unwrapSidebandAll(readerOf(pkts('\x01', '\x01packfile\n', '\x02', '\x02hi\n', '0001', '\x01', '0000')), s)
  const a = await r.peek()
  t.same(a, { type: 'data', data: Buffer.from('packfile\n') })
  t.same(await r.read(), a)
  t.same(await r.read(), { type: 'delim' })
  t.same(await r.read(), { type: 'flush' })
  t.equal(await r.read(), undefined)
  t.same(s.lines, ['hi\n'])
  await t.rejects(r.expect('more'), PktLineError)
  const bad = unwrapSidebandAll(readerOf(pkts('\x03boom')), s)
  await t.rejects(bad.read(), { constructor: RemoteError, message: 'remote error: boom' })
  const band = unwrapSidebandAll(readerOf(pkts('acknowledgments\n')), s)
  await t.rejects(band.read(), { message: /bad band #97/ })
})
