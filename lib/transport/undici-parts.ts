/**
 * The parts of undici tsgit uses, loaded on first use and piecemeal: its proxy
 * dispatchers, for the connections that go through a proxy (http-client.ts).
 *
 * undici's index also loads fetch, WebSocket, EventSource, caches and mocks: about
 * 115 ms of start-up here, against about 45 ms for the dispatchers and `request`
 * that a git transport needs. undici 7 has no "exports" map, so its modules can be
 * required by path; should that layout change, the whole package is loaded instead.
 *
 * V8 normally compiles undici's HTTP parser (llhttp, WebAssembly) twice: quickly,
 * then again optimised on background threads, and the process cannot exit until
 * that second compile ends (~180 ms after the last request). The quick code parses
 * git's responses just as well, so the optimising tier is turned off before undici
 * compiles it. The flag concerns WebAssembly only.
 */
import { createRequire } from 'node:module'
import type * as NodeV8 from 'node:v8'
import type { Dispatcher } from 'undici'
import type { HttpClient, HttpRequest } from './http-client.js'

type Undici = typeof import('undici')

export interface UndiciParts {
  ProxyAgent: Undici['ProxyAgent']
  EnvHttpProxyAgent: Undici['EnvHttpProxyAgent']
  request(dispatcher: Dispatcher, url: URL, options: HttpRequest): Promise<Dispatcher.ResponseData>
}

type ApiRequest = (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>

function requestOptions(url: URL, options: HttpRequest): Dispatcher.RequestOptions {
  return { ...options, origin: url.origin, path: `${url.pathname}${url.search}` }
}

function load(): UndiciParts {
  const require = createRequire(import.meta.url)
  ;(require('node:v8') as typeof NodeV8).setFlagsFromString('--liftoff-only')
  try {
    const apiRequest = require('undici/lib/api/api-request.js') as ApiRequest
    return {
      ProxyAgent: require('undici/lib/dispatcher/proxy-agent.js') as Undici['ProxyAgent'],
      EnvHttpProxyAgent: require('undici/lib/dispatcher/env-http-proxy-agent.js') as Undici['EnvHttpProxyAgent'],
      request: (dispatcher, url, options) => apiRequest.call(dispatcher, requestOptions(url, options)),
    }
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw e
    const undici = require('undici') as Undici
    return {
      ProxyAgent: undici.ProxyAgent,
      EnvHttpProxyAgent: undici.EnvHttpProxyAgent,
      request: (dispatcher, url, options) => dispatcher.request(requestOptions(url, options)),
    }
  }
}

let parts: UndiciParts | undefined

function undiciParts(): UndiciParts {
  parts ??= load()
  return parts
}

/** An HttpClient over the dispatcher `make` builds from undici's parts. */
export function undiciClient(make: (parts: UndiciParts) => Dispatcher): HttpClient {
  const undici = undiciParts()
  const dispatcher = make(undici)
  return {
    async request(url, options) {
      const res = await undici.request(dispatcher, url, options)
      return { statusCode: res.statusCode, headers: res.headers, body: res.body, dump: () => res.body.dump().then(() => undefined, () => undefined) }
    },
    close: () => dispatcher.close(),
  }
}
