/**
 * The direct-connection HTTP client, on node:http and node:https (see
 * http-client.ts for why not undici here). Loaded on first use, and only the
 * module the URL's scheme needs. Connections are kept alive between the
 * requests of one transport and closed with it.
 *
 * Behaviour kept from the undici client it replaces on this path: no credentials
 * taken from the URL (the transport adds them, for the origin it trusts), a
 * request with no activity on its connection for 300 s fails, a body dropped
 * unread is read only up to 128 KiB before the connection is closed instead, and
 * an abort ends a body being read with an AbortError.
 */
import { createRequire } from 'node:module'
import type * as NodeHttp from 'node:http'
import type * as NodeHttps from 'node:https'
import { tlsConnectOptions } from './extra-ca.js'
import type { HttpClient, HttpRequest, HttpResponse, TlsOptions } from './http-client.js'

/** undici's default headersTimeout and bodyTimeout. */
const IDLE_TIMEOUT_MS = 300_000
/** undici's default dump() limit. */
const DUMP_LIMIT = 128 * 1024

const load = createRequire(import.meta.url)
let httpModule: typeof NodeHttp | undefined
let httpsModule: typeof NodeHttps | undefined

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('This operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' })
}

/** Reads a body to its end, or destroys it past DUMP_LIMIT bytes; never rejects. */
function dump(body: NodeHttp.IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    if (body.destroyed || body.readableEnded) return resolve()
    let seen = 0
    body.on('data', (chunk: Buffer) => {
      seen += chunk.length
      if (seen > DUMP_LIMIT) body.destroy()
    })
    body.on('error', () => undefined)
    body.once('end', () => resolve())
    body.once('close', () => resolve())
    body.resume()
  })
}

/**
 * Where a request for `url` goes, as node:http options: fields, not the URL, because
 * node:http would turn a URL's userinfo into an Authorization header.
 */
export function requestTarget(url: URL): Pick<NodeHttp.RequestOptions, 'protocol' | 'hostname' | 'port' | 'path'> {
  return {
    protocol: url.protocol,
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port === '' ? undefined : Number(url.port),
    path: `${url.pathname}${url.search}`,
  }
}

export class NodeHttpClient implements HttpClient {
  private httpAgent: NodeHttp.Agent | undefined
  private httpsAgent: NodeHttps.Agent | undefined

  constructor(private readonly tls: TlsOptions) {}

  private transportFor(url: URL): { request: typeof NodeHttp.request; agent: NodeHttp.Agent } {
    if (url.protocol === 'https:') {
      httpsModule ??= load('node:https') as typeof NodeHttps
      this.httpsAgent ??= new httpsModule.Agent({ keepAlive: true, ...tlsConnectOptions(this.tls) })
      return { request: httpsModule.request, agent: this.httpsAgent }
    }
    httpModule ??= load('node:http') as typeof NodeHttp
    this.httpAgent ??= new httpModule.Agent({ keepAlive: true })
    return { request: httpModule.request, agent: this.httpAgent }
  }

  request(url: URL, r: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const { request, agent } = this.transportFor(url)
      const headers: Record<string, string> = { ...r.headers }
      if (r.body !== undefined) headers['Content-Length'] = String(r.body.length)
      const options: NodeHttp.RequestOptions = {
        ...requestTarget(url),
        method: r.method,
        headers,
        agent,
      }
      if (r.signal !== undefined) options.signal = r.signal
      let req: NodeHttp.ClientRequest
      try {
        req = request(options, (res) => {
          const signal = r.signal
          if (signal !== undefined) {
            const onAbort = (): void => {
              res.destroy(abortError(signal))
            }
            if (signal.aborted) onAbort()
            signal.addEventListener('abort', onAbort, { once: true })
            res.once('close', () => signal.removeEventListener('abort', onAbort))
          }
          resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res, dump: () => dump(res) })
        })
      } catch (e) {
        // An invalid header name or value is refused before anything is sent.
        reject(e)
        return
      }
      req.on('error', reject)
      req.setTimeout(IDLE_TIMEOUT_MS, () => {
        req.destroy(Object.assign(new Error(`no data for ${IDLE_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' }))
      })
      req.end(r.body)
    })
  }

  async close(): Promise<void> {
    this.httpAgent?.destroy()
    this.httpsAgent?.destroy()
    this.httpAgent = undefined
    this.httpsAgent = undefined
  }
}
