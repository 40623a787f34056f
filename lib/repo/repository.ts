/**
 * Creating a repository the way `git init` (2.39, default templates minus hooks)
 * lays it out, and finding one the way git's discovery does.
 */
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { RepositoryError, isNotFound } from '../errors.js'
import { ConfigFile, parseBool, parseInteger } from './config.js'
import { editConfigFile, loadConfig, type LayeredConfig } from './config-load.js'
import { writeFileAtomic } from './lock.js'
import { RefStore, isValidRefName, type LogAllRefUpdates } from './refs.js'
import { readShallow, writeShallow } from './shallow.js'
import { pathExists } from '../files.js'

export const DEFAULT_DESCRIPTION = "Unnamed repository; edit this file 'description' to name the repository.\n"

export const DEFAULT_EXCLUDE =
  '# git ls-files --others --exclude-from=.git/info/exclude\n' +
  "# Lines that start with '#' are comments.\n" +
  '# For a project mostly in C, the following would be a good set of\n' +
  '# exclude patterns (uncomment them if you want to use them):\n' +
  '# *.[oa]\n' +
  '# *~\n'

/** Extensions git 2.39 understands in a version-1 repository (objectformat checked separately). */
const KNOWN_EXTENSIONS = new Set(['noop', 'noop-v1', 'partialclone', 'preciousobjects', 'worktreeconfig', 'objectformat'])
/** Extensions git refuses in a version-0 repository, because only v1-aware gits know them. */
const V1_ONLY_EXTENSIONS = new Set(['noop-v1', 'objectformat'])

export interface InitOptions {
  bare?: boolean
  /** Defaults to git 2.39's built-in `master` (callers pass init.defaultBranch when set). */
  initialBranch?: string
  objectFormat?: string
  /** Edits the new config before it is first written (nothing when there is one already). */
  config?: (file: ConfigFile) => void
  /** The git directory, when not `<dir>/.git` (bare: `<dir>`): `GIT_DIR=<path> git init`. */
  gitDir?: string
  /**
   * `git init` run again: an existing config gets what git writes each time (the
   * probed core.filemode, core.bare, a missing core.repositoryformatversion); the rest
   * is left as it is.
   */
  refreshConfig?: boolean
}

export interface RepositoryLocation {
  gitDir: string
  /**
   * A linked worktree's common directory (the main repository's, named by
   * `<gitDir>/commondir`): config, objects, refs and packed-refs live there. Absent:
   * gitDir itself.
   */
  commonDir?: string
  workTree?: string
  bare: boolean
}

/** The directory named by `<gitDir>/commondir` (a linked worktree), or gitDir. */
export async function commonDirOf(gitDir: string): Promise<string> {
  let text: string
  try {
    text = await readFile(join(gitDir, 'commondir'), 'utf8')
  } catch (e) {
    if (isNotFound(e)) return gitDir
    throw e
  }
  const target = text.replace(/\r?\n$/, '')
  if (target === '') return gitDir
  return isAbsolute(target) ? target : resolve(gitDir, target)
}


async function writeIfAbsent(path: string, data: string): Promise<void> {
  try {
    await writeFile(path, data, { flag: 'wx' })
  } catch (e) {
    if ((e as { code?: unknown } | null)?.code !== 'EEXIST') throw e
  }
}

/** Whether the filesystem keeps the executable bit, probed on `file` as git does. */
async function probeFilemode(file: string): Promise<boolean> {
  const before = (await stat(file)).mode
  const flipped = before ^ 0o100
  try {
    await chmod(file, flipped & 0o7777)
    const after = (await stat(file)).mode
    return after === flipped
  } finally {
    await chmod(file, before & 0o7777)
  }
}

/** Creates (or, like git, leaves alone where present) a repository at `dir`; returns its location. */
export async function initRepository(dir: string, options: InitOptions = {}): Promise<RepositoryLocation> {
  const bare = options.bare ?? false
  const format = options.objectFormat ?? 'sha1'
  if (format === 'sha256') throw new RepositoryError('sha256 is not supported yet')
  if (format !== 'sha1') throw new RepositoryError(`unknown hash algorithm '${format}'`)
  const branch = options.initialBranch ?? 'master'
  if (!isValidRefName(`refs/heads/${branch}`)) throw new RepositoryError(`invalid initial branch name: '${branch}'`)

  const root = resolve(dir)
  const gitDir = options.gitDir !== undefined ? resolve(options.gitDir) : bare ? root : join(root, '.git')
  // The config first: a process killed while creating the repository leaves either no
  // config or one with what the caller put in it (a clone's resume state), never a
  // repository that exists but does not say what it is for.
  await mkdir(gitDir, { recursive: true })
  const configPath = join(gitDir, 'config')
  if (!(await pathExists(configPath))) {
    const config = ConfigFile.empty(configPath)
    config.set('core.repositoryformatversion', '0')
    config.set('core.filemode', 'true')
    config.set('core.bare', String(bare))
    if (!bare) config.set('core.logallrefupdates', 'true')
    options.config?.(config)
    await writeFileAtomic(configPath, config.toBuffer())
    // the probe needs a real file in the repository's filesystem: use the config itself
    if (!(await probeFilemode(configPath))) {
      config.set('core.filemode', 'false')
      await writeFileAtomic(configPath, config.toBuffer())
    }
  } else if (options.refreshConfig === true) {
    const filemode = await probeFilemode(configPath)
    await editConfigFile(configPath, (config) => {
      config.set('core.filemode', String(filemode))
      config.set('core.bare', String(bare))
      if (config.get('core.repositoryformatversion') === undefined) config.set('core.repositoryformatversion', '0')
    })
  }
  for (const sub of ['branches', 'info', 'objects/info', 'objects/pack', 'refs/heads', 'refs/tags']) {
    await mkdir(join(gitDir, sub), { recursive: true })
  }
  await writeIfAbsent(join(gitDir, 'description'), DEFAULT_DESCRIPTION)
  await writeIfAbsent(join(gitDir, 'info', 'exclude'), DEFAULT_EXCLUDE)

  const headPath = join(gitDir, 'HEAD')
  if (!(await pathExists(headPath))) await writeFileAtomic(headPath, `ref: refs/heads/${branch}\n`)
  return bare ? { gitDir, bare } : { gitDir, workTree: root, bare }
}

/**
 * git's is_git_directory: HEAD that looks like a ref, plus objects/ and refs/ (in the
 * common directory of a linked worktree). The location it makes, or undefined.
 */
async function gitDirectory(dir: string, rest: { workTree?: string; bare: boolean }): Promise<RepositoryLocation | undefined> {
  try {
    const head = (await readFile(join(dir, 'HEAD'), 'utf8')).slice(0, 4096)
    if (!head.startsWith('ref: refs/') && !/^[0-9a-f]{40}\s*$/.test(head)) return undefined
    const common = await commonDirOf(dir)
    const [objects, refs] = await Promise.all([stat(join(common, 'objects')), stat(join(common, 'refs'))])
    if (!objects.isDirectory() || !refs.isDirectory()) return undefined
    return common === dir ? { gitDir: dir, ...rest } : { gitDir: dir, commonDir: common, ...rest }
  } catch (e) {
    if (isNotFound(e)) return undefined
    throw e
  }
}

/** Reads a `.git` file (`gitdir: <path>`, relative to the file's directory): the repository it names. */
async function readGitFile(file: string, workTree: string): Promise<RepositoryLocation> {
  const text = (await readFile(file, 'utf8')).slice(0, 65536)
  const m = /^gitdir: (.+?)\s*$/m.exec(text)
  if (m === null || m.index !== 0) throw new RepositoryError(`invalid gitfile format: ${file}`)
  const target = m[1] as string
  const gitDir = isAbsolute(target) ? target : resolve(dirname(file), target)
  const location = await gitDirectory(gitDir, { workTree, bare: false })
  if (location === undefined) throw new RepositoryError(`not a git repository: ${gitDir}`)
  return location
}

/** Rejects repositories this version cannot safely read or write, as git does. */
export async function checkRepositoryFormat(gitDir: string): Promise<void> {
  const config = await ConfigFile.load(join(gitDir, 'config'))
  const versionText = config.get('core.repositoryformatversion')
  const version = versionText === undefined ? 0 : parseInteger(versionText, 'core.repositoryformatversion')
  if (version > 1 || version < 0) throw new RepositoryError(`Expected git repo version <= 1, found ${version}`)
  for (const entry of config.entries()) {
    if (!entry.key.startsWith('extensions.')) continue
    const ext = entry.key.slice('extensions.'.length)
    if (version === 0) {
      if (V1_ONLY_EXTENSIONS.has(ext)) throw new RepositoryError(`repo version is 0, but v1-only extension found:\n\t${ext}`)
      continue
    }
    if (!KNOWN_EXTENSIONS.has(ext)) throw new RepositoryError(`unknown repository extension found:\n\t${ext}`)
    if (ext === 'objectformat') {
      const value = (entry.value ?? '').toLowerCase()
      if (value === 'sha256') throw new RepositoryError('sha256 is not supported yet')
      if (value !== 'sha1') throw new RepositoryError(`invalid value for 'extensions.objectformat': '${entry.value ?? ''}'`)
    }
  }
}

/**
 * Finds the repository containing `startDir`: GIT_DIR/GIT_WORK_TREE when set,
 * else walking up for a `.git` directory, a `.git` file, or a bare repository.
 */
export async function findRepository(startDir: string, env: Record<string, string | undefined> = {}): Promise<RepositoryLocation> {
  const start = resolve(startDir)
  let location: RepositoryLocation | undefined
  const envGitDir = env.GIT_DIR
  if (envGitDir !== undefined && envGitDir !== '') {
    const gitDir = resolve(start, envGitDir)
    const found = await gitDirectory(gitDir, { bare: false })
    if (found === undefined) throw new RepositoryError(`not a git repository: '${envGitDir}'`)
    const config = await ConfigFile.load(join(found.commonDir ?? gitDir, 'config'))
    const bareValue = config.get('core.bare')
    const bare = bareValue !== undefined && parseBool(bareValue, 'core.bare')
    const envWorkTree = env.GIT_WORK_TREE
    if (envWorkTree !== undefined && envWorkTree !== '') location = { ...found, workTree: resolve(start, envWorkTree), bare: false }
    else location = bare ? { ...found, bare: true } : { ...found, workTree: start, bare: false }
  } else {
    for (let dir = start; ; dir = dirname(dir)) {
      const dotGit = join(dir, '.git')
      let st
      try {
        st = await stat(dotGit)
      } catch (e) {
        if (!isNotFound(e)) throw e
      }
      location = st?.isDirectory() === true ? await gitDirectory(dotGit, { workTree: dir, bare: false }) : undefined
      if (location !== undefined) break
      if (st?.isFile() === true) {
        location = await readGitFile(dotGit, dir)
        break
      }
      location = await gitDirectory(dir, { bare: true })
      if (location !== undefined) break
      if (dirname(dir) === dir) break
    }
    const envWorkTree = env.GIT_WORK_TREE
    if (location !== undefined && envWorkTree !== undefined && envWorkTree !== '') {
      location = { ...location, workTree: resolve(start, envWorkTree), bare: false }
    }
  }
  if (location === undefined) throw new RepositoryError('not a git repository (or any of the parent directories): .git')
  await checkRepositoryFormat(location.commonDir ?? location.gitDir)
  return location
}

export interface OpenOptions {
  env?: Record<string, string | undefined>
  /** `-c key=value` from the command line. */
  cliConfig?: string[]
  /** The configuration, already loaded (clone: the view its transport read); not read again. */
  config?: LayeredConfig
}

/** A located repository with its configuration and refs. */
export class Repository {
  readonly gitDir: string
  /** Where config, objects and shared refs live: gitDir, except in a linked worktree. */
  readonly commonDir: string
  readonly workTree: string | undefined
  readonly bare: boolean
  readonly objectsDir: string
  readonly config: LayeredConfig
  readonly refs: RefStore
  private shallowCommits: ReadonlySet<string> | undefined

  constructor(location: RepositoryLocation, config: LayeredConfig, objectsDir: string) {
    this.gitDir = location.gitDir
    this.commonDir = location.commonDir ?? location.gitDir
    this.workTree = location.workTree
    this.bare = location.bare
    this.objectsDir = objectsDir
    this.config = config
    const logValue = config.get('core.logallrefupdates')
    let logAll: LogAllRefUpdates = !location.bare
    if (logValue !== undefined) logAll = logValue?.toLowerCase() === 'always' ? 'always' : parseBool(logValue, 'core.logallrefupdates')
    this.refs = new RefStore(location.gitDir, { logAllRefUpdates: logAll, commonDir: this.commonDir })
  }

  /** The commits $GIT_DIR/shallow grafts to have no parents (shallow.ts); read on first use. */
  get shallow(): ReadonlySet<string> {
    this.shallowCommits ??= readShallow(this.commonDir)
    return this.shallowCommits
  }

  /** Replaces $GIT_DIR/shallow (a fetch moved the boundary); what `shallow` returns from now on. */
  async setShallow(commits: Iterable<string>): Promise<void> {
    const ids = new Set(commits)
    await writeShallow(this.commonDir, ids)
    this.shallowCommits = ids
  }

  static async fromLocation(location: RepositoryLocation, options: OpenOptions = {}): Promise<Repository> {
    const env = options.env ?? {}
    const commonDir = location.commonDir ?? location.gitDir
    const config = options.config ?? (await loadConfig({ gitDir: commonDir, worktreeGitDir: location.gitDir, env, cliConfig: options.cliConfig ?? [] }))
    const objectsEnv = env.GIT_OBJECT_DIRECTORY
    const objectsDir = objectsEnv !== undefined && objectsEnv !== '' ? resolve(objectsEnv) : join(commonDir, 'objects')
    return new Repository(location, config, objectsDir)
  }

  /** Discovers the repository containing `startDir` and opens it. */
  static async open(startDir: string, options: OpenOptions = {}): Promise<Repository> {
    return Repository.fromLocation(await findRepository(startDir, options.env ?? {}), options)
  }
}
