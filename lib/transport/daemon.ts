/**
 * git:// (git daemon; gitprotocol-pack "Git Transport"): a TCP connection to host:port
 * (9418 unless the URL names one), a first pkt-line
 * `git-upload-pack <path>\0host=<host>[:<port>]\0\0version=2\0` (version=2 is the
 * extra parameter that asks for protocol v2; a daemon or upload-pack that does not know
 * it answers in v0), then the same stateful conversation as with a local upload-pack.
 * Like git's, the transport has no authentication and no encryption.
 */
import { connect, type Socket } from 'node:net'
import { PktLineError, TransportError } from '../errors.js'
import { encodePkt, flushPkt, PktLineReader } from '../pktline/pktline.js'
import { chunksOf } from './chunks.js'
import type { Transport, TransportOptions } from './types.js'
import type { RemoteUrl } from './url.js'
import { drainOutput } from './drain.js'

export const DEFAULT_GIT_PORT = 9418

type GitRemote = Extract<RemoteUrl, { kind: 'git' }>

/** The daemon's request line (without its pkt-line header). */
export function daemonRequest(remote: GitRemote, service = 'git-upload-pack'): Buffer {
  const host = remote.host.includes(':') ? `[${remote.host}]` : remote.host
  const hostParam = remote.port !== undefined ? `${host}:${remote.port}` : host
  return Buffer.from(`${service} ${remote.path}\0host=${hostParam}\0\0version=2\0`, 'utf8')
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

export class DaemonTransport implements Transport {
  readonly displayUrl: string
  private readonly remote: GitRemote
  private readonly signal: AbortSignal | undefined
  private socket: Socket | undefined
  private reader: PktLineReader | undefined
  private output: AsyncGenerator<Buffer> | undefined
  private received = 0
  private sentCommand = false
  private closed = false

  constructor(remote: GitRemote, options: TransportOptions) {
    this.remote = remote
    this.displayUrl = remote.displayUrl
    this.signal = options.signal
  }

  get bytesReceived(): number {
    return this.received
  }

  private where(): string {
    return `${this.remote.host}:${this.remote.port ?? DEFAULT_GIT_PORT}`
  }

  private async open(): Promise<PktLineReader> {
    if (this.closed) throw new TransportError(`transport for '${this.displayUrl}' is closed`, { retryable: false })
    if (this.reader !== undefined) return this.reader
    this.signal?.throwIfAborted()
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: this.remote.host, port: this.remote.port ?? DEFAULT_GIT_PORT })
      s.once('connect', () => {
        s.off('error', reject)
        resolve(s)
      })
      s.once('error', (e) => reject(new TransportError(`unable to connect to ${this.where()}: ${describe(e)}`, { cause: e, retryable: true })))
    })
    this.socket = socket
    socket.setNoDelay(true)
    // Write errors show up as the read side ending (a daemon that hung up).
    socket.on('error', () => undefined)
    if (this.signal !== undefined) {
      const onAbort = (): void => {
        socket.destroy(this.signal?.reason instanceof Error ? this.signal.reason : new Error('aborted'))
      }
      if (this.signal.aborted) onAbort()
      else this.signal.addEventListener('abort', onAbort, { once: true })
      socket.once('close', () => this.signal?.removeEventListener('abort', onAbort))
    }
    socket.write(encodePkt(daemonRequest(this.remote)))
    const self = this
    async function* counted(): AsyncGenerator<Buffer> {
      try {
        for await (const buf of chunksOf(socket)) {
          self.received += buf.length
          yield buf
        }
      } catch (e) {
        if (e instanceof Error && e.name === 'AbortError') throw e
        throw new PktLineError(`the remote end hung up unexpectedly (${describe(e)})`, { cause: e, retryable: true })
      }
    }
    this.output = counted()
    this.reader = new PktLineReader(this.output)
    return this.reader
  }

  async handshake(): Promise<PktLineReader> {
    const reader = await this.open()
    // A daemon that will not serve the path (not exported, no such repository) says
    // ERR, which the reader raises, or just hangs up.
    if ((await reader.peek()) === undefined) {
      throw new TransportError(`the remote end hung up unexpectedly: could not read from remote repository '${this.displayUrl}'`, { retryable: false })
    }
    return reader
  }

  async command(request: Buffer): Promise<PktLineReader> {
    const reader = await this.open()
    const socket = this.socket
    if (socket === undefined || !socket.writable) throw new TransportError(`the remote end hung up unexpectedly ('${this.displayUrl}')`)
    this.sentCommand = true
    await new Promise<void>((resolve, reject) => {
      socket.write(request, (e) => (e ? reject(new TransportError(`cannot send to '${this.displayUrl}': ${e.message}`, { cause: e })) : resolve()))
    })
    return reader
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const socket = this.socket
    if (socket === undefined) return
    if (this.signal?.aborted === true) {
      socket.destroy()
      return
    }
    // A flush ends the conversation where a request could come (v2: end of session; v0:
    // no wants), so upload-pack ends cleanly instead of dying of a cut connection.
    if (socket.writable) {
      if (this.sentCommand) socket.end()
      else socket.end(flushPkt())
    }
    await drainOutput(this.output)
    socket.destroy()
  }
}
