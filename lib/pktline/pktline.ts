/**
 * pkt-line framing (gitprotocol-common): a 4-hex-digit length that counts itself,
 * then the payload. 0000 flush, 0001 delim, 0002 response-end. Lengths are bounded
 * by LARGE_PACKET_MAX so a hostile server cannot make us buffer more than that.
 */
import { PktLineError, RemoteError } from '../errors.js'

export const LARGE_PACKET_MAX = 65520
export const LARGE_PACKET_DATA_MAX = LARGE_PACKET_MAX - 4

export type Packet =
  | { type: 'data'; data: Buffer }
  | { type: 'flush' }
  | { type: 'delim' }
  | { type: 'response-end' }

const FLUSH = Buffer.from('0000')
const DELIM = Buffer.from('0001')

export function flushPkt(): Buffer {
  return FLUSH
}
export function delimPkt(): Buffer {
  return DELIM
}

/** Encodes one data packet. Strings are sent as UTF-8; callers add the trailing LF where the protocol wants one. */
export function encodePkt(payload: string | Buffer): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
  if (data.length > LARGE_PACKET_DATA_MAX) {
    throw new PktLineError(`pkt-line payload of ${data.length} bytes exceeds ${LARGE_PACKET_DATA_MAX}`)
  }
  const header = Buffer.from((data.length + 4).toString(16).padStart(4, '0'), 'ascii')
  return Buffer.concat([header, data])
}

/** The payload of a data packet as text, without one trailing LF. */
export function pktText(p: Packet): string {
  if (p.type !== 'data') throw new PktLineError(`expected a data packet, got ${p.type}`)
  const s = p.data.toString('utf8')
  return s.endsWith('\n') ? s.slice(0, -1) : s
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10
  return -1
}

/**
 * Lookahead of one packet over a packet producer: read(), peek(), and expect() (read,
 * where the end of the stream is an error naming what was expected).
 */
export abstract class PeekablePackets {
  private peeked: Packet | undefined | null = null

  /** Produces the next packet, or undefined at the end of the stream. */
  protected abstract next(): Promise<Packet | undefined>

  /** The next packet without consuming it. */
  async peek(): Promise<Packet | undefined> {
    if (this.peeked === null) this.peeked = await this.next()
    return this.peeked
  }

  async read(): Promise<Packet | undefined> {
    if (this.peeked !== null) {
      const p = this.peeked
      this.peeked = null
      return p
    }
    return this.next()
  }

  /** Like read(), but end of stream is an error naming what was expected. */
  async expect(what: string): Promise<Packet> {
    const p = await this.read()
    if (p === undefined) throw new PktLineError(`the remote end hung up unexpectedly (expected ${what})`, { retryable: true })
    return p
  }
}

/**
 * Reads packets from a byte stream. Only what one packet needs is buffered.
 * `read()` resolves to undefined at a clean end of stream (between packets);
 * a stream that ends inside a packet is a PktLineError. What had come of a data packet
 * the stream ended (or failed) inside is kept for takeCutShort(): a cut pack's last
 * packet holds up to 64 KiB of pack that a resume can use.
 */
export class PktLineReader extends PeekablePackets {
  private readonly iterator: AsyncIterator<Buffer>
  private chunks: Buffer[] = []
  private buffered = 0
  private ended = false
  private cutShort: Buffer | undefined
  /** Bytes read from the underlying stream so far. */
  bytesRead = 0

  constructor(source: AsyncIterable<Buffer | Uint8Array | string>) {
    super()
    const inner = source[Symbol.asyncIterator]()
    this.iterator = {
      next: async () => {
        const r = await inner.next()
        if (r.done) return { done: true, value: undefined }
        const v = r.value
        const buf = typeof v === 'string' ? Buffer.from(v) : Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)
        return { done: false, value: buf }
      },
      return: async () => {
        if (inner.return) await inner.return()
        return { done: true, value: undefined }
      },
    }
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n) {
      if (this.ended) return false
      const r = await this.iterator.next()
      if (r.done) {
        this.ended = true
        return false
      }
      if (r.value.length === 0) continue
      this.chunks.push(r.value)
      this.buffered += r.value.length
      this.bytesRead += r.value.length
    }
    return true
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0)
    const first = this.chunks[0]
    if (first !== undefined && first.length >= n) {
      const out = first.subarray(0, n)
      if (first.length === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
      this.buffered -= n
      return out
    }
    // Across chunks: copy just the n bytes, and leave the rest where it is (a packet of
    // 8 KiB that straddles two 64 KiB chunks costs 8 KiB of copying, not 64).
    const out = Buffer.allocUnsafe(n)
    let filled = 0
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer
      const take = Math.min(chunk.length, n - filled)
      chunk.copy(out, filled, 0, take)
      filled += take
      if (take === chunk.length) this.chunks.shift()
      else this.chunks[0] = chunk.subarray(take)
    }
    this.buffered -= n
    return out
  }

  protected async next(): Promise<Packet | undefined> {
    if (!(await this.fill(4))) {
      if (this.buffered === 0) return undefined
      throw new PktLineError('the remote end hung up unexpectedly (inside a pkt-line length)', { retryable: true })
    }
    const head = this.take(4)
    let len = 0
    for (let i = 0; i < 4; i++) {
      const v = hexValue(head[i] as number)
      if (v < 0) throw new PktLineError(`protocol error: bad line length character: ${JSON.stringify(head.toString('latin1'))}`)
      len = len * 16 + v
    }
    if (len === 0) return { type: 'flush' }
    if (len === 1) return { type: 'delim' }
    if (len === 2) return { type: 'response-end' }
    if (len < 4) throw new PktLineError(`protocol error: bad line length ${len}`)
    if (len > LARGE_PACKET_MAX) throw new PktLineError(`protocol error: bad line length ${len} (over ${LARGE_PACKET_MAX})`)
    let whole: boolean
    try {
      whole = await this.fill(len - 4)
    } catch (e) {
      this.keepCutShort()
      throw e
    }
    if (!whole) {
      this.keepCutShort()
      throw new PktLineError('the remote end hung up unexpectedly (inside a pkt-line)', { retryable: true })
    }
    const data = this.take(len - 4)
    if (data.length >= 4 && data.subarray(0, 4).toString('latin1') === 'ERR ') {
      throw new RemoteError(`remote error: ${data.subarray(4).toString('utf8').replace(/\n$/, '')}`)
    }
    return { type: 'data', data }
  }

  private keepCutShort(): void {
    if (this.buffered > 0) this.cutShort = this.take(this.buffered)
  }

  /**
   * The start of the data packet the stream ended or failed inside (after read() threw),
   * once; undefined when it ended elsewhere. The packet's own bytes, never checked.
   */
  takeCutShort(): Buffer | undefined {
    const b = this.cutShort
    this.cutShort = undefined
    return b
  }

  /** Stops reading; releases the underlying stream. */
  async close(): Promise<void> {
    this.ended = true
    await this.iterator.return?.()
  }
}
