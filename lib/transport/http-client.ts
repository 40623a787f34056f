/**
 * One HTTP exchange, as the smart-HTTP transport needs it: a request with a whole
 * body, a response whose body is a stream. Two clients implement it:
 *
 * - `NodeHttpClient` (node:http, node:https) for a direct connection, the common
 *   case. Node's own client is part of the runtime: loading it costs ~10 ms here,
 *   against ~60 ms for undici's dispatchers plus ~20 ms to compile undici's
 *   WebAssembly HTTP parser on the first response; on a clone that waits 0.3 s
 *   in all, that start-up is a quarter of it.
 * - undici's dispatchers (`undici-parts.ts`) when a proxy applies: undici
 *   implements http.proxy, the proxy environment variables, no_proxy and CONNECT
 *   tunnels, which node:http does not.
 *
 * Neither follows redirects, decompresses or retries: the transport decides those.
 */
import type { Readable } from 'node:stream'

export interface HttpRequest {
  method: 'GET' | 'POST'
  headers: Record<string, string>
  body?: Buffer
  signal?: AbortSignal
}

export interface HttpResponse {
  statusCode: number
  /** Names in lower case. */
  headers: Record<string, string | string[] | undefined>
  body: Readable
  /** Reads the body to its end and drops it (keeps the connection reusable). */
  dump(): Promise<void>
}

export interface HttpClient {
  request(url: URL, request: HttpRequest): Promise<HttpResponse>
  close(): Promise<void>
}

export interface TlsOptions {
  rejectUnauthorized: boolean
  /** http.sslCAInfo's certificates: the only ones trusted when given. */
  ca?: Buffer
  /** Where a warning about the trusted certificates goes (extra-ca.ts). */
  warn?: (message: string) => void
}

/**
 * Whether a request that failed before any answer may succeed if tried again: a refused
 * or reset connection, a timeout, a name that did not resolve may pass; a certificate
 * that does not verify will not (retrying it only delays the error).
 */
export function retryableConnectError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code
  const inner = (e as { cause?: { code?: unknown } } | null)?.cause?.code
  for (const c of [code, inner]) {
    if (typeof c === 'string' && (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL/.test(c))) return false
  }
  return true
}
