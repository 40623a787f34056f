/**
 * Every error tsgit raises on purpose is a TsgitError: it carries a literal
 * `code` that callers can switch on (even across copies of the package), the
 * process exit code git would use, and whether trying again may help.
 */
export const EXIT_FATAL = 128
export const EXIT_USAGE = 129

/**
 * Every code a TsgitError can carry. A literal union rather than `string`: callers
 * switch on codes, and a misspelt one (in a throw or a check) is a compile error
 * instead of a branch that never runs. The first group belongs to the classes
 * below; the rest are raised by the layer named.
 */
export type ErrorCode =
  | 'E_USAGE' | 'E_PKTLINE' | 'E_PROTOCOL' | 'E_REMOTE' | 'E_TRANSPORT' | 'E_AUTH'
  | 'E_PACK' | 'E_BUNDLE' | 'E_BUNDLE_LIST' | 'E_OBJECT_FORMAT' | 'E_MISSING_OBJECT'
  | 'E_CONFIG' | 'E_REF' | 'E_LOCK' | 'E_UNSAFE_PATH' | 'E_REPOSITORY' | 'E_INTERRUPTED'
  // lib/transport
  | 'E_CREDENTIAL'
  // lib/odb
  | 'E_CORRUPT'
  // lib/worktree
  | 'E_INDEX_FORMAT' | 'E_LOCAL_CHANGES'
  // lib/ops
  | 'E_BAD_REVISION' | 'E_REV_LIST_MISSING' | 'E_CAT_FILE' | 'E_PATHSPEC' | 'E_NOT_A_COMMIT'
  | 'E_BAD_BRANCH' | 'E_BRANCH_EXISTS' | 'E_NO_PREVIOUS' | 'E_CHECKED_OUT' | 'E_SPARSE_CHECKOUT'
  | 'E_REMOTE_CONFIG' | 'E_NO_REMOTE' | 'E_NO_REMOTE_REF' | 'E_REFSPEC' | 'E_FETCH_CHECKED_OUT'
  | 'E_NO_PACK' | 'E_CONNECTIVITY' | 'E_PACKFILE_URI' | 'E_RESUME_STATE' | 'E_CLONE_KEPT'
  | 'E_USAGE_BUNDLE' | 'E_CHECKOUT_PATHS' | 'E_PATH_LIMITING' | 'E_INVALID_REFERENCE' | 'E_CONFIG_COMMAND'
  | 'E_CREDENTIALS_IN_URL' | 'E_NEGOTIATION_TIP'
  // lib/cli
  | 'E_DEPTH' | 'E_TOO_MANY_REFERENCES' | 'E_USAGE_ALL'

export interface TsgitErrorOptions {
  cause?: unknown
  exitCode?: number
  retryable?: boolean
}

export class TsgitError extends Error {
  readonly code: ErrorCode
  readonly exitCode: number
  readonly retryable: boolean

  constructor(code: ErrorCode, message: string, options: TsgitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.exitCode = options.exitCode ?? EXIT_FATAL
    this.retryable = options.retryable ?? false
  }
}

/** Bad command-line usage: exit 129 like git. */
export class UsageError extends TsgitError {
  constructor(message: string, options: TsgitErrorOptions = {}) {
    super('E_USAGE', message, { ...options, exitCode: EXIT_USAGE })
  }
}

/** pkt-line framing is broken (bad length, oversized packet, stream ended mid-packet). */
/** Paths after `--` given to a command that lists history (rev-list, log): tsgit does not limit history to paths. */
export class PathLimitingError extends TsgitError {
  constructor(command: string, paths: readonly string[]) {
    super('E_PATH_LIMITING', `${command}: limiting history to paths is not supported (${paths.map((p) => `'${p}'`).join(', ')})`)
  }
}

export class PktLineError extends TsgitError {
  constructor(message: string, options: TsgitErrorOptions = {}) {
    super('E_PKTLINE', message, options)
  }
}

/** The server said something the protocol does not allow, or reported an error (ERR, band 3). */
export class ProtocolError extends TsgitError {
  constructor(message: string, options: TsgitErrorOptions = {}) {
    super('E_PROTOCOL', message, options)
  }
}

/** The remote reported an error itself (ERR packet or sideband 3). */
export class RemoteError extends TsgitError {
  constructor(message: string, options: TsgitErrorOptions = {}) {
    super('E_REMOTE', message, options)
  }
}

/** A transport failed: connection refused, HTTP error status, process died. */
export class TransportError extends TsgitError {
  constructor(message: string, options: TsgitErrorOptions = {}) {
    super('E_TRANSPORT', message, { retryable: true, ...options })
  }
}

/** HTTP 401/403 or missing credentials. */
export class AuthError extends TsgitError {
  constructor(message: string, options: TsgitErrorOptions = {}) {
    super('E_AUTH', message, options)
  }
}

/**
 * The caller gave up: the AbortSignal an operation was handed fired (SIGINT, SIGTERM,
 * or a caller's own). Nothing about the input is wrong, so trying again may help;
 * the message names what stopped ("checkout interrupted"), the signal's reason is
 * the cause.
 */
export class InterruptedError extends TsgitError {
  constructor(message: string, options: TsgitErrorOptions = {}) {
    super('E_INTERRUPTED', message, { retryable: true, ...options })
  }
}

/** A pack is truncated, corrupt, lies about its contents or exceeds a bound. */
export class PackError extends TsgitError {
  constructor(message: string, options: TsgitErrorOptions = {}) {
    super('E_PACK', message, options)
  }
}

/**
 * A bundle (gitformat-bundle) is not one, or its header breaks the format or a bound.
 * Retryable only when the data ended early: a download that was cut off.
 */
export class BundleError extends TsgitError {
  constructor(message: string, options: TsgitErrorOptions = {}) {
    super('E_BUNDLE', message, options)
  }
}

/** A bundle list (bundle-uri's config-format list) is malformed or names something unusable. */
export class BundleListError extends TsgitError {
  constructor(message: string, options: TsgitErrorOptions = {}) {
    super('E_BUNDLE_LIST', message, options)
  }
}

/** An object is malformed (bad tree entry, bad header, hash mismatch). */
export class ObjectFormatError extends TsgitError {
  constructor(message: string, options: TsgitErrorOptions = {}) {
    super('E_OBJECT_FORMAT', message, options)
  }
}

/** An object is not in the repository (and could not be fetched, where that was allowed). */
export class MissingObjectError extends TsgitError {
  readonly oid: string
  constructor(oid: string, message = `unable to read ${oid}`, options: TsgitErrorOptions = {}) {
    super('E_MISSING_OBJECT', message, options)
    this.oid = oid
  }
}

/** A config file cannot be parsed or a value is invalid. */
export class ConfigError extends TsgitError {
  constructor(message: string, options: TsgitErrorOptions = {}) {
    super('E_CONFIG', message, options)
  }
}

/** A ref name is invalid, a ref update lost a race, or a lock is held. */
export class RefError extends TsgitError {
  constructor(message: string, options: TsgitErrorOptions = {}) {
    super('E_REF', message, options)
  }
}

/** A lock file exists already (another process, or a crashed one). */
export class LockError extends TsgitError {
  readonly path: string
  constructor(path: string, message: string, options: TsgitErrorOptions = {}) {
    super('E_LOCK', message, options)
    this.path = path
  }
}

/** A tree entry would escape the work tree or write into .git. */
export class UnsafePathError extends TsgitError {
  readonly path: string
  constructor(path: string, message: string, options: TsgitErrorOptions = {}) {
    super('E_UNSAFE_PATH', message, options)
    this.path = path
  }
}

/** A repository-level precondition fails (destination exists, not a git dir, unsupported format). */
export class RepositoryError extends TsgitError {
  constructor(message: string, options: TsgitErrorOptions = {}) {
    super('E_REPOSITORY', message, options)
  }
}

export function isTsgitError(e: unknown): e is TsgitError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && typeof (e as { exitCode?: unknown }).exitCode === 'number'
}

/** Only ENOENT (and ENOTDIR, a missing parent) means "absent"; every other fs error is real. */
export function isNotFound(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code
  return code === 'ENOENT' || code === 'ENOTDIR'
}
