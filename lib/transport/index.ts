/** Picks the transport for a remote URL. */
import { DaemonTransport } from './daemon.js'
import { downloadUri, type Download, type ResumeFrom } from './download.js'
import { HttpTransport, makeClient, tlsOptions } from './http.js'
import { localSpawnSpecs, ProcessTransport, sshSpawnSpec } from './process.js'
import type { Transport, TransportOptions } from './types.js'
import { parseRemoteUrl } from './url.js'

export type { SpeculativeCommand, Transport, TransportOptions } from './types.js'
export type { Download, ResumeFrom } from './download.js'
export { parseRemoteUrl, type RemoteUrl } from './url.js'
export { CredentialJar, CredentialSource, type CredentialSettings } from './credential.js'

/** Nothing is contacted until handshake(). */
export function openTransport(url: string, options: TransportOptions): Transport {
  const remote = parseRemoteUrl(url)
  switch (remote.kind) {
    case 'http':
    case 'https':
      return new HttpTransport(remote, options)
    case 'file':
      return new ProcessTransport(remote.displayUrl, localSpawnSpecs(remote.path, options), options)
    case 'ssh':
      return new ProcessTransport(remote.displayUrl, [sshSpawnSpec(remote, options)], options)
    case 'git':
      return new DaemonTransport(remote, options)
  }
}

/**
 * Downloads a packfile URI that `transport`'s server named: on the transport's own
 * connections when it is http, else on a client of its own that sends no credentials.
 * With `resume`, continues a download that was cut (download.ts).
 */
export async function openDownload(transport: Transport, uri: string, schemes: readonly string[], options: TransportOptions, resume?: ResumeFrom): Promise<Download> {
  if (transport.download !== undefined) return transport.download(uri, schemes, resume)
  const client = makeClient(options, tlsOptions(options))
  const userAgent = options.userAgent
  let download: Download
  try {
    download = await downloadUri(uri, { client, schemes, headersFor: (): Record<string, string> => (userAgent !== undefined ? { 'User-Agent': userAgent } : {}), ...(options.signal ? { signal: options.signal } : {}) }, resume)
  } catch (e) {
    await client.close().catch(() => undefined)
    throw e
  }
  async function* closing(): AsyncGenerator<Buffer> {
    try {
      yield* download.body
    } finally {
      await client.close().catch(() => undefined)
    }
  }
  return { ...download, body: closing() }
}
