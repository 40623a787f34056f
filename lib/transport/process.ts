/**
 * Stateful transports that talk to an upload-pack process over its stdin and
 * stdout: a local one (file:// URLs and plain paths) or one reached through ssh.
 * GIT_PROTOCOL=version=2 asks upload-pack for protocol v2.
 *
 * upload-pack's stderr: complete lines are forwarded to `sink.remote` as they
 * arrive, except lines starting with "fatal:" which git's die() writes just
 * before exiting; those are held back and become the message of the
 * TransportError raised when the process exits non-zero (so they are not shown
 * twice). If the process exits 0 after all, held lines are forwarded.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { TransportError, type TsgitErrorOptions } from '../errors.js'
import { silentSink, type ProgressSink } from '../events.js'
import { flushPkt, PktLineReader } from '../pktline/pktline.js'
import { chunksOf } from './chunks.js'
import { drainOutput } from './drain.js'
import type { Transport, TransportOptions } from './types.js'
import type { RemoteUrl } from './url.js'

const STDERR_TAIL_MAX = 8192

/** A non-zero exit or a failed spawn of upload-pack (or ssh). */
export class UploadPackError extends TransportError {
  /** What the process wrote to stderr (its tail, at most 8 KiB). */
  readonly stderr: string
  /** Exit status, or undefined when the process never started or died by a signal. */
  readonly status: number | undefined
  constructor(message: string, stderr: string, status: number | undefined, options: TsgitErrorOptions = {}) {
    super(message, options)
    this.stderr = stderr
    this.status = status
  }
}

export interface SpawnSpec {
  file: string
  args: string[]
  env: NodeJS.ProcessEnv
}

/** Quotes for a POSIX shell the way git's sq_quote does: inside single quotes, with ' and ! escaped. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`).replace(/!/g, `'\\!'`)}'`
}

const PLAIN_PROGRAM = /^[A-Za-z0-9_./+-]+$/

/** Runs `command args...`, through `sh -c` when the command is a shell snippet (as git does). */
function commandSpec(command: string, args: string[], env: NodeJS.ProcessEnv, viaShell: boolean): SpawnSpec {
  if (!viaShell || PLAIN_PROGRAM.test(command)) return { file: command, args, env }
  return { file: 'sh', args: ['-c', `${command} "$@"`, command, ...args], env }
}

/** Variables that point at the repository we run in; a local upload-pack must not inherit them (git's local_repo_env). */
const LOCAL_REPO_ENV = [
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_CONFIG',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_COUNT',
  'GIT_OBJECT_DIRECTORY',
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_IMPLICIT_WORK_TREE',
  'GIT_GRAFT_FILE',
  'GIT_INDEX_FILE',
  'GIT_NO_REPLACE_OBJECTS',
  'GIT_REPLACE_REF_BASE',
  'GIT_PREFIX',
  'GIT_SHALLOW_FILE',
  'GIT_COMMON_DIR',
]

function childEnv(options: TransportOptions, local: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env) }
  if (local) {
    for (const k of LOCAL_REPO_ENV) delete env[k]
    for (const k of Object.keys(env)) if (/^GIT_CONFIG_(KEY|VALUE)_/.test(k)) delete env[k]
  }
  env['GIT_PROTOCOL'] = 'version=2'
  return env
}

/** upload-pack for a local repository; falls back to `git upload-pack` when the default program is not on PATH. */
export function localSpawnSpecs(path: string, options: TransportOptions): SpawnSpec[] {
  const env = childEnv(options, true)
  const program = options.uploadPack ?? 'git-upload-pack'
  const specs = [commandSpec(program, [path], env, true)]
  if (options.uploadPack === undefined) specs.push({ file: 'git', args: ['upload-pack', path], env })
  return specs
}

export type SshVariant = 'ssh' | 'plink' | 'putty' | 'tortoiseplink' | 'simple'

/**
 * Which options the ssh program understands. GIT_SSH_VARIANT wins; otherwise
 * the basename of the program (first word of a command string): "ssh" is
 * OpenSSH, "plink"/"putty"/"tortoiseplink" are PuTTY's, anything else is
 * "simple" (host and command only).
 * Deviation: for an unrecognised program git 2.39 probes it with `-G`; we do not.
 */
export function sshVariant(command: string, env: NodeJS.ProcessEnv): SshVariant {
  const forced = env['GIT_SSH_VARIANT']
  if (forced === 'ssh' || forced === 'plink' || forced === 'putty' || forced === 'tortoiseplink' || forced === 'simple') return forced
  const first = command.trim().split(/\s+/)[0] ?? ''
  const base = (first.split('/').pop() ?? '').toLowerCase().replace(/\.exe$/, '')
  if (base === 'ssh' || base === 'plink' || base === 'putty' || base === 'tortoiseplink') return base
  return 'simple'
}

/** ssh [options] [user@]host "git-upload-pack '<path>'" */
export function sshSpawnSpec(remote: Extract<RemoteUrl, { kind: 'ssh' }>, options: TransportOptions): SpawnSpec {
  const env0 = options.env ?? process.env
  let command: string
  let viaShell: boolean
  if (options.sshCommand !== undefined) {
    command = options.sshCommand
    viaShell = true
  } else if (env0['GIT_SSH_COMMAND'] !== undefined && env0['GIT_SSH_COMMAND'] !== '') {
    command = env0['GIT_SSH_COMMAND']
    viaShell = true
  } else if (env0['GIT_SSH'] !== undefined && env0['GIT_SSH'] !== '') {
    command = env0['GIT_SSH']
    viaShell = false
  } else {
    command = 'ssh'
    viaShell = false
  }
  const variant = sshVariant(command, env0)
  const args: string[] = []
  if (variant === 'ssh') args.push('-o', 'SendEnv=GIT_PROTOCOL')
  if (variant === 'tortoiseplink') args.push('-batch')
  if (remote.port !== undefined) {
    if (variant === 'ssh') args.push('-p', String(remote.port))
    else if (variant === 'simple') throw new TransportError(`ssh variant 'simple' does not support setting port`, { retryable: false })
    else args.push('-P', String(remote.port))
  }
  args.push(remote.user !== undefined ? `${remote.user}@${remote.host}` : remote.host)
  args.push(`${options.uploadPack ?? 'git-upload-pack'} ${shellQuote(remote.path)}`)
  const env = childEnv(options, false)
  return viaShell ? { file: 'sh', args: ['-c', `${command} "$@"`, command, ...args], env } : { file: command, args, env }
}

function startChild(spec: SpawnSpec): Promise<ChildProcessWithoutNullStreams> {
  return new Promise((resolve, reject) => {
    const child = spawn(spec.file, spec.args, { env: spec.env, stdio: ['pipe', 'pipe', 'pipe'] })
    const onError = (e: Error): void => reject(e)
    child.once('error', onError)
    child.once('spawn', () => {
      child.off('error', onError)
      resolve(child)
    })
  })
}

export class ProcessTransport implements Transport {
  readonly displayUrl: string
  private readonly specs: SpawnSpec[]
  private readonly sink: ProgressSink
  private readonly signal: AbortSignal | undefined
  private child: ChildProcessWithoutNullStreams | undefined
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined
  private reader: PktLineReader | undefined
  private received = 0
  private stderrTail = ''
  private partialLine = ''
  private heldLines: string[] = []
  private failureReported = false
  private closed = false
  private sentCommand = false
  private stdoutEnded = false
  private output: AsyncGenerator<Buffer> | undefined

  constructor(displayUrl: string, specs: SpawnSpec[], options: TransportOptions) {
    this.displayUrl = displayUrl
    this.specs = specs
    this.sink = options.sink ?? silentSink
    this.signal = options.signal
  }

  get bytesReceived(): number {
    return this.received
  }

  private onStderr(chunk: Buffer): void {
    const text = chunk.toString('utf8')
    this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_MAX)
    const lines = (this.partialLine + text).split('\n')
    this.partialLine = (lines.pop() ?? '').slice(-STDERR_TAIL_MAX)
    for (const line of lines) this.routeLine(line.replace(/\r$/, ''))
  }

  private routeLine(line: string): void {
    if (line.startsWith('fatal:')) this.heldLines.push(line)
    else this.sink.remote(line)
  }

  private failure(code: number | null, signal: NodeJS.Signals | null): UploadPackError {
    const held = [...this.heldLines]
    if (this.partialLine !== '') held.push(this.partialLine)
    const first = held[0]?.replace(/^fatal:\s*/, '')
    const rest = held.slice(1)
    const how = signal !== null ? `killed by signal ${signal}` : `exited with code ${code ?? '?'}`
    const message = first !== undefined ? [first, ...rest].join('\n') : `upload-pack for '${this.displayUrl}' ${how}; could not read from remote repository`
    // 255 is ssh's own "could not connect"; a repository that is not there will not appear by retrying.
    return new UploadPackError(message, this.stderrTail, code ?? undefined, { retryable: code === 255 })
  }

  private async spawnFirst(): Promise<ChildProcessWithoutNullStreams> {
    let lastError: unknown
    for (const spec of this.specs) {
      try {
        return await startChild(spec)
      } catch (e) {
        lastError = e
        if ((e as { code?: unknown }).code !== 'ENOENT') break
      }
    }
    const cmd = this.specs[0]?.file ?? '?'
    throw new UploadPackError(`cannot run ${cmd}: ${lastError instanceof Error ? lastError.message : String(lastError)}`, '', undefined, {
      cause: lastError,
      retryable: false,
    })
  }

  private async connect(): Promise<PktLineReader> {
    if (this.closed) throw new TransportError(`transport for '${this.displayUrl}' is closed`, { retryable: false })
    if (this.reader !== undefined) return this.reader
    const child = await this.spawnFirst()
    this.child = child
    this.exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })))
    child.stderr.on('data', (b: Buffer) => this.onStderr(b))
    child.stdout.once('end', () => {
      this.stdoutEnded = true
    })
    // EPIPE on stdin surfaces through the exit status and stderr instead.
    child.stdin.on('error', () => undefined)
    if (this.signal !== undefined) {
      const onAbort = (): void => {
        child.kill('SIGTERM')
        // A reader blocked on output that grandchildren still hold open must wake up now.
        child.stdout.destroy(this.signal?.reason instanceof Error ? this.signal.reason : new Error('aborted'))
      }
      if (this.signal.aborted) onAbort()
      else this.signal.addEventListener('abort', onAbort, { once: true })
      void this.exited.then(() => this.signal?.removeEventListener('abort', onAbort))
    }
    const self = this
    const stdout = child.stdout
    const exited = this.exited
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const buf of chunksOf(stdout)) {
        self.received += buf.length
        yield buf
      }
      // End of output: if the process failed, that is the real error, not "hung up".
      const { code, signal } = await exited
      if (code !== 0 && !self.closed) {
        self.failureReported = true
        throw self.failure(code, signal)
      }
    }
    this.output = counted()
    this.reader = new PktLineReader(this.output)
    return this.reader
  }

  async handshake(): Promise<PktLineReader> {
    const reader = await this.connect()
    // Waiting for the first packet turns "not a repository" into an error here, with upload-pack's words.
    await reader.peek()
    return reader
  }

  async command(request: Buffer): Promise<PktLineReader> {
    const reader = await this.connect()
    const child = this.child
    if (child === undefined || !child.stdin.writable) throw new TransportError(`the remote end hung up unexpectedly ('${this.displayUrl}')`)
    this.sentCommand = true
    await new Promise<void>((resolve, reject) => {
      child.stdin.write(request, (e) => (e ? reject(new TransportError(`cannot send to upload-pack for '${this.displayUrl}': ${e.message}`, { cause: e })) : resolve()))
    })
    return reader
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const child = this.child
    if (child === undefined || this.exited === undefined) return
    if (this.signal?.aborted === true) {
      // Interrupted: do not wait for output, or for grandchildren (an ssh client's
      // pipeline) that may keep our pipes open long after the child itself is gone.
      child.kill('SIGTERM')
      child.stdin.destroy()
      child.stdout.destroy()
      child.stderr.destroy()
      return
    }
    // A flush ends the conversation where a request could come: v2's upload-pack ends
    // its session, v0's would otherwise die of an unexpected end while waiting for wants.
    if (!this.sentCommand) child.stdin.end(flushPkt())
    else child.stdin.end()
    // Unread output is drained so upload-pack can finish and report how it ended; a
    // transfer abandoned mid-way (more than DRAIN_MAX left) is cut off instead.
    // (a failure while draining is judged from the exit status below)
    await drainOutput(this.output, () => child.kill('SIGTERM'))
    child.stdout.destroy()
    const { code, signal } = await this.exited
    if (this.partialLine !== '') {
      this.routeLine(this.partialLine)
      this.partialLine = ''
    }
    if (code === 0) {
      for (const line of this.heldLines) this.sink.remote(line)
      this.heldLines = []
      return
    }
    // Output we abandoned can make upload-pack die of a write error; that is not a failure to report.
    if (!this.failureReported && signal === null && this.stdoutEnded) {
      this.failureReported = true
      throw this.failure(code, signal)
    }
  }
}
