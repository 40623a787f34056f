/**
 * Smart HTTP (gitprotocol-http) with protocol v2: one GET of
 * `info/refs?service=git-upload-pack` for the capability advertisement, then one
 * stateless POST to `git-upload-pack` per command. Response bodies are streamed
 * into a PktLineReader, never buffered whole.
 *
 * Deviation: git sends credentials and http.extraHeader values to wherever a
 * redirect leads; we send them only to the origin (scheme, host, port) of the
 * configured URL, and ask for credentials only when that origin answers 401.
 */
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { retryableConnectError, type HttpClient, type HttpRequest, type HttpResponse, type TlsOptions } from './http-client.js'
import { NodeHttpClient } from './node-http.js'
import { tlsConnectOptions } from './extra-ca.js'
import { undiciClient } from './undici-parts.js'
import { AuthError, PktLineError, TransportError } from '../errors.js'
import { silentSink, type ProgressSink } from '../events.js'
import { PktLineReader, pktText } from '../pktline/pktline.js'
import { chunksOf } from './chunks.js'
import { resolveProxyEnv, withScheme } from './proxy.js'
import { downloadUri, redirectTarget, REDIRECT_STATUSES, type Download, type ResumeFrom } from './download.js'
import type { SpeculativeCommand, Transport, TransportOptions } from './types.js'
import type { BasicCredential } from './credential.js'
import type { RemoteUrl } from './url.js'

const SERVICE = 'git-upload-pack'
const ADVERTISEMENT_TYPE = `application/x-${SERVICE}-advertisement`
const RESULT_TYPE = `application/x-${SERVICE}-result`
const REQUEST_TYPE = `application/x-${SERVICE}-request`
const INFO_REFS_SUFFIX = `/info/refs?service=${SERVICE}`

type HttpRemote = Extract<RemoteUrl, { kind: 'http' | 'https' }>

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}

function parseExtraHeader(line: string): [string, string] | undefined {
  const colon = line.indexOf(':')
  if (colon <= 0) return undefined
  const name = line.slice(0, colon).trim()
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return undefined
  return [name, line.slice(colon + 1).trim()]
}

/** Request bodies larger than this are sent gzipped, as git sends them. */
const GZIP_OVER = 1024

/** Drops a body we will not read; destroying an unread body is reported as an error, which nobody needs. */
function discard(body: HttpResponse['body']): void {
  body.on('error', () => undefined)
  body.destroy()
}

function describeCause(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code
    const inner = e.cause instanceof Error ? `: ${e.cause.message}` : ''
    return `${typeof code === 'string' ? `${code}: ` : ''}${e.message}${inner}`
  }
  return String(e)
}

export function tlsOptions(options: TransportOptions): TlsOptions {
  const sink = options.sink
  const tls: TlsOptions = { rejectUnauthorized: options.sslVerify ?? true, warn: (m) => sink?.warn(m) }
  if (options.sslCAInfo !== undefined && options.sslCAInfo !== '') {
    try {
      tls.ca = readFileSync(options.sslCAInfo)
    } catch (e) {
      throw new TransportError(`unable to read http.sslCAInfo '${options.sslCAInfo}'`, { cause: e, retryable: false })
    }
  }
  return tls
}

/**
 * Node's own client for a direct connection; undici's proxy dispatchers when a
 * proxy applies (http-client.ts says why).
 */
export function makeClient(options: TransportOptions, tls: TlsOptions): HttpClient {
  if (options.proxy !== undefined) {
    // proxyTunnel false: plain http goes to the proxy in absolute form, as curl does; https still tunnels with CONNECT.
    // An empty http.proxy disables proxying (config-remote: remote.<name>.proxy).
    if (options.proxy === '') return new NodeHttpClient(tls)
    const uri = withScheme(options.proxy)
    const connect = tlsConnectOptions(tls)
    return undiciClient(({ ProxyAgent }) => new ProxyAgent({ uri, requestTls: connect, connect, proxyTunnel: false }))
  }
  const env = resolveProxyEnv(options.env ?? process.env)
  if (env.httpProxy === '' && env.httpsProxy === '') return new NodeHttpClient(tls)
  // Empty strings stop undici from consulting process.env behind our back.
  const connect = tlsConnectOptions(tls)
  return undiciClient(({ EnvHttpProxyAgent }) => new EnvHttpProxyAgent({ httpProxy: env.httpProxy, httpsProxy: env.httpsProxy, noProxy: env.noProxy, connect, requestTls: connect, proxyTunnel: false }))
}

export class HttpTransport implements Transport {
  readonly displayUrl: string
  private readonly remote: HttpRemote
  private readonly options: TransportOptions
  private readonly sink: ProgressSink
  private readonly originalOrigin: string
  private readonly tls: TlsOptions
  private client: HttpClient | undefined
  private readonly allowedSchemes: Set<string>
  /** Where POSTs go; updated by a redirect of the initial GET. */
  private base: string
  private received = 0
  private readonly open = new Set<PktLineReader>()

  constructor(remote: HttpRemote, options: TransportOptions) {
    this.remote = remote
    this.options = options
    this.sink = options.sink ?? silentSink
    this.displayUrl = remote.displayUrl
    this.base = remote.baseUrl
    this.originalOrigin = new URL(remote.baseUrl).origin
    this.allowedSchemes = new Set((options.allowedSchemes ?? ['http', 'https']).map((s) => s.toLowerCase().replace(/:$/, '')))
    this.tls = tlsOptions(options)
  }

  get bytesReceived(): number {
    return this.received
  }

  /** The URL POSTs go to (after any redirect of the initial request). */
  get baseUrl(): string {
    return this.base
  }

  private headersFor(url: URL, extra: Record<string, string>, auth: BasicCredential | undefined): Record<string, string> {
    return { 'Git-Protocol': 'version=2', ...extra, ...this.credentialHeaders(url, auth) }
  }

  /**
   * The credentials a request to `url` carries: only for the configured URL's own origin.
   * With a credential source (credential.ts), what it has obtained so far (nothing before
   * the first 401 unless the URL holds a password); without one, the URL's userinfo.
   */
  private authFor(url: URL): BasicCredential | undefined {
    if (url.origin !== this.originalOrigin) return undefined
    const source = this.options.credentials
    if (source !== undefined) return source.current()
    if (this.remote.username === undefined) return undefined
    return { username: this.remote.username, password: this.remote.password ?? '' }
  }

  /**
   * User-Agent, and for the configured URL's own origin (scheme, host, port) only, its
   * credentials and http.extraHeader values: never for a redirect target or a packfile
   * URI elsewhere.
   */
  private credentialHeaders(url: URL, auth: BasicCredential | undefined): Record<string, string> {
    const headers: Record<string, string> = {}
    if (this.options.userAgent !== undefined) headers['User-Agent'] = this.options.userAgent
    if (url.origin === this.originalOrigin) {
      if (auth !== undefined) headers['Authorization'] = `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`
      for (const line of this.options.extraHeaders ?? []) {
        const h = parseExtraHeader(line)
        if (h === undefined) {
          this.sink.warn(`ignoring malformed http.extraHeader '${line.split(':')[0] ?? ''}'`)
          continue
        }
        headers[h[0]] = h[1]
      }
    }
    return headers
  }

  /** Whether a request to `url` would go with an Authorization header: credentials, or one given by http.extraHeader. */
  private carriesAuthorization(url: URL): boolean {
    if (this.authFor(url) !== undefined) return true
    if (url.origin !== this.originalOrigin) return false
    return (this.options.extraHeaders ?? []).some((line) => parseExtraHeader(line)?.[0].toLowerCase() === 'authorization')
  }

  /** git's words, naming the URL without any userinfo. */
  private authFailed(): AuthError {
    return new AuthError(`Authentication failed for '${this.remote.baseUrl}/'`)
  }

  /**
   * One request, and on a 401 from the configured origin the credential dance of
   * gitcredentials(7): sent without credentials, ask for them and send it again; sent
   * with credentials, they are wrong: erase them and fail. Credentials that got an
   * answer are stored.
   */
  private async exchange(url: URL, method: 'GET' | 'POST', extra: Record<string, string>, body?: Buffer, signal = this.options.signal): Promise<HttpResponse> {
    const source = this.options.credentials
    const used = this.authFor(url)
    const res = await this.send(url, method, this.headersFor(url, extra, used), body, signal)
    if (source === undefined || url.origin !== this.originalOrigin) return res
    if (res.statusCode !== 401) {
      if (used !== undefined && res.statusCode >= 200 && res.statusCode < 300) await source.approve(used)
      return res
    }
    await res.dump()
    if (used !== undefined) {
      await source.reject(used)
      throw this.authFailed()
    }
    const got = await source.fill()
    const again = await this.send(url, method, this.headersFor(url, extra, got), body, signal)
    if (again.statusCode === 401) {
      await again.dump()
      await source.reject(got)
      throw this.authFailed()
    }
    if (again.statusCode >= 200 && again.statusCode < 300) await source.approve(got)
    return again
  }

  /** Downloads a packfile URI the server sent (download.ts), on this transport's connections. */
  download(uri: string, schemes: readonly string[], resume?: ResumeFrom): Promise<Download> {
    this.client ??= makeClient(this.options, this.tls)
    const client = this.client
    return downloadUri(uri, { client, schemes, headersFor: (url) => this.credentialHeaders(url, this.authFor(url)), ...(this.options.signal ? { signal: this.options.signal } : {}) }, resume)
  }

  private async send(url: URL, method: 'GET' | 'POST', headers: Record<string, string>, body?: Buffer, signal = this.options.signal): Promise<HttpResponse> {
    try {
      this.client ??= makeClient(this.options, this.tls)
      const opts: HttpRequest = { method, headers }
      if (body !== undefined) opts.body = body
      if (signal !== undefined) opts.signal = signal
      return await this.client.request(url, opts)
    } catch (e) {
      if (e instanceof Error && e.name === 'AbortError') throw e
      throw new TransportError(`unable to access '${this.displayUrl}': ${describeCause(e)}`, { cause: e, retryable: retryableConnectError(e) })
    }
  }

  private async failStatus(res: HttpResponse): Promise<never> {
    await res.dump()
    const code = res.statusCode
    if (code === 401 || code === 403) throw this.authFailed()
    if (code === 404) throw new TransportError(`repository '${this.displayUrl}' not found`, { retryable: false })
    throw new TransportError(`unable to access '${this.displayUrl}': The requested URL returned error: ${code}`, { retryable: code >= 500 || code === 429 })
  }

  private checkType(res: HttpResponse, expected: string, what: string): void {
    const type = (headerValue(res.headers, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
    if (type !== expected) {
      discard(res.body)
      throw new TransportError(
        what === 'advertisement'
          ? `'${this.displayUrl}' is not a smart git HTTP server (Content-Type '${type}' instead of '${expected}'; the dumb HTTP protocol is not supported)`
          : `invalid Content-Type '${type}' from '${this.displayUrl}' (expected '${expected}')`,
        { retryable: false },
      )
    }
  }

  private readerFor(res: HttpResponse): PktLineReader {
    const body = res.body
    const self = this
    async function* counted(): AsyncGenerator<Buffer> {
      try {
        for await (const buf of chunksOf(body)) {
          self.received += buf.length
          yield buf
        }
      } catch (e) {
        if (e instanceof Error && e.name === 'AbortError') throw e
        // A connection that dies mid-body looks to the protocol like a server that hung up.
        throw new PktLineError(`the remote end hung up unexpectedly (${describeCause(e)})`, { cause: e, retryable: true })
      } finally {
        if (!body.destroyed) discard(body)
      }
    }
    const reader = new PktLineReader(counted())
    this.open.add(reader)
    return reader
  }

  async handshake(): Promise<PktLineReader> {
    let url = new URL(this.base + INFO_REFS_SUFFIX)
    let res: HttpResponse | undefined
    for (let hops = 0; ; hops++) {
      res = await this.exchange(url, 'GET', { Accept: '*/*', Pragma: 'no-cache' })
      if (!REDIRECT_STATUSES.has(res.statusCode)) break
      const location = headerValue(res.headers, 'location')
      await res.dump()
      url = redirectTarget(url, location, hops, this.allowedSchemes, `unable to access '${this.displayUrl}'`)
    }
    if (res.statusCode < 200 || res.statusCode >= 300) return this.failStatus(res)
    this.checkType(res, ADVERTISEMENT_TYPE, 'advertisement')
    const finalUrl = url.toString()
    if (finalUrl !== this.base + INFO_REFS_SUFFIX) {
      // Later requests go to the redirected base, as git does; it must keep the suffix we asked for.
      if (!finalUrl.endsWith(INFO_REFS_SUFFIX)) {
        discard(res.body)
        throw new TransportError(`unable to update url base from redirection: asked for '${this.displayUrl}${INFO_REFS_SUFFIX}', redirected to '${finalUrl}'`, { retryable: false })
      }
      this.base = finalUrl.slice(0, -INFO_REFS_SUFFIX.length)
      this.sink.warn(`redirecting to ${this.base}/`)
    }
    const reader = this.readerFor(res)
    // Servers speaking v0 (and some v2 ones) start with "# service=..." and a flush.
    const first = await reader.peek()
    if (first?.type === 'data' && pktText(first) === `# service=${SERVICE}`) {
      await reader.read()
      const flush = await reader.expect('flush after service line')
      if (flush.type !== 'flush') throw new TransportError(`invalid smart HTTP response from '${this.displayUrl}': no flush after the service line`, { retryable: false })
    }
    return reader
  }

  async command(requestBody: Buffer): Promise<PktLineReader> {
    return this.post(this.base, requestBody, this.options.signal)
  }

  private async post(base: string, requestBody: Buffer, signal: AbortSignal | undefined): Promise<PktLineReader> {
    const url = new URL(`${base}/${SERVICE}`)
    const headers: Record<string, string> = { 'Content-Type': REQUEST_TYPE, Accept: RESULT_TYPE }
    let body = requestBody
    // As git's remote-curl: a body over 1 KiB goes gzipped (a lazy fetch's thousands of
    // `want` lines shrink to less than half); git http-backend takes it.
    if (body.length > GZIP_OVER) {
      body = gzipSync(body)
      headers['Content-Encoding'] = 'gzip'
    }
    const res = await this.exchange(url, 'POST', headers, body, signal)
    if (res.statusCode < 200 || res.statusCode >= 300) return this.failStatus(res)
    this.checkType(res, RESULT_TYPE, 'result')
    return this.readerFor(res)
  }

  /**
   * Not sent (undefined) when it would go without credentials while a credential helper
   * or askpass is set up to answer a 401: it would likely get a 401 too, one request
   * more than git makes (git asks for credentials after the handshake's 401 and sends
   * its command with them).
   */
  speculate(request: Buffer): SpeculativeCommand | undefined {
    const source = this.options.credentials
    const url = new URL(`${this.base}/${SERVICE}`)
    if (source !== undefined && source.expectsToAsk() && !this.carriesAuthorization(url)) return undefined
    const base = this.base
    const own = new AbortController()
    const signal = this.options.signal !== undefined ? AbortSignal.any([this.options.signal, own.signal]) : own.signal
    // HTTP v2 is stateless: the same request to the same URL gets the same answer
    // whether or not the advertisement came first, so a failure here is the answer.
    const answer = this.post(base, request, signal)
    answer.catch(() => undefined)
    return {
      request,
      reader: async () => (this.base === base ? answer : undefined),
      discard: async () => {
        own.abort()
        const r = await answer.catch(() => undefined)
        if (r !== undefined) {
          this.open.delete(r)
          await r.close().catch(() => undefined)
        }
      },
    }
  }

  async close(): Promise<void> {
    for (const r of this.open) await r.close().catch(() => undefined)
    this.open.clear()
    await this.client?.close().catch(() => undefined)
  }
}
