/**
 * Git-style lock files: `<path>.lock` is created exclusively, written, then
 * renamed over `<path>`; whoever holds the lock is the only writer. Readers
 * never see a half-written file because rename is atomic.
 */
import { closeSync, unlinkSync } from 'node:fs'
import { open, rename, unlink, type FileHandle } from 'node:fs/promises'
import { resolve } from 'node:path'
import { LockError, isNotFound } from '../errors.js'

export interface LockOptions {
  /** Keep retrying for this long when the lock is held (git's core.filesRefLockTimeout idea). Default 0: fail at once. */
  timeoutMs?: number
  /** Permission bits for the new file; the umask still applies at creation. Default 0o666. */
  mode?: number
  /** fsync before the rename (git's core.fsync). Default false. */
  fsync?: boolean
}

type LockState = 'held' | 'committed' | 'rolledBack'

/** Lock files still held, removed at process exit so a failed run leaves no stale lock behind. */
const heldLocks = new Map<string, FileHandle>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // 'exit' handlers must be synchronous; fs/promises handles expose their fd for closeSync.
  process.on('exit', removeHeldLocksSync)
}

/**
 * Removes every lock this process still holds. Runs at exit; the CLI may also call it
 * from its signal handlers before re-raising the signal.
 */
export function removeHeldLocksSync(): void {
  for (const [lockPath, handle] of heldLocks) {
    try {
      closeSync(handle.fd)
    } catch {
      // already closed: nothing to release
    }
    try {
      unlinkSync(lockPath)
    } catch {
      // best effort at exit: someone may already have removed it
    }
  }
  heldLocks.clear()
}

/** git's wording, so scripts and people recognise it. */
export function lockHeldMessage(path: string): string {
  return (
    `Unable to create '${resolve(path)}.lock': File exists.\n\n` +
    'Another git process seems to be running in this repository, e.g.\n' +
    "an editor opened by 'git commit'. Please make sure all processes\n" +
    'are terminated then try again. If it still fails, a git process\n' +
    'may have crashed in this repository earlier:\n' +
    'remove the file manually to continue.'
  )
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

export class LockFile {
  readonly path: string
  readonly lockPath: string
  private handle: FileHandle | undefined
  private state: LockState = 'held'
  private readonly fsync: boolean

  private constructor(path: string, handle: FileHandle, fsync: boolean) {
    this.path = path
    this.lockPath = `${path}.lock`
    this.handle = handle
    this.fsync = fsync
  }

  /** Creates `<path>.lock` exclusively; throws LockError with git's message when it exists. */
  static async acquire(path: string, options: LockOptions = {}): Promise<LockFile> {
    const lockPath = `${path}.lock`
    const timeoutMs = Math.max(0, options.timeoutMs ?? 0)
    const deadline = Date.now() + timeoutMs
    // Back off like git does: short waits first, growing, so a quick competitor is not starved.
    let wait = 1
    for (;;) {
      try {
        const handle = await open(lockPath, 'wx', options.mode ?? 0o666)
        installExitHook()
        heldLocks.set(lockPath, handle)
        if (options.mode !== undefined) {
          // open() applies the umask; an explicit mode is what the caller wants on disk.
          await handle.chmod(options.mode)
        }
        return new LockFile(path, handle, options.fsync ?? false)
      } catch (e) {
        const code = (e as { code?: unknown } | null)?.code
        if (code !== 'EEXIST') {
          throw new LockError(path, `Unable to create '${resolve(path)}.lock': ${e instanceof Error ? e.message : String(e)}`, { cause: e })
        }
        if (Date.now() >= deadline) throw new LockError(path, lockHeldMessage(path), { cause: e })
        await sleep(Math.min(wait, Math.max(1, deadline - Date.now())))
        wait = Math.min(wait * 2, 1000)
      }
    }
  }

  get held(): boolean {
    return this.state === 'held'
  }

  async write(data: string | Uint8Array): Promise<void> {
    const handle = this.requireHeld('write')
    await handle.writeFile(data)
  }

  /** Closes the lock file and renames it over the target. A second commit is a no-op. */
  async commit(): Promise<void> {
    if (this.state === 'committed') return
    const handle = this.requireHeld('commit')
    try {
      if (this.fsync) await handle.sync()
      await handle.close()
      this.handle = undefined
      await rename(this.lockPath, this.path)
    } catch (e) {
      await this.rollback()
      throw e
    }
    this.state = 'committed'
    heldLocks.delete(this.lockPath)
  }

  /** Removes the lock file; safe to call any number of times, also after commit (then it does nothing). */
  async rollback(): Promise<void> {
    if (this.state !== 'held') return
    this.state = 'rolledBack'
    heldLocks.delete(this.lockPath)
    const handle = this.handle
    this.handle = undefined
    if (handle !== undefined) {
      try {
        await handle.close()
      } catch {
        // closing twice is harmless; the unlink below is what matters
      }
    }
    try {
      await unlink(this.lockPath)
    } catch (e) {
      if (!isNotFound(e)) throw e
    }
  }

  private requireHeld(op: string): FileHandle {
    if (this.state !== 'held' || this.handle === undefined) {
      throw new LockError(this.path, `cannot ${op} '${this.lockPath}': lock is no longer held`)
    }
    return this.handle
  }
}

/** Replaces `path` with `data` through `<path>.lock`, so readers see the old or the new file, never half. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: LockOptions = {}): Promise<void> {
  const lock = await LockFile.acquire(path, options)
  try {
    await lock.write(data)
    await lock.commit()
  } finally {
    await lock.rollback()
  }
}
