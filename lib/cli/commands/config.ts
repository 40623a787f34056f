/**
 * `tsgit config`: reads and writes git config files with git 2.39's exit codes and
 * messages (1 invalid key or absent, 2 no section or name, 5 nothing to unset or
 * several values where one was meant). Reading uses the layered view; writing edits
 * one file through its lock with the byte-preserving editor.
 */
import { relative, resolve, join, isAbsolute } from 'node:path'
import { Option, type Command } from 'commander'
import type { CommandModule } from '../command.js'
import type { Display } from '../display.js'
import { RepositoryError, UsageError } from '../../errors.js'
import { parseBool, parseInteger, parseKey, type ConfigReader, type ScopedEntry } from '../../repo/config.js'
import { configFilePaths, editConfigFile, loadConfig } from '../../repo/config-load.js'
import { ConfigFile } from '../../repo/config.js'
import { findRepository, type RepositoryLocation } from '../../repo/repository.js'

type ValueType = 'bool' | 'int' | undefined

/** A key git would refuse: exit 2 for a missing section or name, 1 otherwise (as git's config_set). */
function checkKey(key: string, display: Display): number {
  try {
    parseKey(key)
    return 0
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e)
    display.error(msg)
    return /does not contain/.test(msg) ? 2 : 1
  }
}

function formatValue(value: string | null, key: string, type: ValueType): string {
  if (type === 'bool') return parseBool(value, key) ? 'true' : 'false'
  if (type === 'int') return String(parseInteger(value ?? '', key))
  return value ?? ''
}

/** The value written with --bool/--int: git stores the canonical form. */
function normalizeForWrite(value: string, key: string, type: ValueType): string {
  if (type === 'bool') return parseBool(value, key) ? 'true' : 'false'
  if (type === 'int') return String(parseInteger(value, key))
  return value
}

function valueType(opts: Record<string, unknown>): ValueType {
  const types: string[] = []
  if (opts.bool === true) types.push('bool')
  if (opts.int === true) types.push('int')
  if (typeof opts.type === 'string') {
    if (opts.type !== 'bool' && opts.type !== 'int') throw new UsageError(`unrecognized --type argument, ${opts.type}`)
    types.push(opts.type)
  }
  if (new Set(types).size > 1) throw new UsageError('only one type at a time')
  return types[0] as ValueType
}

type Action = 'get' | 'get-all' | 'add' | 'unset' | 'unset-all' | 'list' | 'set'

function chooseAction(opts: Record<string, unknown>, args: string[]): Action {
  const flags: Action[] = []
  if (opts.get === true) flags.push('get')
  if (opts.getAll === true) flags.push('get-all')
  if (opts.add === true) flags.push('add')
  if (opts.unset === true) flags.push('unset')
  if (opts.unsetAll === true) flags.push('unset-all')
  if (opts.list === true) flags.push('list')
  if (flags.length > 1) throw new UsageError('only one action at a time')
  const action = flags[0] ?? (args.length === 1 ? 'get' : args.length === 2 ? 'set' : undefined)
  if (action === undefined) throw new UsageError('wrong number of arguments, should be from 1 to 2')
  const want: Record<Action, number> = { get: 1, 'get-all': 1, add: 2, unset: 1, 'unset-all': 1, list: 0, set: 2 }
  if (args.length !== want[action]) throw new UsageError(`wrong number of arguments, should be ${want[action]}`)
  return action
}

interface Target {
  /** The file to read alone and to write, when a scope was given. */
  file?: string
  scopeFlag?: string
}

function chooseTarget(ctx: { cwd: string; env: NodeJS.ProcessEnv }, opts: Record<string, unknown>, location: RepositoryLocation | undefined): Target {
  const given = ['file', 'local', 'global', 'system'].filter((k) => opts[k] !== undefined && opts[k] !== false)
  if (given.length > 1) throw new UsageError('only one config file at a time')
  if (typeof opts.file === 'string') return { file: resolve(ctx.cwd, opts.file), scopeFlag: 'file' }
  const env = ctx.env
  if (opts.global === true) {
    const paths = configFilePaths({ ...env, GIT_CONFIG_NOSYSTEM: '1' }).filter((p) => p.scope === 'global')
    const path = env.GIT_CONFIG_GLOBAL ?? paths[paths.length - 1]?.path
    if (path === undefined) throw new RepositoryError('$HOME not set')
    return { file: path, scopeFlag: 'global' }
  }
  if (opts.system === true) return { file: env.GIT_CONFIG_SYSTEM ?? '/etc/gitconfig', scopeFlag: 'system' }
  if (opts.local === true) {
    if (location === undefined) throw new RepositoryError('--local can only be used inside a git repository')
    return { file: join(location.commonDir ?? location.gitDir, 'config'), scopeFlag: 'local' }
  }
  return {}
}

/** What `--show-origin` prints: file paths as git shows them (the repository's relative to the work tree). */
function origin(entry: ScopedEntry, ctx: { cwd: string }, location: RepositoryLocation | undefined, fileArg: unknown): string {
  if (entry.file === undefined) return 'command line:'
  if (typeof fileArg === 'string') return `file:${fileArg}`
  if ((entry.scope === 'local' || entry.scope === 'worktree') && location !== undefined) {
    const base = location.workTree ?? ctx.cwd
    const rel = relative(base, entry.file)
    if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return `file:${rel}`
  }
  return `file:${entry.file}`
}

async function findOptional(cwd: string, env: NodeJS.ProcessEnv): Promise<RepositoryLocation | undefined> {
  try {
    return await findRepository(cwd, env)
  } catch (e) {
    if (e instanceof RepositoryError && /not a git repository/.test(e.message)) return undefined
    throw e
  }
}

/** A reader over one file, for --file/--global/--system/--local reads. */
class FileReader {
  constructor(private readonly file: ConfigFile, private readonly path: string) {}
  entries(): ScopedEntry[] {
    return this.file.entries().map((e) => ({ ...e, scope: 'local', file: this.path }))
  }
}

export const configCommand: CommandModule = {
  name: 'config',
  summary: 'Get and set repository or global options',
  configure(cmd: Command) {
    cmd
      .argument('[name]', 'the variable, as section.key or section.subsection.key')
      .argument('[value]', 'the value to set')
      .option('-f, --file <file>', 'use the given config file')
      .option('--local', 'use the repository config file')
      .option('--global', 'use the global config file')
      .option('--system', 'use the system config file')
      .option('--get', 'get the last value')
      .option('--get-all', 'get all values')
      .option('--add', 'add a new value to a multi-valued variable')
      .option('--unset', 'remove the variable (it must have one value)')
      .option('--unset-all', 'remove every value of the variable')
      .option('-l, --list', 'list every variable')
      .option('--show-origin', 'with --list, show the file each variable comes from')
      .option('--bool', 'the value is "true" or "false"')
      .option('--int', 'the value is a decimal number')
      .addOption(new Option('-t, --type <type>', 'the value has this type').choices(['bool', 'int']))
  },
  async exec(ctx, args, opts) {
    const display = ctx.display({})
    const type = valueType(opts)
    const action = chooseAction(opts, args)
    const location = await findOptional(ctx.cwd, ctx.env)
    const target = chooseTarget(ctx, opts, location)
    const [name = '', value = ''] = args

    if (action === 'list' || action === 'get' || action === 'get-all') {
      let entries: readonly ScopedEntry[]
      if (target.file !== undefined) {
        entries = new FileReader(await ConfigFile.load(target.file), target.file).entries()
      } else {
        const config: ConfigReader = await loadConfig({ gitDir: location?.commonDir ?? location?.gitDir, worktreeGitDir: location?.gitDir, env: ctx.env, cliConfig: ctx.configOverrides })
        entries = config.entries()
      }
      if (action === 'list') {
        let out = ''
        for (const e of entries) {
          const prefix = opts.showOrigin === true ? `${origin(e, ctx, location, opts.file)}\t` : ''
          out += `${prefix}${e.key}${e.value === null ? '' : `=${e.value}`}\n`
        }
        ctx.stdout.write(out)
        return 0
      }
      // git reports a bad key on a read as an error with exit 1 whatever the reason
      if (checkKey(name, display) !== 0) return 1
      const key = parseKey(name).key
      const values = entries.filter((e) => e.key === key).map((e) => e.value)
      if (values.length === 0) return 1
      const shown = action === 'get' ? values.slice(-1) : values
      ctx.stdout.write(shown.map((v) => `${formatValue(v, name, type)}\n`).join(''))
      return 0
    }

    const keyStatus = checkKey(name, display)
    if (keyStatus !== 0) return keyStatus
    let path = target.file
    if (path === undefined) {
      if (location === undefined) throw new RepositoryError('not in a git directory')
      path = join(location.commonDir ?? location.gitDir, 'config')
    }
    if (action === 'set' || action === 'add') {
      const v = normalizeForWrite(value, name, type)
      const status = await editConfigFile(path, (f) => {
        if (action === 'add') {
          f.add(name, v)
          return 0
        }
        if (f.getAll(name).length > 1) return 5
        f.set(name, v)
        return 0
      }, (status) => status === 0)
      if (status === 5) {
        display.warn(`${name} has multiple values`)
        display.error(`cannot overwrite multiple values with a single value\n       Use a regexp, --add or --replace-all to change ${name}.`)
      }
      return status
    }
    const status = await editConfigFile(path, (f) => {
      const n = f.getAll(name).length
      if (n === 0) return 5
      if (action === 'unset' && n > 1) return 6
      f.unsetAll(name)
      return 0
    }, (status) => status === 0)
    if (status === 6) {
      display.warn(`${name} has multiple values`)
      return 5
    }
    return status
  },
}
