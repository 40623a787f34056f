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
 *
 * A download that was cut can be continued: given the bytes held and the validator
 * of the response that began them, the request asks for the rest (Range, If-Range),
 * and the answer is used only if it is the rest of that same file (range.ts); else
 * the whole file comes again. A body that ends early is a retryable TransportError
 * that says how many bytes of the file were in, never a bare socket error.
 */
import type { Readable } from 'node:stream'
import { TransportError } from '../errors.js'
import { chunksOf } from './chunks.js'
import { retryableConnectError, type HttpClient, type HttpResponse } from './http-client.js'
import { judgeResponse, rangeHeaders, validatorOf, type ResumeFrom } from './range.js'

export type { ResumeFrom } from './range.js'

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
  /**
   * Offset in the file where `body` starts: `have` when the server continued the range
   * (206), 0 when it sends the whole file (200: Range ignored, or the file changed):
   * the caller then truncates what it held.
   */
  start: number
  /** The whole file's length, when known (Content-Length of a 200, the total of a Content-Range). */
  length?: number
  /**
   * What to send as If-Range next time: a strong ETag, else Last-Modified; undefined
   * when the server gave neither (or only a weak ETag and no Last-Modified).
   */
  validator?: string
  /**
   * The server says the range is not satisfiable because the file is exactly `have`
   * bytes long (416 with `Content-Range: bytes *\/<have>`): the file held is already
   * whole. body is empty. git 2.39 fails here; tsgit does not.
   */
  complete: boolean
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

function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError'
}

function causeText(e: unknown): string {
  if (!(e instanceof Error)) return String(e)
  const code = (e as { code?: unknown }).code
  return `${typeof code === 'string' ? `${code}: ` : ''}${e.message}`
}

/** 5xx, 408 and 429 may pass; any other status will be the same next time. */
function statusError(what: string, status: number): TransportError {
  if (status === 206) return new TransportError(`${what}: the server sent part of the file (206) when asked for all of it`, { retryable: false })
  return new TransportError(`${what}: The requested URL returned error: ${status}`, { retryable: status >= 500 || status === 408 || status === 429 })
}

/**
 * The body's chunks, counted against the file: a connection that ends or fails
 * before `length` bytes of the file are in is a cut, worth resuming, and says how
 * far it got. A body that runs past `length` is a server that lies about the file.
 */
async function* counted(body: Readable, displayUri: string, start: number, length: number | undefined): AsyncGenerator<Buffer> {
  const cut = (got: number, why: string): string => `download of '${displayUri}' was cut after ${got}${length !== undefined ? ` of ${length}` : ''} bytes (${why})`
  let got = start
  try {
    for await (const chunk of chunksOf(body)) {
      if (length !== undefined && got + chunk.length > length) {
        throw new TransportError(`download of '${displayUri}': the server sent more than the ${length} bytes it announced`, { retryable: false })
      }
      got += chunk.length
      yield chunk
    }
  } catch (e) {
    if (isAbort(e) || e instanceof TransportError) throw e
    throw new TransportError(cut(got, causeText(e)), { cause: e, retryable: true })
  }
  if (length !== undefined && got < length) throw new TransportError(cut(got, 'the server ended the response early'), { retryable: true })
}

async function* nothing(): AsyncGenerator<Buffer> {}

/**
 * Starts the download of `uri`; the caller reads `body` to its end (or stops, which
 * closes it). With `resume`, asks for the bytes after those held (range.ts judges the
 * answer): `start` says where in the file `body` begins.
 */
export async function downloadUri(uri: string, ctx: DownloadContext, resume?: ResumeFrom): Promise<Download> {
  let origin: URL
  try {
    origin = new URL(uri)
  } catch (e) {
    throw new TransportError(`invalid packfile URI '${uri.slice(0, 200)}'`, { cause: e, retryable: false })
  }
  origin.username = ''
  origin.password = ''
  const displayUri = origin.toString()
  const what = `unable to download packfile URI '${displayUri}'`
  const allowed = new Set(ctx.schemes.map((s) => s.toLowerCase()).filter((s) => DOWNLOADABLE.has(s)))
  const scheme = origin.protocol.replace(/:$/, '')
  if (!allowed.has(scheme)) {
    throw new TransportError(`${what}: its protocol '${scheme}' is not one fetch.uriProtocols allows`, { retryable: false })
  }
  const get = async (extra: Record<string, string>): Promise<HttpResponse> => {
    let url = origin
    for (let hops = 0; ; hops++) {
      let res: HttpResponse
      try {
        res = await ctx.client.request(url, { method: 'GET', headers: { Accept: '*/*', ...ctx.headersFor(url), ...extra }, ...(ctx.signal ? { signal: ctx.signal } : {}) })
      } catch (e) {
        if (isAbort(e)) throw e
        throw new TransportError(`${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e, retryable: retryableConnectError(e) })
      }
      if (!REDIRECT_STATUSES.has(res.statusCode)) return res
      const location = headerValue(res, 'location')
      await res.dump()
      url = redirectTarget(url, location, hops, allowed, what)
    }
  }

  let res = await get(rangeHeaders(resume))
  let verdict = judgeResponse(res.statusCode, res.headers, resume)
  if (verdict.kind === 'restart') {
    await res.dump()
    res = await get({})
    verdict = judgeResponse(res.statusCode, res.headers, undefined)
  }
  switch (verdict.kind) {
    case 'restart':
    case 'fail':
      await res.dump()
      throw statusError(what, res.statusCode)
    case 'complete':
      await res.dump()
      return { displayUri, body: nothing(), start: verdict.length, length: verdict.length, validator: validatorOf(res.headers) ?? resume?.validator, complete: true }
    case 'continue':
      // The 206 may carry no validator of its own; the one it was asked with still names the file.
      return { displayUri, body: counted(res.body, displayUri, verdict.start, verdict.length), start: verdict.start, length: verdict.length, validator: validatorOf(res.headers) ?? resume?.validator, complete: false }
    case 'whole':
      return { displayUri, body: counted(res.body, displayUri, 0, verdict.length), start: 0, length: verdict.length, validator: validatorOf(res.headers), complete: false }
  }
}
