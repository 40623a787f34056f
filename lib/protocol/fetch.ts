/**
 * The v2 fetch command (gitprotocol-v2 "fetch"): the request, and the response as an
 * explicit walk through its sections in the one order the spec allows. The pack itself
 * is handed on as a stream of band-1 chunks; this module never buffers or parses it.
 */
import { ProtocolError } from '../errors.js'
import { isOid, type Oid } from '../oid.js'
import { encodePkt, flushPkt, pktText, type Packet } from '../pktline/pktline.js'
import { demuxSideband, unwrapSidebandAll, type PacketSource, type RemoteTextSink } from '../pktline/sideband.js'
import { assertLineSafe, commandHeader, type Capabilities } from './capabilities.js'
import { DEFAULT_AGENT } from './ls-refs.js'

export interface FetchArgs {
  wants: readonly Oid[]
  haves?: readonly Oid[]
  done: boolean
  thinPack?: boolean
  noProgress?: boolean
  includeTag?: boolean
  ofsDelta?: boolean
  /** Needs fetch=sideband-all. */
  sidebandAll?: boolean
  /** Already parsed and in wire form (filterToWire). Dropped when the server lacks fetch=filter: see serverSupportsFilter. */
  filter?: string
  /** Needs fetch=packfile-uris; e.g. ["https"]. */
  packfileUriProtocols?: readonly string[]
  /** Needs fetch=ref-in-want. */
  wantRefs?: readonly string[]
  /** The client's shallow commits ($GIT_DIR/shallow), sent as `shallow` lines. Needs fetch=shallow. */
  shallow?: readonly Oid[]
  /** Needs fetch=shallow. */
  deepen?: number
  /** `deepen-since <seconds since the epoch>` (--shallow-since). Needs fetch=shallow. */
  deepenSince?: number
  /** `deepen-not <ref>` lines (--shallow-exclude). Needs fetch=shallow. */
  deepenNot?: readonly string[]
  /** `deepen-relative`: `deepen` counts from the client's shallow boundary (--deepen). */
  deepenRelative?: boolean
  /** Needs fetch=wait-for-done. */
  waitForDone?: boolean
  agent?: string
  serverOptions?: readonly string[]
}

/**
 * Whether a filter will reach the server. git warns "filtering not recognized by server,
 * ignoring" and fetches everything when it will not; the caller decides whether to do the same.
 */
export function serverSupportsFilter(caps: Capabilities): boolean {
  return caps.commandFeatures('fetch').has('filter')
}

function requireFeature(caps: Capabilities, feature: string, arg: string): void {
  if (!caps.commandFeatures('fetch').has(feature)) {
    throw new ProtocolError(`server does not support ${arg} (fetch=${feature} not advertised)`)
  }
}

function checkOid(what: string, oid: string): void {
  if (!isOid(oid)) throw new ProtocolError(`invalid ${what} object id ${JSON.stringify(oid)}`)
}

/**
 * `want <oid>` / `have <oid>` pkt-lines, written straight into one buffer: a backfill
 * batch has tens of thousands of them.
 */
function idLines(word: 'want' | 'have', oids: readonly string[]): Buffer {
  const head = `${word} `
  const lineLength = 4 + head.length + 40 + 1
  const prefix = lineLength.toString(16).padStart(4, '0') + head
  const out = Buffer.allocUnsafe(lineLength * oids.length)
  let pos = 0
  for (const oid of oids) {
    checkOid(word, oid)
    pos += out.write(prefix, pos, 'latin1')
    pos += out.write(oid, pos, 'latin1')
    out[pos++] = 0x0a
  }
  return out
}

/** Arguments go in the order git 2.39's fetch-pack sends them. */
export function buildFetchRequest(caps: Capabilities, args: FetchArgs): Buffer {
  const lines: string[] = []
  if (args.thinPack) lines.push('thin-pack')
  if (args.noProgress) lines.push('no-progress')
  if (args.includeTag) lines.push('include-tag')
  if (args.ofsDelta) lines.push('ofs-delta')
  if (args.sidebandAll) {
    requireFeature(caps, 'sideband-all', 'sideband-all')
    lines.push('sideband-all')
  }
  if (args.shallow !== undefined && args.shallow.length > 0) {
    // git's words for a shallow repository and a server that cannot take it
    if (!caps.commandFeatures('fetch').has('shallow')) throw new ProtocolError('Server does not support shallow clients')
    for (const oid of args.shallow) {
      checkOid('shallow', oid)
      lines.push(`shallow ${oid}`)
    }
  }
  if (args.deepen !== undefined) {
    // git's words when the server cannot cut history
    if (!caps.commandFeatures('fetch').has('shallow')) throw new ProtocolError('Server does not support shallow requests')
    if (!Number.isSafeInteger(args.deepen) || args.deepen < 1) throw new ProtocolError(`invalid deepen value ${args.deepen}`)
    lines.push(`deepen ${args.deepen}`)
  }
  const cuts = args.deepenSince !== undefined || (args.deepenNot ?? []).length > 0 || args.deepenRelative === true
  if (cuts && !caps.commandFeatures('fetch').has('shallow')) throw new ProtocolError('Server does not support shallow requests')
  if (args.deepenSince !== undefined) {
    if (!Number.isSafeInteger(args.deepenSince)) throw new ProtocolError(`invalid deepen-since value ${args.deepenSince}`)
    lines.push(`deepen-since ${args.deepenSince}`)
  }
  for (const ref of args.deepenNot ?? []) {
    if (ref.length === 0 || /[\x00-\x20\x7f]/.test(ref)) throw new ProtocolError(`invalid deepen-not ${JSON.stringify(ref)}`)
    lines.push(`deepen-not ${ref}`)
  }
  if (args.deepenRelative === true) lines.push('deepen-relative')
  if (args.filter !== undefined) {
    assertLineSafe('filter', args.filter)
    if (serverSupportsFilter(caps)) lines.push(`filter ${args.filter}`)
  }
  if (args.packfileUriProtocols !== undefined && args.packfileUriProtocols.length > 0) {
    requireFeature(caps, 'packfile-uris', 'packfile-uris')
    for (const p of args.packfileUriProtocols) {
      if (!/^[a-z][a-z0-9+.-]*$/.test(p)) throw new ProtocolError(`invalid packfile-uri protocol ${JSON.stringify(p)}`)
    }
    lines.push(`packfile-uris ${args.packfileUriProtocols.join(',')}`)
  }
  if (args.wantRefs !== undefined && args.wantRefs.length > 0) requireFeature(caps, 'ref-in-want', 'want-ref')
  for (const ref of args.wantRefs ?? []) {
    if (ref.length === 0 || /[\x00-\x20\x7f]/.test(ref)) throw new ProtocolError(`invalid want-ref ${JSON.stringify(ref)}`)
    lines.push(`want-ref ${ref}`)
  }
  if (args.wants.length === 0 && (args.wantRefs ?? []).length === 0) throw new ProtocolError('fetch request without any want')
  const ids = [idLines('want', args.wants), idLines('have', args.haves ?? [])]
  const tail: string[] = []
  if (args.waitForDone) {
    requireFeature(caps, 'wait-for-done', 'wait-for-done')
    tail.push('wait-for-done')
  }
  if (args.done) tail.push('done')
  return Buffer.concat([
    commandHeader('fetch', caps, args.agent ?? DEFAULT_AGENT, args.serverOptions),
    ...lines.map((l) => encodePkt(`${l}\n`)),
    ...ids,
    ...tail.map((l) => encodePkt(`${l}\n`)),
    flushPkt(),
  ])
}

export interface Acknowledgments {
  commonOids: Oid[]
  ready: boolean
  nak: boolean
}

export interface PackfileUri {
  /** The pack's checksum as index-pack prints it. */
  hash: string
  uri: string
}

export interface FetchResponse {
  /** Undefined when the server omitted the section (the client sent done). */
  acks: Acknowledgments | undefined
  shallow: Oid[]
  unshallow: Oid[]
  wantedRefs: Map<string, Oid>
  packfileUris: PackfileUri[]
  /** The packfile section's bytes, read lazily from the reader; undefined while negotiation continues. */
  pack: AsyncIterable<Buffer> | undefined
}

export interface FetchResponseOptions {
  /** The request asked for sideband-all, so every data packet is band-framed. */
  sidebandAll?: boolean
  /** Bounds for lists the server controls. */
  maxLines?: number
}

export const DEFAULT_MAX_SECTION_LINES = 10_000_000

const SECTION_ORDER = ['acknowledgments', 'shallow-info', 'wanted-refs', 'packfile-uris', 'packfile'] as const
type SectionName = (typeof SECTION_ORDER)[number]

/**
 * Position of each section in the response. Deviation: the spec puts shallow-info before
 * wanted-refs, but git 2.39's upload-pack sends wanted-refs first (a want-ref + deepen fetch
 * then fails in git's own client), so those two may come in either order; each still at most once.
 */
const SECTION_RANK: Record<SectionName, number> = {
  acknowledgments: 0,
  'shallow-info': 1,
  'wanted-refs': 1,
  'packfile-uris': 2,
  packfile: 3,
}

function isSectionName(s: string): s is SectionName {
  return (SECTION_ORDER as readonly string[]).includes(s)
}

function unexpected(p: Packet, where: string): ProtocolError {
  const what = p.type === 'data' ? JSON.stringify(p.data.subarray(0, 80).toString('utf8')) : `${p.type} packet`
  return new ProtocolError(`protocol error: unexpected ${what} in ${where}`)
}

/** Reads the data lines of one section, up to (not including) its terminating delim or flush. */
async function sectionLines(reader: PacketSource, section: string, max: number): Promise<string[]> {
  const out: string[] = []
  for (;;) {
    const p = await reader.peek()
    if (p === undefined) await reader.expect(`end of ${section} section`)
    if (p === undefined || p.type !== 'data') return out
    await reader.read()
    if (out.length >= max) throw new ProtocolError(`protocol error: more than ${max} lines in ${section} section`)
    out.push(pktText(p))
  }
}

function oidAfter(line: string, prefix: string, section: string): Oid {
  const oid = line.slice(prefix.length)
  if (!isOid(oid)) throw new ProtocolError(`protocol error: bad object id in ${section} line ${JSON.stringify(line.slice(0, 120))}`)
  return oid
}

function parseAcks(lines: string[]): Acknowledgments {
  const acks: Acknowledgments = { commonOids: [], ready: false, nak: false }
  for (const line of lines) {
    if (acks.ready) throw new ProtocolError(`protocol error: ${JSON.stringify(line.slice(0, 120))} after ready in acknowledgments`)
    if (line === 'NAK') acks.nak = true
    else if (line === 'ready') acks.ready = true
    else if (line.startsWith('ACK ')) acks.commonOids.push(oidAfter(line, 'ACK ', 'acknowledgments'))
    else throw new ProtocolError(`protocol error: unexpected acknowledgment ${JSON.stringify(line.slice(0, 120))}`)
  }
  if (acks.nak && acks.commonOids.length > 0) throw new ProtocolError('protocol error: both ACK and NAK in acknowledgments')
  return acks
}

/** Yields the packfile section's bytes when it is sideband-all (already unwrapped once). */
async function* plainPackStream(reader: PacketSource): AsyncGenerator<Buffer, void, undefined> {
  for (;;) {
    let p: Packet
    try {
      p = await reader.expect('pack data')
    } catch (e) {
      // a packet cut short: what came of it is pack (SidebandAllReader took its band byte)
      const rest = reader.takeCutShort?.()
      if (rest !== undefined && rest.length > 0) yield rest
      throw e
    }
    if (p.type === 'flush') return
    if (p.type !== 'data') throw unexpected(p, 'packfile section')
    if (p.data.length > 0) yield p.data
  }
}

/**
 * Walks the response sections in spec order (acknowledgments, shallow-info, wanted-refs,
 * packfile-uris, packfile), each at most once, and stops at the start of the pack data.
 * The caller must consume `pack` (when present) to the end before reusing the reader.
 */
export async function parseFetchResponse(
  raw: PacketSource,
  sink: RemoteTextSink,
  opts: FetchResponseOptions = {},
): Promise<FetchResponse> {
  const max = opts.maxLines ?? DEFAULT_MAX_SECTION_LINES
  const reader = opts.sidebandAll ? unwrapSidebandAll(raw, sink) : raw
  const res: FetchResponse = { acks: undefined, shallow: [], unshallow: [], wantedRefs: new Map(), packfileUris: [], pack: undefined }
  let lastRank = -1
  let last: SectionName | undefined
  const seen = new Set<SectionName>()
  for (;;) {
    const header = await reader.expect('fetch response section')
    if (header.type !== 'data') throw unexpected(header, 'fetch response (expected a section header)')
    const name = pktText(header)
    if (!isSectionName(name)) throw new ProtocolError(`protocol error: unknown section '${name.slice(0, 80)}' in fetch response`)
    if (SECTION_RANK[name] < lastRank || seen.has(name)) {
      throw new ProtocolError(`protocol error: section '${name}' out of order in fetch response (after '${last}')`)
    }
    lastRank = SECTION_RANK[name]
    last = name
    seen.add(name)

    if (name === 'packfile') {
      res.pack = opts.sidebandAll ? plainPackStream(reader) : demuxSideband(reader, sink)
      return res
    }

    const lines = await sectionLines(reader, name, max)
    switch (name) {
      case 'acknowledgments':
        res.acks = parseAcks(lines)
        break
      case 'shallow-info':
        for (const line of lines) {
          if (line.startsWith('shallow ')) res.shallow.push(oidAfter(line, 'shallow ', name))
          else if (line.startsWith('unshallow ')) res.unshallow.push(oidAfter(line, 'unshallow ', name))
          else throw new ProtocolError(`protocol error: unexpected shallow-info line ${JSON.stringify(line.slice(0, 120))}`)
        }
        break
      case 'wanted-refs':
        for (const line of lines) {
          const sp = line.indexOf(' ')
          const oid = line.slice(0, sp)
          const ref = line.slice(sp + 1)
          if (sp < 0 || !isOid(oid) || ref.length === 0 || /[\x00-\x20\x7f]/.test(ref)) {
            throw new ProtocolError(`protocol error: malformed wanted-refs line ${JSON.stringify(line.slice(0, 120))}`)
          }
          res.wantedRefs.set(ref, oid)
        }
        break
      case 'packfile-uris':
        for (const line of lines) {
          const sp = line.indexOf(' ')
          const hash = line.slice(0, sp)
          const uri = line.slice(sp + 1)
          if (sp < 0 || !isOid(hash) || uri.length === 0 || /[\x00-\x1f\x7f]/.test(uri)) {
            throw new ProtocolError(`protocol error: malformed packfile-uris line ${JSON.stringify(line.slice(0, 120))}`)
          }
          res.packfileUris.push({ hash, uri })
        }
        break
    }

    const sep = await reader.expect(`delim or flush after ${name} section`)
    if (sep.type === 'delim') {
      if (name === 'acknowledgments' && res.acks !== undefined && !res.acks.ready) {
        throw new ProtocolError('protocol error: more sections after acknowledgments without ready')
      }
      continue
    }
    if (sep.type === 'flush') {
      if (name === 'acknowledgments' && res.acks !== undefined && !res.acks.ready) return res
      throw new ProtocolError(`protocol error: fetch response ended after '${name}' section without a packfile`)
    }
    throw unexpected(sep, `fetch response after '${name}' section`)
  }
}
