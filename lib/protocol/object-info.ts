/**
 * The v2 `object-info` command: which of a list of objects the server has (and their
 * sizes). tsgit uses it to learn what a promisor remote can serve before asking it for
 * a pack, so one missing object does not fail a whole batch.
 */
import { ProtocolError } from '../errors.js'
import { encodePkt, flushPkt, pktText } from '../pktline/pktline.js'
import type { PacketSource } from '../pktline/sideband.js'
import { isOid, type Oid } from '../oid.js'
import { commandHeader, type Capabilities } from './capabilities.js'
import { DEFAULT_AGENT } from './ls-refs.js'

export function serverSupportsObjectInfo(caps: Capabilities): boolean {
  return caps.has('object-info')
}

export function buildObjectInfoRequest(caps: Capabilities, oids: readonly Oid[], agent: string = DEFAULT_AGENT): Buffer {
  const parts = [commandHeader('object-info', caps, agent), encodePkt('size\n')]
  for (const oid of oids) {
    if (!isOid(oid)) throw new ProtocolError(`invalid object id '${oid}'`)
    parts.push(encodePkt(`oid ${oid}\n`))
  }
  parts.push(flushPkt())
  return Buffer.concat(parts)
}

/** Sizes of the objects the server has; an object it lacks maps to undefined. */
export async function parseObjectInfo(reader: PacketSource, asked: readonly Oid[]): Promise<Map<Oid, number | undefined>> {
  const wanted = new Set(asked)
  const out = new Map<Oid, number | undefined>()
  const first = await reader.expect('object-info attributes')
  if (first.type === 'flush') return out
  if (pktText(first) !== 'size') throw new ProtocolError(`protocol error: object-info: unexpected attribute line ${JSON.stringify(pktText(first).slice(0, 80))}`)
  for (;;) {
    const p = await reader.expect('object-info line')
    if (p.type === 'flush') break
    const line = pktText(p)
    const m = /^([0-9a-f]{40}) ?(\d*)$/.exec(line)
    if (!m || !wanted.has(m[1] as Oid)) throw new ProtocolError(`protocol error: object-info: bad line ${JSON.stringify(line.slice(0, 100))}`)
    out.set(m[1] as Oid, m[2] === '' || m[2] === undefined ? undefined : Number(m[2]))
    if (out.size > asked.length) throw new ProtocolError('protocol error: object-info: more answers than questions')
  }
  return out
}
