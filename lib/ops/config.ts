/**
 * `tsgit config`: reads and writes git config files with git 2.39's exit codes and
 * messages (1 invalid key or absent, 2 no section or name, 5 nothing to unset or
 * several values where one was meant). Reading uses the layered view; writing edits
 * one file through its lock with the byte-preserving editor.
 */
import { isAbsolute, join, relative, resolve } from 'node:path'
import { RepositoryError, TsgitError, UsageError } from '../errors.js'
import { ConfigFile, parseBool, parseInteger, parseKey, type ScopedEntry } from '../repo/config.js'
import { configFilePaths, editConfigFile, loadConfig } from '../repo/config-load.js'
import { findRepository, type RepositoryLocation } from '../repo/repository.js'
import type { OpContext } from './repo-context.js'

export type ConfigAction = 'get' | 'get-all' | 'add' | 'unset' | 'unset-all' | 'list' | 'set'
export type ConfigValueType = 'bool' | 'int'

export interface ConfigOptions {
  action: ConfigAction
  /** The variable (every action but list). */
  name?: string
  /** The value (set, add). */
  value?: string
  /** --bool/--int/--type: values read are shown, and values written stored, in canonical form. */
  type?: ConfigValueType
  /** --file: read and write this file alone (relative to ctx.cwd). */
  file?: string
  /** --local, --global, --system: read and write that file alone. More than one file is a usage error. */
  local?: boolean
  global?: boolean
  system?: boolean
  /** list: say where each variable comes from. */
  showOrigin?: boolean
}

export interface ListedVariable {
  key: string
  /** null for a key without `=` (implicit true). */
  value: string | null
  /** With showOrigin: `file:<path>` or `command line:`, as git shows it. */
  origin?: string
}

export interface ConfigResult {
  /** git config's exit status: 0; 1 nothing found; 5 nothing to unset, or several values where one was meant. */
  exitCode: number
  /** list: the variables, in the order git lists them. */
  variables?: ListedVariable[]
  /** get, get-all: the values found (formatted for the type), last one only for get. */
  values?: string[]
}

/** git config refuses (a bad key, several values to overwrite): reported as `error:` with git's exit status. */
export class ConfigCommandError extends TsgitError {
  constructor(message: string, exitCode: number) {
    super('E_CONFIG_COMMAND', message, { exitCode })
  }
}

/** A key git would refuse: exit 2 for a missing section or name, 1 otherwise (as git's config_set). */
function checkKey(key: string, exitCode?: number): void {
  try {
    parseKey(key)
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e)
    throw new ConfigCommandError(msg, exitCode ?? (/does not contain/.test(msg) ? 2 : 1))
  }
}

function formatValue(value: string | null, key: string, type: ConfigValueType | undefined): string {
  if (type === 'bool') return parseBool(value, key) ? 'true' : 'false'
  if (type === 'int') return String(parseInteger(value ?? '', key))
  return value ?? ''
}

/** The value written with --bool/--int: git stores the canonical form. */
function normalizeForWrite(value: string, key: string, type: ConfigValueType | undefined): string {
  if (type === 'bool') return parseBool(value, key) ? 'true' : 'false'
  if (type === 'int') return String(parseInteger(value, key))
  return value
}

/** The one file to read alone and to write, when a scope was given. */
function chooseFile(ctx: Pick<OpContext, 'cwd' | 'env'>, options: ConfigOptions, location: RepositoryLocation | undefined): string | undefined {
  const given = [options.file !== undefined, options.local === true, options.global === true, options.system === true].filter((g) => g)
  if (given.length > 1) throw new UsageError('only one config file at a time')
  if (options.file !== undefined) return resolve(ctx.cwd, options.file)
  const env = ctx.env
  if (options.global === true) {
    const paths = configFilePaths({ ...env, GIT_CONFIG_NOSYSTEM: '1' }).filter((p) => p.scope === 'global')
    const path = env.GIT_CONFIG_GLOBAL ?? paths[paths.length - 1]?.path
    if (path === undefined) throw new RepositoryError('$HOME not set')
    return path
  }
  if (options.system === true) return env.GIT_CONFIG_SYSTEM ?? '/etc/gitconfig'
  if (options.local === true) {
    if (location === undefined) throw new RepositoryError('--local can only be used inside a git repository')
    return join(location.commonDir ?? location.gitDir, 'config')
  }
  return undefined
}

/** What `--show-origin` prints: file paths as git shows them (the repository's relative to the work tree). */
function origin(entry: ScopedEntry, cwd: string, location: RepositoryLocation | undefined, fileArg: string | undefined): string {
  if (entry.file === undefined) return 'command line:'
  if (fileArg !== undefined) return `file:${fileArg}`
  if ((entry.scope === 'local' || entry.scope === 'worktree') && location !== undefined) {
    const base = location.workTree ?? cwd
    const rel = relative(base, entry.file)
    if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return `file:${rel}`
  }
  return `file:${entry.file}`
}

/** The repository around `cwd`, or undefined outside one (config works anywhere). */
async function findOptional(cwd: string, env: NodeJS.ProcessEnv): Promise<RepositoryLocation | undefined> {
  try {
    return await findRepository(cwd, env)
  } catch (e) {
    if (e instanceof RepositoryError && /not a git repository/.test(e.message)) return undefined
    throw e
  }
}

/**
 * Runs one `git config` action. What git prints on stdout comes back in the result;
 * warnings go to the sink; refusals are ConfigCommandErrors carrying git's exit status.
 */
export async function config(ctx: Pick<OpContext, 'cwd' | 'env' | 'sink' | 'configOverrides'>, options: ConfigOptions): Promise<ConfigResult> {
  const { action, type } = options
  const name = options.name ?? ''
  const location = await findOptional(ctx.cwd, ctx.env)
  const file = chooseFile(ctx, options, location)

  if (action === 'list' || action === 'get' || action === 'get-all') {
    let entries: readonly ScopedEntry[]
    if (file !== undefined) {
      entries = (await ConfigFile.load(file)).entries().map((e) => ({ ...e, scope: 'local', file }))
    } else {
      const layered = await loadConfig({ gitDir: location?.commonDir ?? location?.gitDir, worktreeGitDir: location?.gitDir, env: ctx.env, cliConfig: ctx.configOverrides ?? [] })
      entries = layered.entries()
    }
    if (action === 'list') {
      const variables = entries.map((e): ListedVariable => ({ key: e.key, value: e.value, ...(options.showOrigin === true ? { origin: origin(e, ctx.cwd, location, options.file) } : {}) }))
      return { exitCode: 0, variables }
    }
    // git reports a bad key on a read as an error with exit 1 whatever the reason
    checkKey(name, 1)
    const key = parseKey(name).key
    const found = entries.filter((e) => e.key === key).map((e) => e.value)
    if (found.length === 0) return { exitCode: 1, values: [] }
    const shown = action === 'get' ? found.slice(-1) : found
    return { exitCode: 0, values: shown.map((v) => formatValue(v, name, type)) }
  }

  checkKey(name)
  let path = file
  if (path === undefined) {
    if (location === undefined) throw new RepositoryError('not in a git directory')
    path = join(location.commonDir ?? location.gitDir, 'config')
  }
  if (action === 'set' || action === 'add') {
    const v = normalizeForWrite(options.value ?? '', name, type)
    const several = await editConfigFile(path, (f) => {
      if (action === 'add') {
        f.add(name, v)
        return false
      }
      if (f.getAll(name).length > 1) return true
      f.set(name, v)
      return false
    }, (several) => !several)
    if (several) {
      ctx.sink.warn(`${name} has multiple values`)
      throw new ConfigCommandError(`cannot overwrite multiple values with a single value\n       Use a regexp, --add or --replace-all to change ${name}.`, 5)
    }
    return { exitCode: 0 }
  }
  const status = await editConfigFile(path, (f) => {
    const n = f.getAll(name).length
    if (n === 0) return 'none'
    if (action === 'unset' && n > 1) return 'several'
    f.unsetAll(name)
    return 'done'
  }, (status) => status === 'done')
  // git says nothing when there is nothing to unset, and only warns for several values
  if (status === 'several') ctx.sink.warn(`${name} has multiple values`)
  return { exitCode: status === 'done' ? 0 : 5 }
}
