/**
 * Protocol v0/v1 (gitprotocol-pack), for servers that do not speak v2: the reference
 * advertisement, the upload-pack request, and its response. Pure, like the v2 modules:
 * nothing from the server is trusted (object ids checked, lines and counts bounded).
 *
 * tsgit asks for no multi_ack: it sends its wants, its haves and `done` in one request
 * (git's own stateless http fetch does the same once it has nothing more to negotiate),
 * so the answer is one ACK or NAK line, then the pack on side-band-64k.
 *
 * So that the operations ask one object what a server can do, the v0 capabilities are
 * also shown as the v2 ones they stand for (v2View): `fetch=shallow filter`, agent,
 * object-format; ls-refs is answered from the advertisement.
 */
import { ProtocolError } from '../errors.js'
import { isOid, type Oid } from '../oid.js'
import { encodePkt, flushPkt, pktText } from '../pktline/pktline.js'
import { demuxSideband, type PacketSource, type RemoteTextSink } from '../pktline/sideband.js'
import { assertLineSafe, Capabilities, MAX_CAPABILITIES } from './capabilities.js'
import type { FetchArgs, FetchResponse } from './fetch.js'
import { DEFAULT_AGENT, DEFAULT_MAX_REFS, type RemoteRef } from './ls-refs.js'

const ZERO_OID = '0'.repeat(40)
const CAP_KEY_RE = /^[A-Za-z0-9-_]+$/

export interface V0Advertisement {
  /** Capabilities of the first line, in order; `symref` may appear more than once, hence symrefs. */
  capabilities: ReadonlyMap<string, string | undefined>
  /** symref=<name>:<target> capabilities (HEAD's branch). */
  symrefs: ReadonlyMap<string, string>
  /** The refs in advertisement order, with their peeled ids and HEAD's symref target. */
  refs: RemoteRef[]
  /** `shallow <oid>` lines: the server's repository is shallow. */
  shallow: Oid[]
}

export interface V0AdvertisementOptions {
  maxRefs?: number
}

function bad(line: string, what: string): ProtocolError {
  return new ProtocolError(`protocol error: ${what} in ref advertisement: ${JSON.stringify(line.slice(0, 200))}`)
}

function checkRefName(name: string, line: string): void {
  if (name.length === 0 || /[\x00-\x20\x7f]/.test(name)) throw bad(line, 'bad ref name')
}

function parseCapabilityList(text: string, line: string): { caps: Map<string, string | undefined>; symrefs: Map<string, string> } {
  const caps = new Map<string, string | undefined>()
  const symrefs = new Map<string, string>()
  for (const word of text.split(' ')) {
    if (word === '') continue
    const eq = word.indexOf('=')
    const key = eq < 0 ? word : word.slice(0, eq)
    const value = eq < 0 ? undefined : word.slice(eq + 1)
    if (!CAP_KEY_RE.test(key)) throw bad(line, 'malformed capability')
    if (caps.size >= MAX_CAPABILITIES) throw new ProtocolError(`protocol error: more than ${MAX_CAPABILITIES} capabilities advertised`)
    if (key === 'symref' && value !== undefined) {
      const colon = value.indexOf(':')
      const from = value.slice(0, colon)
      const to = value.slice(colon + 1)
      if (colon <= 0) throw bad(line, 'malformed symref capability')
      checkRefName(from, line)
      checkRefName(to, line)
      if (!symrefs.has(from)) symrefs.set(from, to)
    }
    caps.set(key, value)
  }
  return { caps, symrefs }
}

/**
 * Reads a v0 reference advertisement up to its flush; `first` is its first packet when
 * the caller has read it already (to tell v0 from v2). A "version 1" line is skipped.
 * An empty repository advertises `<zero id> capabilities^{}` and no ref.
 */
export async function parseV0Advertisement(reader: PacketSource, opts: V0AdvertisementOptions = {}): Promise<V0Advertisement> {
  const max = opts.maxRefs ?? DEFAULT_MAX_REFS
  let p = await reader.expect('ref advertisement')
  if (p.type === 'data' && pktText(p) === 'version 1') p = await reader.expect('ref advertisement')
  const refs: RemoteRef[] = []
  const shallow: Oid[] = []
  let caps = new Map<string, string | undefined>()
  let symrefs = new Map<string, string>()
  // A repository with no ref at all may send nothing but the flush (git before 1.8 did).
  if (p.type === 'flush') return { capabilities: caps, symrefs, refs, shallow }
  let first = true
  for (;; p = await reader.expect('ref advertisement or flush')) {
    if (p.type === 'flush') break
    if (p.type !== 'data') throw new ProtocolError(`protocol error: unexpected ${p.type} packet in ref advertisement`)
    let line = pktText(p)
    if (first) {
      const nul = line.indexOf('\0')
      if (nul < 0) throw bad(line, 'no capabilities on the first line')
      ;({ caps, symrefs } = parseCapabilityList(line.slice(nul + 1), line))
      line = line.slice(0, nul)
    }
    if (line.startsWith('shallow ')) {
      const oid = line.slice('shallow '.length)
      if (!isOid(oid)) throw bad(line, 'bad object id')
      if (shallow.length >= max) throw new ProtocolError(`protocol error: server sent more than ${max} shallow lines`)
      shallow.push(oid)
      first = false
      continue
    }
    const sp = line.indexOf(' ')
    const oid = line.slice(0, sp)
    const name = line.slice(sp + 1)
    if (sp < 0 || !isOid(oid)) throw bad(line, 'bad object id')
    if (first && oid === ZERO_OID && name === 'capabilities^{}') {
      first = false
      continue
    }
    first = false
    if (name.endsWith('^{}')) {
      const base = name.slice(0, -3)
      const last = refs[refs.length - 1]
      // A peeled line follows its tag at once; anything else is not git's advertisement.
      if (last === undefined || last.name !== base || last.peeled !== undefined) throw bad(line, 'peeled line without its ref')
      last.peeled = oid
      continue
    }
    checkRefName(name, line)
    if (refs.length >= max) throw new ProtocolError(`protocol error: server sent more than ${max} refs`)
    const ref: RemoteRef = { name, oid, unborn: false }
    const target = symrefs.get(name)
    if (target !== undefined) ref.symrefTarget = target
    refs.push(ref)
  }
  return { capabilities: caps, symrefs, refs, shallow }
}

/** The refs of an advertisement that ls-refs with these prefixes would have listed. */
export function refsWithPrefixes(refs: readonly RemoteRef[], prefixes: readonly string[]): RemoteRef[] {
  if (prefixes.length === 0) return [...refs]
  return refs.filter((r) => prefixes.some((p) => r.name.startsWith(p)))
}

/**
 * The v2 capabilities a v0 server's stand for, for the questions the operations ask
 * (serverSupportsFilter, fetch features, agent, object format). No command is ever
 * built from it: buildV0Request builds from the v0 list.
 */
export function v2View(adv: V0Advertisement): Capabilities {
  const c = adv.capabilities
  const fetch = [...(c.has('shallow') ? ['shallow'] : []), ...(c.has('filter') ? ['filter'] : [])]
  const entries = new Map<string, string | undefined>([['fetch', fetch.join(' ')]])
  if (c.has('agent')) entries.set('agent', c.get('agent'))
  if (c.has('object-format')) entries.set('object-format', c.get('object-format'))
  return new Capabilities(entries)
}

function wantLine(oid: string, caps?: string): Buffer {
  if (!isOid(oid)) throw new ProtocolError(`invalid want object id ${JSON.stringify(oid)}`)
  return encodePkt(`want ${oid}${caps !== undefined && caps !== '' ? ` ${caps}` : ''}\n`)
}

/**
 * The upload-pack request: wants (capabilities on the first), shallow, deepen, filter,
 * flush, haves, done, in the order git's fetch-pack sends them. Each capability asked
 * for is one the server advertised; what v0 cannot carry (want-ref, packfile-uris,
 * sideband-all, server options) is refused.
 */
export function buildV0Request(adv: V0Advertisement, args: FetchArgs): Buffer {
  const c = adv.capabilities
  if (args.wants.length === 0) throw new ProtocolError('fetch request without any want')
  if ((args.wantRefs ?? []).length > 0) throw new ProtocolError('server does not support want-ref (protocol v0)')
  if ((args.packfileUriProtocols ?? []).length > 0 || args.sidebandAll === true || args.waitForDone === true) {
    throw new ProtocolError('protocol v0 server: packfile-uris, sideband-all and wait-for-done need protocol v2')
  }
  if ((args.serverOptions ?? []).length > 0) throw new ProtocolError('server options require protocol version 2 or later')
  const format = c.get('object-format')
  if (format !== undefined && format !== 'sha1') throw new ProtocolError(`the server does not support algorithm 'sha1' (it uses '${format}')`)
  const words: string[] = []
  if (c.has('side-band-64k')) words.push('side-band-64k')
  else if (c.has('side-band')) words.push('side-band')
  else throw new ProtocolError('the server does not support side-band (protocol v0 without side-band is not supported)')
  if (args.thinPack && c.has('thin-pack')) words.push('thin-pack')
  if (args.noProgress && c.has('no-progress')) words.push('no-progress')
  if (args.includeTag && c.has('include-tag')) words.push('include-tag')
  if (args.ofsDelta && c.has('ofs-delta')) words.push('ofs-delta')
  if (c.has('agent')) {
    const agent = args.agent ?? DEFAULT_AGENT
    if (/[\s\0]/.test(agent) || agent.length === 0) throw new ProtocolError(`invalid agent string ${JSON.stringify(agent)}`)
    words.push(`agent=${agent}`)
  }
  // --shallow-since, --shallow-exclude and --deepen: capabilities in v0, each asked for with its line
  if (args.deepenSince !== undefined) {
    if (!c.has('deepen-since')) throw new ProtocolError('Server does not support --shallow-since')
    if (!Number.isSafeInteger(args.deepenSince)) throw new ProtocolError(`invalid deepen-since value ${args.deepenSince}`)
    words.push('deepen-since')
  }
  if ((args.deepenNot ?? []).length > 0) {
    if (!c.has('deepen-not')) throw new ProtocolError('Server does not support --shallow-exclude')
    words.push('deepen-not')
  }
  if (args.deepenRelative === true) {
    if (!c.has('deepen-relative')) throw new ProtocolError('Server does not support --deepen')
    words.push('deepen-relative')
  }
  const filter = args.filter !== undefined && c.has('filter') ? args.filter : undefined
  if (filter !== undefined) {
    assertLineSafe('filter', filter)
    words.push('filter')
  }
  const parts: Buffer[] = []
  const seen = new Set<string>()
  for (const oid of args.wants) {
    if (seen.has(oid)) continue
    parts.push(wantLine(oid, seen.size === 0 ? words.join(' ') : undefined))
    seen.add(oid)
  }
  if (args.shallow !== undefined && args.shallow.length > 0) {
    if (!c.has('shallow')) throw new ProtocolError('Server does not support shallow clients')
    for (const oid of args.shallow) {
      if (!isOid(oid)) throw new ProtocolError(`invalid shallow object id ${JSON.stringify(oid)}`)
      parts.push(encodePkt(`shallow ${oid}\n`))
    }
  }
  if (args.deepen !== undefined) {
    if (!c.has('shallow')) throw new ProtocolError('Server does not support shallow requests')
    if (!Number.isSafeInteger(args.deepen) || args.deepen < 1) throw new ProtocolError(`invalid deepen value ${args.deepen}`)
    parts.push(encodePkt(`deepen ${args.deepen}\n`))
  }
  if (args.deepenSince !== undefined) parts.push(encodePkt(`deepen-since ${args.deepenSince}\n`))
  for (const ref of args.deepenNot ?? []) {
    if (ref.length === 0 || /[\x00-\x20\x7f]/.test(ref)) throw new ProtocolError(`invalid deepen-not ${JSON.stringify(ref)}`)
    parts.push(encodePkt(`deepen-not ${ref}\n`))
  }
  if (filter !== undefined) parts.push(encodePkt(`filter ${filter}\n`))
  parts.push(flushPkt())
  for (const oid of args.haves ?? []) {
    if (!isOid(oid)) throw new ProtocolError(`invalid have object id ${JSON.stringify(oid)}`)
    parts.push(encodePkt(`have ${oid}\n`))
  }
  parts.push(encodePkt('done\n'))
  return Buffer.concat(parts)
}

/**
 * Whether the server answers a request with a shallow-update section first: only when it
 * cuts history (deepen, deepen-since, deepen-not; a shallow client's `shallow` lines
 * alone get none).
 */
export function expectsShallowUpdate(adv: V0Advertisement, args: FetchArgs): boolean {
  return adv.capabilities.has('shallow') && (args.deepen !== undefined || args.deepenSince !== undefined || (args.deepenNot ?? []).length > 0)
}

export interface V0ResponseOptions {
  /** The request deepens (expectsShallowUpdate). */
  shallowUpdate: boolean
  maxLines?: number
}

function oidAfter(line: string, prefix: string): Oid {
  const oid = line.slice(prefix.length)
  if (!isOid(oid)) throw new ProtocolError(`protocol error: bad object id in ${JSON.stringify(line.slice(0, 120))}`)
  return oid
}

/**
 * Reads the answer to buildV0Request: the shallow-update section (shallow/unshallow
 * lines, flush) when one is due, then one ACK or NAK line, then the pack on side-band,
 * handed on as the v2 parser hands on its packfile section.
 */
export async function parseV0Response(reader: PacketSource, sink: RemoteTextSink, opts: V0ResponseOptions): Promise<FetchResponse> {
  const max = opts.maxLines ?? 10_000_000
  const res: FetchResponse = { acks: undefined, shallow: [], unshallow: [], wantedRefs: new Map(), packfileUris: [], pack: undefined }
  if (opts.shallowUpdate) {
    for (let n = 0; ; n++) {
      const p = await reader.expect('shallow-update')
      if (p.type === 'flush') break
      if (p.type !== 'data') throw new ProtocolError(`protocol error: unexpected ${p.type} packet in shallow-update`)
      if (n >= max) throw new ProtocolError(`protocol error: more than ${max} lines in shallow-update`)
      const line = pktText(p)
      if (line.startsWith('shallow ')) res.shallow.push(oidAfter(line, 'shallow '))
      else if (line.startsWith('unshallow ')) res.unshallow.push(oidAfter(line, 'unshallow '))
      else throw new ProtocolError(`protocol error: expected shallow/unshallow, got ${JSON.stringify(line.slice(0, 120))}`)
    }
  }
  const p = await reader.expect('ACK/NAK')
  const line = p.type === 'data' ? pktText(p) : ''
  if (line === 'NAK') res.acks = { commonOids: [], ready: false, nak: true }
  else if (line.startsWith('ACK ') && isOid(line.slice(4))) res.acks = { commonOids: [line.slice(4)], ready: false, nak: false }
  else throw new ProtocolError(`protocol error: expected ACK/NAK, got ${p.type === 'data' ? JSON.stringify(line.slice(0, 120)) : `a ${p.type} packet`}`)
  res.pack = demuxSideband(reader, sink)
  return res
}

/**
 * Which protocol the server answered in: 2 when its first line is "version 2", else 0
 * (a v0 or v1 reference advertisement). A "# service=" preamble is consumed; the first
 * line of the answer itself is left for parseCapabilities or parseV0Advertisement.
 */
export async function advertisedVersion(reader: PacketSource): Promise<0 | 2> {
  let first = await reader.peek()
  if (first?.type === 'data' && pktText(first).startsWith('# service=')) {
    await reader.read()
    const after = await reader.expect('flush after service announcement')
    if (after.type !== 'flush') throw new ProtocolError('protocol error: expected flush after service announcement')
    first = await reader.peek()
  }
  if (first === undefined) await reader.expect('capability advertisement')
  return first?.type === 'data' && pktText(first) === 'version 2' ? 2 : 0
}
