/**
 * What the bin runs first: loads the bundle (dist/tsgit.cjs) and calls its main,
 * compiling it with V8's code cache when a fresh one is at hand.
 *
 * Why: Node 20 compiles a script's functions the first time they run, every run. A
 * clone spends ~20 ms of its start-up doing that (about a tenth of a small partial
 * clone, and more of a plumbing command run in a loop by a script). V8 can save what
 * it compiled (`createCachedData`) and take it back on the next run. Node 22 does this
 * itself (module.enableCompileCache); on Node 20 it is done here, the same way.
 *
 * The cache is one file per command (what a `clone` compiles is not what a `cat-file`
 * does), written once, after a run of that command that exited 0, into the user's
 * cache directory: $TSGIT_COMPILE_CACHE, else $XDG_CACHE_HOME/tsgit, else
 * ~/.cache/tsgit; TSGIT_COMPILE_CACHE=0 turns it off. Its name carries what makes it
 * valid (the bundle's size and time, V8's version, the architecture, Node's flags), and
 * V8 checks its own version and flags again and rejects a file that does not match, in
 * which case the bundle is compiled as if there were none and the file replaced.
 *
 * A code cache is code: one that someone else could write would run as this user. So
 * it is used only from a directory owned by this user that nobody else can write to,
 * and a file likewise; otherwise there is no cache (and no error: it is only speed).
 * Written through a temporary file and a rename, so a reader never sees half a file.
 * Not on Windows, where those checks do not hold.
 */
import { closeSync, constants as fsConstants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, isAbsolute, join } from 'node:path'
import vm from 'node:vm'
import { commandName } from './command-name.js'

/** Larger files are not taken for a cache (a whole run's code is ~0.5 MB). */
const MAX_CACHE_BYTES = 64 * 1024 * 1024

export interface StartOptions {
  /** The bundle: a CommonJS script that exports main(argv). */
  bundle: string
  argv: string[]
  env: NodeJS.ProcessEnv
}

/** The directory for compile caches, or undefined when there is to be none. */
export function compileCacheDir(env: NodeJS.ProcessEnv, platform: string = process.platform): string | undefined {
  if (platform === 'win32') return undefined
  const own = env.TSGIT_COMPILE_CACHE
  if (own !== undefined) {
    if (['', '0', 'false', 'no', 'off'].includes(own.toLowerCase())) return undefined
    return isAbsolute(own) ? own : undefined
  }
  const xdg = env.XDG_CACHE_HOME
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'tsgit')
  const home = env.HOME
  return home !== undefined && isAbsolute(home) ? join(home, '.cache', 'tsgit') : undefined
}

/** FNV-1a, 32 bits, as 8 hex digits: enough to tell one set of flags from another. */
function shortHash(text: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0).toString(16).padStart(8, '0')
}

/** The cache file's name for this bundle, Node and command. */
export function cacheFileName(command: string, bundle: Stats, env: NodeJS.ProcessEnv): string {
  const flags = shortHash(`${process.execArgv.join(' ')}\0${env.NODE_OPTIONS ?? ''}`)
  const v8 = process.versions.v8.replace(/[^0-9A-Za-z.]/g, '_')
  return `${command}-${bundle.size.toString(36)}-${Math.floor(bundle.mtimeMs).toString(36)}-${v8}-${process.arch}-${flags}.v8`
}

function ownedSafely(st: Stats): boolean {
  const uid = process.getuid?.()
  return (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0
}

/** The directory, created if missing, when it is this user's alone. */
function safeDir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const st = lstatSync(dir)
    return st.isDirectory() && ownedSafely(st)
  } catch {
    return false
  }
}

/** The file's bytes, when it is a regular file of this user's that nobody else can write. */
function readSafely(path: string): Buffer | undefined {
  let fd: number
  try {
    fd = openSync(path, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0))
  } catch {
    return undefined
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile() || !ownedSafely(st) || st.size === 0 || st.size > MAX_CACHE_BYTES) return undefined
    const data = Buffer.allocUnsafe(st.size)
    let done = 0
    while (done < data.length) {
      const n = readSync(fd, data, done, data.length - done, done)
      if (n === 0) return undefined
      done += n
    }
    return data
  } catch {
    return undefined
  } finally {
    closeSync(fd)
  }
}

/** Replaces the cache file (and drops this command's caches for other builds); failures are ignored. */
function writeCache(dir: string, name: string, command: string, data: Buffer): void {
  const path = join(dir, name)
  const tmp = `${path}.${process.pid}.tmp`
  try {
    writeFileSync(tmp, data, { flag: 'wx', mode: 0o600 })
    renameSync(tmp, path)
  } catch {
    try {
      unlinkSync(tmp)
    } catch {
      // nothing was written
    }
    return
  }
  try {
    for (const other of readdirSync(dir)) {
      if (other !== name && other.startsWith(`${command}-`) && other.endsWith('.v8')) unlinkSync(join(dir, other))
    }
  } catch {
    // another run is tidying the same directory
  }
}

type BundleExports = { main(argv: string[]): void }

/** Loads the bundle, with its code cache when there is a usable one, and runs main(argv). */
export function start(options: StartOptions): void {
  const { bundle, argv, env } = options
  // TSGIT_DEBUG=1 says what became of the cache, on stderr.
  const trace = env.TSGIT_DEBUG === '1' ? (what: string): void => void process.stderr.write(`tsgit: compile cache: ${what}\n`) : undefined
  const source = readFileSync(bundle, 'utf8')
  const dir = compileCacheDir(env)
  let cache: { dir: string; name: string; command: string; data: Buffer | undefined } | undefined
  if (dir !== undefined && safeDir(dir)) {
    const command = commandName(argv) ?? 'tsgit'
    const name = cacheFileName(command, statSync(bundle), env)
    cache = { dir, name, command, data: readSafely(join(dir, name)) }
  } else {
    trace?.(dir === undefined ? 'off' : `not used: ${dir} is not a directory of this user's alone`)
  }
  // import() inside the bundle (it has none today) resolved as in any module of the program.
  const dynamicImport = (vm as unknown as { constants?: { USE_MAIN_CONTEXT_DEFAULT_LOADER?: symbol } }).constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    ...(cache?.data !== undefined ? { cachedData: cache.data } : {}),
    ...(dynamicImport !== undefined ? { importModuleDynamically: dynamicImport as never } : {}),
  })
  if (cache !== undefined) {
    const path = join(cache.dir, cache.name)
    const fresh = cache.data !== undefined && script.cachedDataRejected !== true
    trace?.(`${fresh ? 'used' : cache.data === undefined ? 'none' : 'rejected'} ${path}`)
    if (!fresh) {
      const { dir: d, name, command } = cache
      // At exit, what V8 compiled during the run is in the cache too; only a run that
      // succeeded is taken as the model of its command's runs.
      process.once('exit', (code) => {
        if (code !== 0) return
        writeCache(d, name, command, script.createCachedData())
        trace?.(`written ${path}`)
      })
    }
  }
  const wrapper = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void
  const module = { exports: {} }
  wrapper(module.exports, createRequire(bundle), module, bundle, dirname(bundle))
  ;(module.exports as BundleExports).main(argv)
}
