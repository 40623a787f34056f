/**
 * A GET of a URI a server named (gitprotocol-v2 "packfile-uris": a pack to fetch from
 * somewhere else, typically a CDN), its body streamed.
 *
 * Nothing about it is trusted: the URI's scheme, and that of every redirect, must be
 * one the user allowed (fetch.uriProtocols) and http or https; a redirect never goes
 * from https to anything else; credentials and http.extraHeader go only where
 * `headersFor` says (the remote's own origin), so a URI on another host, or a redirect
 * to one, gets none. git 2.39 sends http.extraHeader along (see DEVIATIONS in
 * tsgit-clone(1)).
 */
import { TransportError } from '../errors.js'
import { chunksOf } from './chunks.js'
import type { HttpClient, HttpResponse } from './http-client.js'

/** Like git's http.followRedirects=initial with curl's default limit. */
export const MAX_REDIRECTS = 20
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])

/** The schemes tsgit can download from. */
const DOWNLOADABLE = new Set(['http', 'https'])

export interface DownloadContext {
  client: HttpClient
  /** The schemes the user allowed, lower case. */
  schemes: readonly string[]
  /** Headers for a request to `url` (User-Agent; credentials only for the remote's origin). */
  headersFor(url: URL): Record<string, string>
  signal?: AbortSignal
}

export interface Download {
  /** The URI without any userinfo, for messages. */
  displayUri: string
  body: AsyncIterable<Buffer>
}

/**
 * Where a redirect from `from` leads, when it may be followed: a Location there, fewer
 * than MAX_REDIRECTS hops so far, a scheme in `allowed`, never from https to anything
 * else. Userinfo in the Location is dropped (it must not smuggle credentials in, or be
 * displayed). `what` begins each error message.
 */
export function redirectTarget(from: URL, location: string | undefined, hops: number, allowed: ReadonlySet<string>, what: string): URL {
  if (location === undefined) throw new TransportError(`${what}: redirect without a Location`, { retryable: false })
  if (hops + 1 > MAX_REDIRECTS) throw new TransportError(`${what}: Maximum (${MAX_REDIRECTS}) redirects followed`, { retryable: false })
  let next: URL
  try {
    next = new URL(location, from)
  } catch (e) {
    throw new TransportError(`${what}: bad redirect Location`, { cause: e, retryable: false })
  }
  const scheme = next.protocol.replace(/:$/, '')
  if (!allowed.has(scheme)) throw new TransportError(`${what}: redirect to a disallowed scheme '${scheme}'`, { retryable: false })
  if (from.protocol === 'https:' && next.protocol !== 'https:') {
    throw new TransportError(`${what}: refusing to follow a redirect from https to ${scheme}`, { retryable: false })
  }
  next.username = ''
  next.password = ''
  return next
}

function headerValue(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name]
  return Array.isArray(v) ? v[0] : v
}

/** Starts the download of `uri`; the caller reads `body` to its end (or stops, which closes it). */
export async function downloadUri(uri: string, ctx: DownloadContext): Promise<Download> {
  let url: URL
  try {
    url = new URL(uri)
  } catch (e) {
    throw new TransportError(`invalid packfile URI '${uri.slice(0, 200)}'`, { cause: e, retryable: false })
  }
  url.username = ''
  url.password = ''
  const displayUri = url.toString()
  const what = `unable to download packfile URI '${displayUri}'`
  const allowed = new Set(ctx.schemes.map((s) => s.toLowerCase()).filter((s) => DOWNLOADABLE.has(s)))
  const scheme = url.protocol.replace(/:$/, '')
  if (!allowed.has(scheme)) {
    throw new TransportError(`${what}: its protocol '${scheme}' is not one fetch.uriProtocols allows`, { retryable: false })
  }
  let res: HttpResponse
  for (let hops = 0; ; hops++) {
    try {
      res = await ctx.client.request(url, { method: 'GET', headers: { Accept: '*/*', ...ctx.headersFor(url) }, ...(ctx.signal ? { signal: ctx.signal } : {}) })
    } catch (e) {
      if (e instanceof Error && e.name === 'AbortError') throw e
      throw new TransportError(`${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e, retryable: true })
    }
    if (!REDIRECT_STATUSES.has(res.statusCode)) break
    const location = headerValue(res, 'location')
    await res.dump()
    url = redirectTarget(url, location, hops, allowed, what)
  }
  if (res.statusCode !== 200) {
    await res.dump()
    throw new TransportError(`${what}: The requested URL returned error: ${res.statusCode}`, { retryable: res.statusCode >= 500 || res.statusCode === 429 })
  }
  return { displayUri, body: chunksOf(res.body) }
}
