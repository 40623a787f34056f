/**
 * git's layered configuration: system, global, repository, then the command-line
 * layers (GIT_CONFIG_COUNT pairs, GIT_CONFIG_PARAMETERS, `-c`), later layers
 * overriding earlier ones, each layer keeping its file order.
 */
import { join } from 'node:path'
import { ConfigError } from '../errors.js'
import { ConfigFile } from './config-edit.js'
import { parseKey } from './config-parse.js'
import { ConfigReader, type ConfigScope, type ScopedEntry } from './config-reader.js'
import { parseBool } from './config-value.js'
import { LockFile } from './lock.js'

export interface ConfigLayer {
  scope: ConfigScope
  /** The file behind the layer; undefined for command-line layers. */
  path?: string
  entries: ScopedEntry[]
}

export interface LoadConfigOptions {
  /** The repository's (common) git directory; its `config` is the local layer. */
  gitDir?: string
  /**
   * The worktree's own git directory (a linked worktree's, or gitDir): its
   * `config.worktree` is read after the local layer when extensions.worktreeConfig is
   * on, as git does (`git sparse-checkout` writes there).
   */
  worktreeGitDir?: string
  env: Record<string, string | undefined>
  /** `key=value` strings from `-c` (a bare `key` means true, `key=` the empty string). */
  cliConfig?: string[]
  /** The repository's config as it will be, for a repository not written yet (clone): read instead of the file. */
  localFile?: ConfigFile
}

const MAX_CONFIG_COUNT = 100_000

function truthyEnv(env: Record<string, string | undefined>, name: string): boolean {
  const v = env[name]
  if (v === undefined) return false
  return parseBool(v, name)
}

function fileLayer(scope: ConfigScope, path: string, file: ConfigFile): ConfigLayer {
  return { scope, path, entries: file.entries().map((e) => ({ ...e, scope, file: path })) }
}

/** `key=value` as git's `-c` takes it: the key is canonicalised, a missing `=` means implicit true. */
export function parseConfigParameter(text: string, source = 'command line'): ScopedEntry {
  const eq = text.indexOf('=')
  const rawKey = eq < 0 ? text : text.slice(0, eq)
  if (rawKey.length === 0) throw new ConfigError(`bogus config parameter: ${text}`)
  let key: string
  try {
    key = parseKey(rawKey).key
  } catch (e) {
    throw new ConfigError(`bogus config parameter in ${source}: ${text}`, { cause: e })
  }
  return { key, value: eq < 0 ? null : text.slice(eq + 1), line: 0, scope: 'command' }
}

/**
 * Splits GIT_CONFIG_PARAMETERS: shell single-quoted words, either `'key=value'`
 * (old form) or `'key'='value'` (git >= 2.31), separated by spaces.
 */
export function parseConfigParameters(text: string): ScopedEntry[] {
  const out: ScopedEntry[] = []
  let i = 0
  const bogus = (): ConfigError => new ConfigError('bogus format in GIT_CONFIG_PARAMETERS')
  // one single-quoted word, with the '\'' and \! escapes git's sq_quote produces
  const quoted = (): string => {
    if (text[i] !== "'") throw bogus()
    i++
    let s = ''
    for (;;) {
      if (i >= text.length) throw bogus()
      const c = text[i++] as string
      if (c !== "'") {
        s += c
        continue
      }
      if (text[i] === '\\' && (text[i + 1] === "'" || text[i + 1] === '!') && text[i + 2] === "'") {
        s += text[i + 1] as string
        i += 3
        continue
      }
      return s
    }
  }
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i] as string)) i++
  }
  skipSpace()
  while (i < text.length) {
    const first = quoted()
    if (text[i] === '=') {
      i++
      const value = text[i] === "'" ? quoted() : ''
      const entry = parseConfigParameter(`${first}=`, 'GIT_CONFIG_PARAMETERS')
      out.push({ ...entry, value })
    } else {
      out.push(parseConfigParameter(first, 'GIT_CONFIG_PARAMETERS'))
    }
    if (i < text.length && !/\s/.test(text[i] as string)) throw bogus()
    skipSpace()
  }
  return out
}

function countLayer(env: Record<string, string | undefined>): ScopedEntry[] {
  const countText = env.GIT_CONFIG_COUNT
  if (countText === undefined || countText === '') return []
  if (!/^[0-9]+$/.test(countText)) throw new ConfigError('bogus count in GIT_CONFIG_COUNT')
  const count = Number(countText)
  if (count > MAX_CONFIG_COUNT) throw new ConfigError('too many entries in GIT_CONFIG_COUNT')
  const out: ScopedEntry[] = []
  for (let n = 0; n < count; n++) {
    const k = env[`GIT_CONFIG_KEY_${n}`]
    const v = env[`GIT_CONFIG_VALUE_${n}`]
    if (k === undefined || k === '') throw new ConfigError(`missing config key GIT_CONFIG_KEY_${n}`)
    if (v === undefined) throw new ConfigError(`missing config value GIT_CONFIG_VALUE_${n}`)
    let key: string
    try {
      key = parseKey(k).key
    } catch (e) {
      throw new ConfigError(`bogus config parameter in GIT_CONFIG_KEY_${n}: ${k}`, { cause: e })
    }
    out.push({ key, value: v, line: 0, scope: 'command' })
  }
  return out
}

/** The files git reads, in order, for this environment. */
export function configFilePaths(env: Record<string, string | undefined>, gitDir?: string): { scope: ConfigScope; path: string }[] {
  const out: { scope: ConfigScope; path: string }[] = []
  if (!truthyEnv(env, 'GIT_CONFIG_NOSYSTEM')) out.push({ scope: 'system', path: env.GIT_CONFIG_SYSTEM ?? '/etc/gitconfig' })
  const globalOverride = env.GIT_CONFIG_GLOBAL
  if (globalOverride !== undefined) {
    out.push({ scope: 'global', path: globalOverride })
  } else {
    const home = env.HOME
    const xdg = env.XDG_CONFIG_HOME
    if (xdg !== undefined && xdg !== '') out.push({ scope: 'global', path: join(xdg, 'git', 'config') })
    else if (home !== undefined && home !== '') out.push({ scope: 'global', path: join(home, '.config', 'git', 'config') })
    if (home !== undefined && home !== '') out.push({ scope: 'global', path: join(home, '.gitconfig') })
  }
  if (gitDir !== undefined) out.push({ scope: 'local', path: join(gitDir, 'config') })
  return out
}

/**
 * Edits one config file under `<file>.lock`, re-reading it under the lock so a
 * concurrent writer's change is not lost; a missing file starts empty. When
 * `shouldWrite` says no, the file is left untouched.
 */
export async function editConfigFile<T>(path: string, edit: (file: ConfigFile) => T, shouldWrite: (result: T) => boolean = () => true): Promise<T> {
  const lock = await LockFile.acquire(path)
  try {
    const file = await ConfigFile.load(path)
    const result = edit(file)
    if (!shouldWrite(result)) return result
    await lock.write(file.toBuffer())
    await lock.commit()
    return result
  } finally {
    await lock.rollback()
  }
}

/** The merged view; writes go to one file (the repository's by default) through its lock. */
export class LayeredConfig extends ConfigReader {
  private layers: ConfigLayer[]
  readonly localPath: string | undefined

  constructor(layers: ConfigLayer[], home: string | undefined, localPath: string | undefined) {
    super(home)
    this.layers = layers
    this.localPath = localPath
  }

  protected list(): readonly ScopedEntry[] {
    return this.layers.flatMap((l) => l.entries)
  }

  getLayers(): readonly ConfigLayer[] {
    return this.layers
  }

  /** Edits one file with editConfigFile, then refreshes the view. */
  async update(edit: (file: ConfigFile) => void, path: string | undefined = this.localPath): Promise<void> {
    if (path === undefined) throw new ConfigError('no config file to write: not in a git repository')
    const file = await editConfigFile(path, (f) => {
      edit(f)
      return f
    })
    this.layers = this.layers.map((l) => (l.path === path ? fileLayer(l.scope, path, file) : l))
  }

  set(key: string, value: string, path?: string): Promise<void> {
    return this.update((f) => f.set(key, value), path)
  }
  add(key: string, value: string, path?: string): Promise<void> {
    return this.update((f) => f.add(key, value), path)
  }
  unsetAll(key: string, path?: string): Promise<void> {
    return this.update((f) => void f.unsetAll(key), path)
  }
}

function worktreeConfigOn(local: ConfigFile): boolean {
  const v = local.get('extensions.worktreeconfig')
  if (v === undefined) return false
  try {
    return parseBool(v, 'extensions.worktreeconfig')
  } catch {
    return false
  }
}

export async function loadConfig(options: LoadConfigOptions): Promise<LayeredConfig> {
  const { env } = options
  const layers: ConfigLayer[] = []
  for (const { scope, path } of configFilePaths(env, options.gitDir)) {
    const file = scope === 'local' && options.localFile ? options.localFile : await ConfigFile.load(path)
    layers.push(fileLayer(scope, path, file))
    if (scope === 'local' && worktreeConfigOn(file)) {
      const worktreePath = join(options.worktreeGitDir ?? (options.gitDir as string), 'config.worktree')
      layers.push(fileLayer('worktree', worktreePath, await ConfigFile.load(worktreePath)))
    }
  }
  const command: ScopedEntry[] = [...countLayer(env)]
  const params = env.GIT_CONFIG_PARAMETERS
  if (params !== undefined && params !== '') command.push(...parseConfigParameters(params))
  for (const c of options.cliConfig ?? []) command.push(parseConfigParameter(c))
  if (command.length > 0) layers.push({ scope: 'command', entries: command })
  const localPath = options.gitDir === undefined ? undefined : join(options.gitDir, 'config')
  return new LayeredConfig(layers, env.HOME, localPath)
}
