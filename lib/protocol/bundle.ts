/**
 * The header of a git bundle (gitformat-bundle v2 and v3): what `git bundle list-heads`
 * and `git bundle verify` read before the pack. Pure: the caller brings the bytes (a
 * download, a file) and takes the pack that follows as a stream, never as one buffer.
 *
 * The header is bounded (bytes and lines) because a bundle URI is untrusted input:
 * a server that never sends the blank line must not make us buffer without end.
 *
 * Deviations from git 2.39, all on the strict side (git's own writer never produces
 * what is refused here, and a refused bundle only costs a fetch from the origin):
 * - lines must come in the grammar's order (capabilities, prerequisites, refs); git
 *   accepts them interleaved;
 * - a line ending in CR, or holding a NUL, is refused; git trims trailing whitespace;
 * - object ids must be lowercase hex, and only SHA-1 is read (`@object-format=sha256`
 *   is refused as unsupported);
 * - ref names must pass `git check-ref-format` (HEAD and other all-caps *HEAD names
 *   excepted, which git writes for symrefs such as HEAD) and be UTF-8; git takes the
 *   name as it comes;
 * - a capability given twice is refused; git lets the last one win (or, for
 *   `@filter`, combines them).
 */
import { BundleError } from '../errors.js'
import type { Oid } from '../oid.js'
import { isValidRefName } from '../repo/refs.js'
import { parseFilterSpec, type FilterSpec } from './filter.js'

export const BUNDLE_V2_SIGNATURE = '# v2 git bundle\n'
export const BUNDLE_V3_SIGNATURE = '# v3 git bundle\n'

const SIGNATURES: readonly { version: 2 | 3; bytes: Buffer }[] = [
  { version: 2, bytes: Buffer.from(BUNDLE_V2_SIGNATURE, 'latin1') },
  { version: 3, bytes: Buffer.from(BUNDLE_V3_SIGNATURE, 'latin1') },
]
const SIGNATURE_LENGTH = BUNDLE_V2_SIGNATURE.length

/**
 * Large enough for a header listing a few hundred thousand refs (each line is an
 * object id, a space and a name), small enough that a hostile server cannot make
 * the header the thing that exhausts memory.
 */
export const DEFAULT_MAX_BUNDLE_HEADER_BYTES = 32 * 1024 * 1024
export const DEFAULT_MAX_BUNDLE_HEADER_LINES = 500_000

export interface BundleHeaderOptions {
  /** Refuse a header (signature to blank line inclusive) longer than this. */
  maxHeaderBytes?: number
  /** Refuse a header with more capability, prerequisite and ref lines than this. */
  maxHeaderLines?: number
}

export interface BundlePrerequisite {
  oid: Oid
  /** Free text after the id (git writes the commit's subject); readers must ignore it. */
  comment: string
}

export interface BundleRef {
  oid: Oid
  name: string
}

export interface BundleHeader {
  version: 2 | 3
  /** v3 `@key[=value]` lines as written; `undefined` for a key without `=`. Empty for v2. */
  capabilities: Map<string, string | undefined>
  /** The `@filter` capability, parsed: the pack is partial and must be kept as a promisor pack. */
  filter: FilterSpec | undefined
  prerequisites: BundlePrerequisite[]
  refs: BundleRef[]
  /** Bytes from the signature to the blank line inclusive: the pack starts at this offset. */
  headerLength: number
}

export interface Bundle extends BundleHeader {
  /**
   * Exactly the bytes after the header's blank line, pulled from the source on demand.
   * Iterable once. Breaking out of it closes the source; leaving it unread does not.
   */
  pack: AsyncIterable<Buffer>
}

/** Whether `firstBytes` begins with a complete v2 or v3 signature (so at least 16 bytes are needed). */
export function isBundleSignature(firstBytes: Uint8Array): boolean {
  return signatureState(firstBytes) === 'bundle'
}

/**
 * 'bundle' when the bytes begin with a signature; 'maybe' when they are a proper
 * prefix of one (more bytes are needed to tell); 'no' otherwise.
 */
export function signatureState(bytes: Uint8Array): 'bundle' | 'maybe' | 'no' {
  const b = toBuffer(bytes)
  for (const sig of SIGNATURES) {
    if (b.length >= SIGNATURE_LENGTH) {
      if (b.subarray(0, SIGNATURE_LENGTH).equals(sig.bytes)) return 'bundle'
    } else if (sig.bytes.subarray(0, b.length).equals(b)) {
      return 'maybe'
    }
  }
  return 'no'
}

/**
 * Reads the header from `bytes` alone: the header when it is all there (`headerLength`
 * says where the pack starts), `undefined` when the bytes end before the blank line
 * that closes it. Throws BundleError when the bytes are not a bundle, or break the
 * format or a bound, however few of them there are.
 */
export function parseBundleHeader(bytes: Uint8Array, opts: BundleHeaderOptions = {}): BundleHeader | undefined {
  const parser = new HeaderParser(opts)
  return parser.feed(toBuffer(bytes)) < 0 ? undefined : parser.header()
}

/**
 * Reads the header from a stream of chunks of any size and hands back the rest of
 * the stream as `pack`. Throws BundleError (and closes the source) when the data is
 * not a bundle or the header is bad; a source that ends inside the header gives a
 * retryable BundleError, as a cut-off download would.
 */
export async function readBundle(source: AsyncIterable<Uint8Array>, opts: BundleHeaderOptions = {}): Promise<Bundle> {
  const it = source[Symbol.asyncIterator]()
  const parser = new HeaderParser(opts)
  try {
    for (;;) {
      const r = await it.next()
      if (r.done === true) throw parser.truncated()
      const chunk = toBuffer(r.value)
      const at = parser.feed(chunk)
      if (at >= 0) return { ...parser.header(), pack: packStream(chunk.subarray(at), it) }
    }
  } catch (e) {
    await closeQuietly(it)
    throw e
  }
}

function packStream(first: Buffer, it: AsyncIterator<Uint8Array>): AsyncIterable<Buffer> {
  let taken = false
  async function* chunks(): AsyncGenerator<Buffer> {
    let finished = false
    try {
      if (first.length > 0) yield first
      for (;;) {
        const r = await it.next()
        if (r.done === true) {
          finished = true
          return
        }
        if (r.value.length > 0) yield toBuffer(r.value)
      }
    } finally {
      // a consumer that stops early must not leave a download or file handle open
      if (!finished) await closeQuietly(it)
    }
  }
  return {
    [Symbol.asyncIterator](): AsyncIterator<Buffer> {
      if (taken) throw new BundleError('bundle pack: the pack stream can be read only once')
      taken = true
      return chunks()
    },
  }
}

async function closeQuietly(it: AsyncIterator<unknown>): Promise<void> {
  try {
    await it.return?.()
  } catch {
    // the error that made us close is the one worth reporting
  }
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
}

const LF = 0x0a
const CR = 0x0d
const NUL = 0x00
const UTF8 = new TextDecoder('utf-8', { fatal: true })
const CAPABILITY_KEY = /^[A-Za-z0-9-]+$/
const SHA1_HEX = /^[0-9a-f]{40}$/

/** A line as it appears in an error: quoted with escapes, and not the whole of a huge one. */
function show(line: Buffer): string {
  const limit = 200
  const text = line.subarray(0, limit).toString('utf8')
  return JSON.stringify(text) + (line.length > limit ? '...' : '')
}

/** Why the text at the start of `rest` is not the object id a line must begin with. */
function oidProblem(rest: string): string {
  const hex = /^[0-9a-fA-F]*/.exec(rest)?.[0] ?? ''
  if (hex.length === 64) return 'a SHA-256 object id; tsgit reads SHA-1 bundles only'
  if (hex.length !== 40) return 'no 40-hex object id'
  if (/[A-F]/.test(hex)) return 'object id not in lowercase hex'
  return rest.length === 40 ? 'nothing after the object id' : 'no space after the object id'
}

/** git writes symrefs under the name it was given (HEAD); other pseudo-refs are all caps too. */
function isBundleRefName(name: string): boolean {
  return isValidRefName(name) || /^(?:[A-Z][A-Z_]*_)?HEAD$/.test(name)
}

/**
 * Incremental parser: fed chunk by chunk, it handles each line as soon as its LF
 * arrives, so one-byte chunks cost no more than one big one.
 */
class HeaderParser {
  private readonly maxBytes: number
  private readonly maxLines: number
  private version: 2 | 3 | undefined
  private stage: 'capabilities' | 'prerequisites' | 'refs' = 'capabilities'
  /** Bytes of complete lines handled so far, LFs included. */
  private consumed = 0
  private lines = 0
  private partial: Buffer[] = []
  private partialLength = 0
  private readonly capabilities = new Map<string, string | undefined>()
  private filter: FilterSpec | undefined
  private readonly prerequisites: BundlePrerequisite[] = []
  private readonly refs: BundleRef[] = []

  constructor(opts: BundleHeaderOptions) {
    this.maxBytes = opts.maxHeaderBytes ?? DEFAULT_MAX_BUNDLE_HEADER_BYTES
    this.maxLines = opts.maxHeaderLines ?? DEFAULT_MAX_BUNDLE_HEADER_LINES
  }

  /** Returns the offset in `chunk` where the pack starts once the blank line is in, else -1. */
  feed(chunk: Buffer): number {
    let pos = 0
    while (pos < chunk.length) {
      const nl = chunk.indexOf(LF, pos)
      const end = nl < 0 ? chunk.length : nl
      // refuse a non-bundle at once rather than after buffering up to the cap
      if (this.version === undefined) this.checkSignaturePrefix(chunk.subarray(pos, end))
      const through = this.consumed + this.partialLength + (end - pos) + (nl < 0 ? 0 : 1)
      if (through > this.maxBytes) {
        throw new BundleError(`bundle header: no blank line within the first ${this.maxBytes} bytes (the header is capped)`)
      }
      if (nl < 0) {
        // copied: the source may own and reuse its buffers
        this.partial.push(Buffer.from(chunk.subarray(pos)))
        this.partialLength += chunk.length - pos
        return -1
      }
      const piece = chunk.subarray(pos, nl)
      const line = this.partialLength === 0 ? piece : Buffer.concat([...this.partial, piece])
      this.partial = []
      this.partialLength = 0
      this.consumed += line.length + 1
      pos = nl + 1
      if (this.line(line)) return pos
    }
    return -1
  }

  header(): BundleHeader {
    if (this.version === undefined) throw new Error('bundle header read before its signature')
    return {
      version: this.version,
      capabilities: this.capabilities,
      filter: this.filter,
      prerequisites: this.prerequisites,
      refs: this.refs,
      headerLength: this.consumed,
    }
  }

  /** The error for data that ended before the header did. */
  truncated(): BundleError {
    const seen = this.consumed + this.partialLength
    const what = this.version === undefined ? 'inside the signature' : 'before the blank line that ends the header'
    return new BundleError(`bundle header: truncated: the data ended after ${seen} bytes, ${what}`, { retryable: true })
  }

  private checkSignaturePrefix(bytes: Buffer): void {
    const seen = this.partialLength === 0 ? bytes : Buffer.concat([...this.partial, bytes])
    // `seen` is the first line so far without its LF: longer than a signature's is not one
    if (seen.length > SIGNATURE_LENGTH - 1 || signatureState(seen) === 'no') throw this.notABundle(seen)
  }

  private notABundle(firstLine: Buffer): BundleError {
    return new BundleError(`bundle header: not a v2 or v3 bundle (it starts with ${show(firstLine.subarray(0, 40))})`)
  }

  /** Handles one line without its LF; true when it is the blank line that ends the header. */
  private line(line: Buffer): boolean {
    if (this.version === undefined) {
      const withLf = Buffer.concat([line, Buffer.of(LF)])
      const sig = SIGNATURES.find((s) => s.bytes.equals(withLf))
      if (sig === undefined) throw this.notABundle(line)
      this.version = sig.version
      return false
    }
    if (line.length === 0) return true
    if (++this.lines > this.maxLines) {
      throw new BundleError(`bundle header: more than ${this.maxLines} lines (the header is capped)`)
    }
    if (line.includes(NUL)) throw new BundleError(`bundle header: NUL byte in line ${show(line)}`)
    if (line[line.length - 1] === CR) {
      throw new BundleError(`bundle header: line ${show(line)} ends in CR (was the bundle converted to CRLF text?)`)
    }
    const first = line[0]
    if (first === 0x40 /* @ */) this.capability(line)
    else if (first === 0x2d /* - */) this.prerequisite(line)
    else this.ref(line)
    return false
  }

  private capability(line: Buffer): void {
    if (this.version === 2) throw new BundleError(`bundle header: capability line ${show(line)} in a v2 bundle`)
    if (this.stage !== 'capabilities') {
      throw new BundleError(`bundle header: capability line ${show(line)} after prerequisites or refs`)
    }
    let text: string
    try {
      text = UTF8.decode(line.subarray(1))
    } catch {
      throw new BundleError(`bundle header: capability line ${show(line)} is not UTF-8`)
    }
    const eq = text.indexOf('=')
    const key = eq < 0 ? text : text.slice(0, eq)
    const value = eq < 0 ? undefined : text.slice(eq + 1)
    if (!CAPABILITY_KEY.test(key)) throw new BundleError(`bundle header: bad capability line ${show(line)}`)
    if (this.capabilities.has(key)) throw new BundleError(`bundle header: capability '${key}' given twice`)
    if (key === 'object-format') {
      if (value === 'sha256') {
        throw new BundleError('bundle header: object format sha256 is not supported (tsgit reads SHA-1 bundles only)')
      }
      if (value !== 'sha1') throw new BundleError(`bundle header: unrecognized bundle hash algorithm ${JSON.stringify(value ?? '')}`)
    } else if (key === 'filter') {
      if (value === undefined || value === '') throw new BundleError(`bundle header: capability ${show(line)} has no filter`)
      try {
        this.filter = parseFilterSpec(value)
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e)
        throw new BundleError(`bundle header: bad filter capability ${show(line)}: ${reason}`, { cause: e })
      }
    } else {
      // nothing to negotiate with: a capability we do not know may change what the pack means
      throw new BundleError(`bundle header: unknown capability '${key}'`)
    }
    this.capabilities.set(key, value)
  }

  private prerequisite(line: Buffer): void {
    if (this.stage === 'refs') throw new BundleError(`bundle header: prerequisite line ${show(line)} after the refs`)
    this.stage = 'prerequisites'
    const hex = line.subarray(1, 41).toString('latin1')
    if (!SHA1_HEX.test(hex) || (line.length > 41 && line[41] !== 0x20)) {
      throw new BundleError(`bundle header: bad prerequisite line ${show(line)}: ${oidProblem(line.subarray(1).toString('latin1'))}`)
    }
    // git writes "-<id> <subject>", with the space even when the subject is empty
    const comment = line.length > 42 ? line.subarray(42).toString('utf8') : ''
    this.prerequisites.push({ oid: hex, comment })
  }

  private ref(line: Buffer): void {
    this.stage = 'refs'
    const hex = line.subarray(0, 40).toString('latin1')
    if (!SHA1_HEX.test(hex) || line[40] !== 0x20) {
      throw new BundleError(`bundle header: bad ref line ${show(line)}: ${oidProblem(line.toString('latin1'))}`)
    }
    let name: string
    try {
      name = UTF8.decode(line.subarray(41))
    } catch {
      throw new BundleError(`bundle header: ref name in line ${show(line)} is not UTF-8`)
    }
    if (!isBundleRefName(name)) throw new BundleError(`bundle header: bad ref name ${JSON.stringify(name)}`)
    this.refs.push({ oid: hex, name })
  }
}
