/**
 * The transport layer: it opens a conversation asking for protocol v2 (the server may
 * answer in v0: the session layer tells) and moves pkt-line bytes. It knows nothing
 * about packs, ref semantics or the object store.
 */
import type { ProgressSink } from '../events.js'
import type { PktLineReader } from '../pktline/pktline.js'
import type { Download, ResumeFrom } from './download.js'
import type { CredentialSource } from './credential.js'

export interface Transport {
  /** The remote URL with any password removed (safe to print). */
  readonly displayUrl: string
  /** Opens the conversation asking for protocol v2 and returns a reader positioned at the capability advertisement ("version 2" line first), or a v0 server's ref advertisement. */
  handshake(): Promise<PktLineReader>
  /** Sends one command request (v2) or upload-pack request (v0) and returns a reader of its response. For stateful transports (file, ssh, git://) this is the same connection's reader. */
  command(request: Buffer): Promise<PktLineReader>
  /**
   * Stateless transports only (http): sends a command request now, without waiting for
   * what came before it: before the handshake's answer is in (the caller uses the answer
   * only if the request it would build from the real capabilities is the same), or while
   * an earlier command's answer is still arriving (the next batch of a lazy fetch). HTTP
   * v2 being stateless, the answer (or the error) is the one the request would have had
   * in its turn.
   */
  speculate?(request: Buffer): SpeculativeCommand
  /**
   * Downloads a packfile URI the server named, on this transport's connections and with
   * its credentials for its own origin only (download.ts). Transports that are not http
   * have none: see openDownload. With `resume`, continues a download that was cut.
   */
  download?(uri: string, schemes: readonly string[], resume?: ResumeFrom): Promise<Download>
  /** Bytes received from the server so far (for progress and the benchmark). */
  readonly bytesReceived: number
  close(): Promise<void>
}

export interface SpeculativeCommand {
  /** The request that was sent. */
  readonly request: Buffer
  /** Its answer (or its error); undefined when the handshake moved to another URL (a redirect). */
  reader(): Promise<PktLineReader | undefined>
  /** Stops waiting for it and lets its answer go. */
  discard(): Promise<void>
}

export interface TransportOptions {
  /** http.sslVerify (default true). */
  sslVerify?: boolean
  /** http.sslCAInfo */
  sslCAInfo?: string
  /** http.proxy; when undefined, the usual environment variables (https_proxy, HTTPS_PROXY, http_proxy, all_proxy, no_proxy) apply. */
  proxy?: string
  /** http.extraHeader values ("Name: value"); sent ONLY to the origin (scheme+host+port) of the URL they were configured for, never to a redirect target on another origin. */
  extraHeaders?: string[]
  /**
   * Where credentials come from after a 401 (credential helpers, askpass) and go after
   * an answer (store) or a refusal (erase); without it the URL's userinfo is sent as is.
   */
  credentials?: CredentialSource
  /** User-Agent, e.g. "git/2.39.0 (tsgit/0.1.0)"-style; the caller passes it. */
  userAgent?: string
  /** ssh command: GIT_SSH_COMMAND, else core.sshCommand, else GIT_SSH, else "ssh" — the caller resolves config; the transport handles env fallbacks if the option is undefined. */
  sshCommand?: string
  /** Path or name of git-upload-pack on the remote (remote.<name>.uploadpack), default "git-upload-pack". */
  uploadPack?: string
  /** Environment (defaults to process.env). */
  env?: NodeJS.ProcessEnv
  /** Where stderr of a local/ssh upload-pack goes, line by line, and warnings. */
  sink?: ProgressSink
  /** Allowed URL schemes for redirects (default http/https, and never https→http downgrade). */
  allowedSchemes?: string[]
  signal?: AbortSignal
}
