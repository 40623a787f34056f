/**
 * Proxy settings from the environment, read the way curl (and so git) reads
 * them: `http_proxy` only in lower case (an upper-case HTTP_PROXY can be set by
 * a CGI request header), `https_proxy` or `HTTPS_PROXY`, `all_proxy` or
 * `ALL_PROXY` as the fallback for both, and `no_proxy` or `NO_PROXY`.
 */
export interface ProxyEnv {
  /** Empty when no proxy applies. */
  httpProxy: string
  httpsProxy: string
  noProxy: string
}

function pick(env: NodeJS.ProcessEnv, ...names: string[]): string {
  for (const n of names) {
    const v = env[n]
    if (v !== undefined && v !== '') return v
  }
  return ''
}

export function withScheme(proxy: string): string {
  if (proxy === '') return ''
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`
}

export function resolveProxyEnv(env: NodeJS.ProcessEnv): ProxyEnv {
  const all = pick(env, 'all_proxy', 'ALL_PROXY')
  return {
    httpProxy: withScheme(pick(env, 'http_proxy') || all),
    httpsProxy: withScheme(pick(env, 'https_proxy', 'HTTPS_PROXY') || all),
    noProxy: pick(env, 'no_proxy', 'NO_PROXY'),
  }
}
