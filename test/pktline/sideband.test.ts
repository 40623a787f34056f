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

t.test('a response cut inside a band-1 packet: its bytes come out before the error', async (t) => {
  // git's upload-pack sends the pack in packets of up to 64 KiB: dropping the one a cut
  // falls in would lose that much of a pack a clone keeps to resume from.
  const cut = pkts('\x01PACK', '\x02Total 3\n') + '0020\x01half a pa'
  const got: Buffer[] = []
  await t.rejects(
    (async () => {
      for await (const b of demuxSideband(readerOf(cut, 4), sink())) got.push(b)
    })(),
    { constructor: PktLineError, message: /inside a pkt-line/ },
  )
  t.equal(Buffer.concat(got).toString('latin1'), 'PACKhalf a pa')

  const progressCut = pkts('\x01PACK') + '0020\x02Counting obj'
  const kept: Buffer[] = []
  await t.rejects(
    (async () => {
      for await (const b of demuxSideband(readerOf(progressCut, 4), sink())) kept.push(b)
    })(),
    PktLineError,
  )
  t.equal(Buffer.concat(kept).toString('latin1'), 'PACK', 'a cut band-2 packet is not pack data')

  const all = unwrapSidebandAll(readerOf(pkts('\x01x') + '0020\x01half', 4), sink())
  await all.read()
  await t.rejects(all.read(), PktLineError)
  t.same(all.takeCutShort(), Buffer.from('half'), 'sideband-all: without its band byte')
})
