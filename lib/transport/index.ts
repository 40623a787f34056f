/** Picks the transport for a remote URL. */
import { HttpTransport } from './http.js'
import { localSpawnSpecs, ProcessTransport, sshSpawnSpec } from './process.js'
import type { Transport, TransportOptions } from './types.js'
import { parseRemoteUrl } from './url.js'

export type { SpeculativeCommand, Transport, TransportOptions } from './types.js'
export { parseRemoteUrl, type RemoteUrl } from './url.js'

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
  }
}
