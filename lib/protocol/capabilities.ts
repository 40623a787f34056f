/**
 * The protocol v2 capability advertisement (gitprotocol-v2 "Capability Advertisement"):
 * "version 2", then one "key[=value]" line per capability, then flush. Parsed once;
 * everything that builds a request asks this object what the server supports.
 */
import { ProtocolError } from '../errors.js'
import { delimPkt, encodePkt, pktText } from '../pktline/pktline.js'
import type { PacketSource } from '../pktline/sideband.js'

/** A server advertising more capabilities than this is not a git server we want to talk to. */
export const MAX_CAPABILITIES = 4096

const KEY_RE = /^[A-Za-z0-9-_]+$/

export class Capabilities {
  readonly version = 2 as const
  private readonly entries: ReadonlyMap<string, string | undefined>

  constructor(entries: ReadonlyMap<string, string | undefined>) {
    this.entries = entries
  }

  has(name: string): boolean {
    return this.entries.has(name)
  }

  /** The value after '=', or undefined when the capability is absent or has no value. */
  value(name: string): string | undefined {
    return this.entries.get(name)
  }

  /** The space-separated features of a command, e.g. fetch=shallow filter → {shallow, filter}. */
  commandFeatures(cmd: string): Set<string> {
    const v = this.entries.get(cmd)
    return new Set(v === undefined ? [] : v.split(' ').filter((s) => s.length > 0))
  }

  get agent(): string | undefined {
    return this.entries.get('agent')
  }

  /** The advertised hash algorithm; a server that says nothing only speaks SHA-1. */
  get objectFormat(): string {
    return this.entries.get('object-format') ?? 'sha1'
  }

  /** Capability names in advertisement order. */
  names(): string[] {
    return [...this.entries.keys()]
  }
}

function notV2(): ProtocolError {
  return new ProtocolError('server does not support protocol v2')
}

/**
 * Reads the advertisement up to and including its flush. A "# service=..." preamble
 * (smart HTTP, when the transport left it in) is skipped; any other first line means the
 * server answered in protocol v0/v1, which tsgit does not speak.
 */
export async function parseCapabilities(reader: PacketSource): Promise<Capabilities> {
  let first = await reader.expect('capability advertisement')
  if (first.type === 'data' && pktText(first).startsWith('# service=')) {
    const after = await reader.expect('flush after service announcement')
    if (after.type !== 'flush') throw new ProtocolError('protocol error: expected flush after service announcement')
    first = await reader.expect('capability advertisement')
  }
  if (first.type !== 'data' || pktText(first) !== 'version 2') throw notV2()

  const entries = new Map<string, string | undefined>()
  for (;;) {
    const p = await reader.expect('capability or flush')
    if (p.type === 'flush') break
    if (p.type !== 'data') throw new ProtocolError(`protocol error: unexpected ${p.type} packet in capability advertisement`)
    const line = pktText(p)
    const eq = line.indexOf('=')
    const key = eq < 0 ? line : line.slice(0, eq)
    if (!KEY_RE.test(key)) throw new ProtocolError(`protocol error: malformed capability ${JSON.stringify(line.slice(0, 200))}`)
    if (entries.size >= MAX_CAPABILITIES) throw new ProtocolError(`protocol error: more than ${MAX_CAPABILITIES} capabilities advertised`)
    entries.set(key, eq < 0 ? undefined : line.slice(eq + 1))
  }
  return new Capabilities(entries)
}

/** The server must advertise a command before we send it. */
export function requireCommand(caps: Capabilities, cmd: string): void {
  if (!caps.has(cmd)) throw new ProtocolError(`server does not support the '${cmd}' command`)
}

/** Rejects values that would break a request line (the protocol forbids NUL and LF). */
export function assertLineSafe(what: string, value: string): void {
  if (/[\0\n]/.test(value)) throw new ProtocolError(`${what} must not contain NUL or LF: ${JSON.stringify(value)}`)
}

/**
 * The capability-list part every v2 command request starts with: command=, then agent=
 * and object-format= only when the server advertised them (as git does), then delim.
 */
export function commandHeader(cmd: string, caps: Capabilities, agent: string, serverOptions: readonly string[] = []): Buffer {
  if (/[\s\0]/.test(agent) || agent.length === 0) throw new ProtocolError(`invalid agent string ${JSON.stringify(agent)}`)
  requireCommand(caps, cmd)
  const parts = [encodePkt(`command=${cmd}\n`)]
  if (caps.has('agent')) parts.push(encodePkt(`agent=${agent}\n`))
  if (caps.has('object-format')) {
    // tsgit repositories are SHA-1 only; asking a SHA-256 server for SHA-1 would fail later and less clearly.
    if (caps.objectFormat !== 'sha1') throw new ProtocolError(`the server does not support algorithm 'sha1' (it uses '${caps.objectFormat}')`)
    parts.push(encodePkt('object-format=sha1\n'))
  }
  if (serverOptions.length > 0) {
    if (!caps.has('server-option')) throw new ProtocolError('server does not support server-option')
    for (const o of serverOptions) {
      assertLineSafe('server option', o)
      parts.push(encodePkt(`server-option=${o}\n`))
    }
  }
  parts.push(delimPkt())
  return Buffer.concat(parts)
}
