/**
 * Side-band demultiplexing (gitprotocol-pack "side-band-64k", reused by protocol v2's
 * packfile section and by the sideband-all fetch feature). Band 1 carries data,
 * band 2 progress text for the user, band 3 a fatal message just before the server aborts.
 */
import { PktLineError, RemoteError } from '../errors.js'
import { PeekablePackets, type Packet } from './pktline.js'

/** What the protocol parsers need from a packet stream; PktLineReader satisfies it. */
export interface PacketSource {
  /** The next packet, or undefined at a clean end of stream. */
  read(): Promise<Packet | undefined>
  /** The next packet without consuming it. */
  peek(): Promise<Packet | undefined>
  /** Like read(), but end of stream is an error naming what was expected. */
  expect(what: string): Promise<Packet>
  /** After read() threw: what had come of a data packet the stream ended inside, once (PktLineReader.takeCutShort). */
  takeCutShort?(): Buffer | undefined
}

/**
 * After `reader` threw: the band-1 bytes of the packet the stream was cut inside, if it
 * was one. A pack cut there keeps them (they arrived; a clone's salvage keeps whole
 * objects only and checks each).
 */
export function cutShortBand1(reader: PacketSource): Buffer | undefined {
  const b = reader.takeCutShort?.()
  return b !== undefined && b[0] === 1 && b.length > 1 ? b.subarray(1) : undefined
}

/** Receives server messages from band 2, one line at a time (terminator included). */
export interface RemoteTextSink {
  remote(text: string): void
}

export interface DemuxOptions {
  /** What ends the band-1 stream; only a flush packet does, as in git. */
  endOn?: 'flush'
}

/**
 * Splits band-2 text into lines the way git's progress display does: a line ends at
 * LF or CR (CR means "overwrite this line"), and a partial line waits for the next packet.
 * Each emitted string keeps its terminator so a renderer can tell the two apart.
 */
export class RemoteLineSplitter {
  private pending = ''

  constructor(private readonly sink: RemoteTextSink) {}

  push(data: Buffer): void {
    let text = this.pending + data.toString('utf8')
    for (;;) {
      const m = /[\r\n]/.exec(text)
      if (m === null) break
      this.sink.remote(text.slice(0, m.index + 1))
      text = text.slice(m.index + 1)
    }
    this.pending = text
  }

  /** Emits a trailing partial line, if any (the stream ended without a terminator). */
  flush(): void {
    if (this.pending.length > 0) this.sink.remote(this.pending)
    this.pending = ''
  }
}

function bandError(band: number): PktLineError {
  return new PktLineError(`protocol error: bad band #${band}`)
}

function remoteFatal(data: Buffer): RemoteError {
  const msg = data.subarray(1).toString('utf8').replace(/\n$/, '')
  return new RemoteError(`remote error: ${msg}`)
}

/**
 * Yields band-1 payloads until a flush packet. Empty band-1 packets (keepalives git
 * sends while it prepares a pack) are skipped. Band 3 throws RemoteError.
 */
export async function* demuxSideband(
  reader: PacketSource,
  sink: RemoteTextSink,
  _opts: DemuxOptions = {},
): AsyncGenerator<Buffer, void, undefined> {
  const lines = new RemoteLineSplitter(sink)
  try {
    for (;;) {
      let p: Packet | undefined
      try {
        p = await reader.read()
      } catch (e) {
        const rest = cutShortBand1(reader)
        if (rest !== undefined) yield rest
        throw e
      }
      if (p === undefined) {
        throw new PktLineError('the remote end hung up unexpectedly (sideband stream ended before flush)', { retryable: true })
      }
      if (p.type === 'flush') return
      if (p.type !== 'data') throw new PktLineError(`protocol error: unexpected ${p.type} packet in sideband stream`)
      const band = p.data[0]
      if (band === undefined) throw new PktLineError('protocol error: empty sideband packet (no band byte)')
      if (band === 1) {
        if (p.data.length > 1) yield p.data.subarray(1)
      } else if (band === 2) {
        lines.push(p.data.subarray(1))
      } else if (band === 3) {
        throw remoteFatal(p.data)
      } else {
        throw bandError(band)
      }
    }
  } finally {
    lines.flush()
  }
}

/**
 * In sideband-all mode every data packet of a fetch response is band-framed, section
 * headers included, while flush and delim stay bare. This strips band 1 so the response
 * parser sees the same packet stream as without sideband-all; band 2 goes to the sink,
 * band 3 throws. An empty band-1 packet comes out as an empty data packet.
 */
export class SidebandAllReader extends PeekablePackets implements PacketSource {
  private readonly lines: RemoteLineSplitter

  constructor(
    private readonly inner: PacketSource,
    sink: RemoteTextSink,
  ) {
    super()
    this.lines = new RemoteLineSplitter(sink)
  }

  /** The band-1 bytes of a packet cut short in the inner stream (cutShortBand1). */
  takeCutShort(): Buffer | undefined {
    return cutShortBand1(this.inner)
  }

  protected async next(): Promise<Packet | undefined> {
    for (;;) {
      const p = await this.inner.read()
      if (p === undefined) {
        this.lines.flush()
        return undefined
      }
      if (p.type !== 'data') {
        if (p.type === 'flush') this.lines.flush()
        return p
      }
      const band = p.data[0]
      if (band === undefined) throw new PktLineError('protocol error: empty sideband packet (no band byte)')
      if (band === 1) {
        // An empty band-1 packet is a keepalive (git 2.39's upload-pack sends one while
        // pack-objects counts, even before the packfile header): it carries no line.
        if (p.data.length === 1) continue
        return { type: 'data', data: p.data.subarray(1) }
      }
      if (band === 2) {
        this.lines.push(p.data.subarray(1))
        continue
      }
      if (band === 3) throw remoteFatal(p.data)
      throw bandError(band)
    }
  }
}

export function unwrapSidebandAll(reader: PacketSource, sink: RemoteTextSink): SidebandAllReader {
  return new SidebandAllReader(reader, sink)
}
