/**
 * Turns git configuration into transport options, so every operation that talks
 * to a remote (clone, lazy fetch) reads http.* / core.sshCommand the same way.
 */
import type { ProgressSink } from '../events.js'
import type { ConfigReader } from '../repo/config.js'
import type { TransportOptions } from '../transport/index.js'
import { VERSION } from '../version.js'


export function transportOptionsFromConfig(
  config: ConfigReader,
  remoteName: string | undefined,
  env: NodeJS.ProcessEnv,
  sink: ProgressSink,
  signal?: AbortSignal,
): TransportOptions {
  const sshCommand = env.GIT_SSH_COMMAND ?? config.getString('core.sshCommand') ?? env.GIT_SSH
  return {
    sslVerify: env.GIT_SSL_NO_VERIFY ? false : (config.getBool('http.sslVerify') ?? true),
    sslCAInfo: env.GIT_SSL_CAINFO ?? config.getString('http.sslCAInfo'),
    proxy: config.getString('http.proxy'),
    extraHeaders: config.getAll('http.extraHeader').filter((h): h is string => typeof h === 'string' && h !== ''),
    userAgent: `git/2.39.0 (tsgit/${VERSION})`,
    sshCommand,
    uploadPack: remoteName ? config.getString(`remote.${remoteName}.uploadpack`) : undefined,
    env,
    sink,
    signal,
  }
}
