/**
 * The end-of-line conversion a checkout, switch or sparse checkout applies
 * (worktree/conversion.ts), from the repository's configuration (core.autocrlf,
 * core.eol), $GIT_DIR/info/attributes, the global attributes file (core.attributesFile,
 * else $XDG_CONFIG_HOME/git/attributes or ~/.config/git/attributes) and the tree's
 * .gitattributes files. Those are read only if present (tryRead): the checkout calls
 * the loader after its one blob prefetch, which brought them in.
 *
 * Deviation: the system-wide attributes file ($(prefix)/etc/gitattributes) is not read.
 */
import { lstat } from 'node:fs/promises'
import { join } from 'node:path'
import { isNotFound } from '../errors.js'
import { readTextIfPresent } from '../files.js'
import type { ObjectReader } from '../odb/types.js'
import type { ConfigReader } from '../repo/config.js'
import { attributesDir, eolConversion, type ConversionLoader } from '../worktree/conversion.js'
import { parseAutoCrlf, parseCoreEol } from '../worktree/eol.js'

export interface ConversionSource {
  reader: Pick<ObjectReader, 'tryRead'>
  config: ConfigReader
  /** Where info/attributes is (the common directory). */
  commonDir: string
  /** Where the work tree's attributes files are read from when comparing. */
  workTree: string
  env: NodeJS.ProcessEnv
}

/** Absent: not there, or something that is not a directory where a parent should be. */
function absent(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code
  return isNotFound(e) || code === 'ENOTDIR' || code === 'EISDIR'
}


/** Where git looks for the global attributes file. */
function globalAttributesPath(config: ConfigReader, env: NodeJS.ProcessEnv): string | undefined {
  const configured = config.getPath('core.attributesfile')
  if (configured !== undefined) return configured
  const xdg = env.XDG_CONFIG_HOME
  if (xdg !== undefined && xdg !== '') return join(xdg, 'git', 'attributes')
  const home = env.HOME
  return home !== undefined && home !== '' ? join(home, '.config', 'git', 'attributes') : undefined
}

/** The loader the work-tree layer calls with the attributes files of the tree or index it works on. */
export function conversionLoader(src: ConversionSource): ConversionLoader {
  const eolConfig = { autocrlf: parseAutoCrlf(src.config.get('core.autocrlf')), eol: parseCoreEol(src.config.get('core.eol')) }
  let fixed: Promise<{ info?: string; global?: string }> | undefined
  const fixedSources = async (): Promise<{ info?: string; global?: string }> => {
    const info = await readTextIfPresent(join(src.commonDir, 'info', 'attributes'))
    const globalPath = globalAttributesPath(src.config, src.env)
    const global = globalPath === undefined ? undefined : await readTextIfPresent(globalPath)
    return { ...(info !== undefined ? { info } : {}), ...(global !== undefined ? { global } : {}) }
  }
  return async (files, from, arrived) => {
    fixed ??= fixedSources()
    const tree = new Map<string, string>()
    for (const f of files) {
      let text: string | undefined
      if (from === 'work-tree') {
        // git reads the work tree's file (never through a symlink), else the index's blob
        const full = join(src.workTree, f.path)
        const st = await lstat(full).catch((e: unknown) => (absent(e) ? undefined : Promise.reject(e)))
        if (st?.isFile() === true) text = await readTextIfPresent(full)
      }
      if (text === undefined) text = arrived?.get(f.oid)?.toString('utf8')
      if (text === undefined) {
        const blob = await src.reader.tryRead(f.oid)
        if (blob?.type === 'blob') text = blob.data.toString('utf8')
      }
      if (text !== undefined) tree.set(attributesDir(f.path), text)
    }
    return eolConversion({ tree, ...(await fixed) }, eolConfig)
  }
}
