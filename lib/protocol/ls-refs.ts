/**
 * The v2 ls-refs command (gitprotocol-v2 "ls-refs"): request building and response
 * parsing. Nothing from the server is trusted: oids are checked, lines must be well
 * formed and the number of refs is bounded.
 */
import { AGENT } from '../version.js'
import { ProtocolError } from '../errors.js'
import { isOid, type Oid } from '../oid.js'
import { encodePkt, flushPkt, pktText } from '../pktline/pktline.js'
import type { PacketSource } from '../pktline/sideband.js'
import { assertLineSafe, commandHeader, type Capabilities } from './capabilities.js'

export const DEFAULT_MAX_REFS = 10_000_000

export interface LsRefsOptions {
  refPrefixes?: readonly string[]
  symrefs?: boolean
  peel?: boolean
  /** Ask for an unborn HEAD; only sent when the server advertises ls-refs=unborn. */
  unborn?: boolean
  /** Agent string sent when the server advertises agent, e.g. "tsgit/0.1.0". */
  agent?: string
  serverOptions?: readonly string[]
}

export interface RemoteRef {
  name: string
  /** Undefined for an unborn ref (a HEAD pointing at a branch with no commits). */
  oid: Oid | undefined
  symrefTarget?: string
  /** The object an annotated tag finally points at. */
  peeled?: Oid
  unborn: boolean
}

export const DEFAULT_AGENT: string = AGENT

/** Arguments go in the order git 2.39 sends them, so traces of the two compare line for line. */
export function buildLsRefsRequest(caps: Capabilities, opts: LsRefsOptions = {}): Buffer {
  const parts = [commandHeader('ls-refs', caps, opts.agent ?? DEFAULT_AGENT, opts.serverOptions)]
  if (opts.peel) parts.push(encodePkt('peel\n'))
  if (opts.symrefs) parts.push(encodePkt('symrefs\n'))
  if (opts.unborn && caps.commandFeatures('ls-refs').has('unborn')) parts.push(encodePkt('unborn\n'))
  for (const prefix of opts.refPrefixes ?? []) {
    assertLineSafe('ref prefix', prefix)
    parts.push(encodePkt(`ref-prefix ${prefix}\n`))
  }
  parts.push(flushPkt())
  return Buffer.concat(parts)
}

function checkRefName(name: string, line: string): void {
  // Full check-ref-format rules belong to the ref store; here we only refuse what could
  // never be a ref and could confuse whoever prints or stores it.
  if (name.length === 0 || /[\x00-\x20\x7f]/.test(name)) {
    throw new ProtocolError(`protocol error: bad ref name in ls-refs line ${JSON.stringify(line.slice(0, 200))}`)
  }
}

function badLine(line: string): ProtocolError {
  return new ProtocolError(`protocol error: malformed ls-refs line ${JSON.stringify(line.slice(0, 200))}`)
}

export function parseLsRefsLine(line: string): RemoteRef {
  const fields = line.split(' ')
  const head = fields[0]
  const name = fields[1]
  if (head === undefined || name === undefined) throw badLine(line)
  checkRefName(name, line)
  let ref: RemoteRef
  if (head === 'unborn') ref = { name, oid: undefined, unborn: true }
  else if (isOid(head)) ref = { name, oid: head, unborn: false }
  else throw new ProtocolError(`protocol error: bad object id ${JSON.stringify(head.slice(0, 80))} in ls-refs response`)
  for (const attr of fields.slice(2)) {
    if (attr.startsWith('symref-target:')) {
      const target = attr.slice('symref-target:'.length)
      checkRefName(target, line)
      ref.symrefTarget = target
    } else if (attr.startsWith('peeled:')) {
      const peeled = attr.slice('peeled:'.length)
      if (!isOid(peeled)) throw new ProtocolError(`protocol error: bad peeled object id ${JSON.stringify(peeled.slice(0, 80))} in ls-refs response`)
      ref.peeled = peeled
    } else if (attr.length === 0) {
      throw badLine(line)
    }
    // Other attributes are future extensions; git ignores them too.
  }
  return ref
}

/** Reads ls-refs output up to its flush. */
export async function parseLsRefs(reader: PacketSource, opts: { maxRefs?: number } = {}): Promise<RemoteRef[]> {
  const max = opts.maxRefs ?? DEFAULT_MAX_REFS
  const refs: RemoteRef[] = []
  for (;;) {
    const p = await reader.expect('ls-refs response')
    if (p.type === 'flush') return refs
    if (p.type !== 'data') throw new ProtocolError(`protocol error: unexpected ${p.type} packet in ls-refs response`)
    if (refs.length >= max) throw new ProtocolError(`protocol error: server sent more than ${max} refs`)
    refs.push(parseLsRefsLine(pktText(p)))
  }
}
