/**
 * Turns git configuration into transport options, so every operation that talks
 * to a remote (clone, lazy fetch) reads http.* / core.sshCommand the same way.
 */
import type { ProgressSink } from '../events.js'
import type { TransportOptions } from '../transport/index.js'
import { VERSION } from '../version.js'

/** The read side of configuration that the operations need. */
export interface ConfigReader {
  get(key: string): string | undefined
  getAll(key: string): string[]
  getBool(key: string): boolean | undefined
}

export function transportOptionsFromConfig(
  config: ConfigReader,
  remoteName: string | undefined,
  env: NodeJS.ProcessEnv,
  sink: ProgressSink,
  signal?: AbortSignal,
): TransportOptions {
  const sshCommand = env.GIT_SSH_COMMAND ?? config.get('core.sshCommand') ?? env.GIT_SSH
  return {
    sslVerify: env.GIT_SSL_NO_VERIFY ? false : (config.getBool('http.sslVerify') ?? true),
    sslCAInfo: env.GIT_SSL_CAINFO ?? config.get('http.sslCAInfo'),
    proxy: config.get('http.proxy'),
    extraHeaders: config.getAll('http.extraHeader').filter((h) => h !== ''),
    userAgent: `git/2.39.0 (tsgit/${VERSION})`,
    sshCommand,
    uploadPack: remoteName ? config.get(`remote.${remoteName}.uploadpack`) : undefined,
    env,
    sink,
    signal,
  }
}
