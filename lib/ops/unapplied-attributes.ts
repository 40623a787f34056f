/**
 * After a checkout wrote files: a warning for each conversion git would have made on
 * them and tsgit did not (worktree/attributes.ts says which: filters, ident,
 * working-tree-encoding), from the tree's .gitattributes files and
 * $GIT_DIR/info/attributes. Line endings are converted (eol-conversion.ts).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ProgressSink } from '../events.js'
import { isNotFound } from '../errors.js'
import type { ObjectReader } from '../odb/types.js'
import type { Oid } from '../oid.js'
import type { ConfigReader } from '../repo/config.js'
import { unappliedAttributes } from '../worktree/attributes.js'

export interface AttributesSource {
  /** The attributes files' blobs are read only if present (tryRead: a warning is not worth a request). */
  reader: Pick<ObjectReader, 'tryRead'>
  config: ConfigReader
  /** Where info/attributes is (the common directory). */
  commonDir: string
  sink: ProgressSink
}

export async function warnUnappliedAttributes(src: AttributesSource, files: readonly { path: string; oid: Oid }[]): Promise<void> {
  const { config, sink } = src
  const configured = (driver: string): boolean => {
    const key = (k: string): string | undefined => config.getString(`filter.${driver}.${k}`)
    return (key('smudge') ?? '') !== '' || (key('process') ?? '') !== ''
  }
  const texts: { where: string; text: string }[] = []
  for (const f of files) {
    const blob = await src.reader.tryRead(f.oid)
    if (blob !== undefined) texts.push({ where: f.path, text: blob.data.toString('utf8') })
  }
  try {
    texts.push({ where: 'info/attributes', text: await readFile(join(src.commonDir, 'info', 'attributes'), 'utf8') })
  } catch (e) {
    if (!isNotFound(e)) throw e
  }
  const seen = new Map<string, string>()
  for (const { where, text } of texts) {
    for (const a of unappliedAttributes(text, configured)) if (!seen.has(a)) seen.set(a, where)
  }
  for (const [attr, where] of seen) {
    sink.warn(`tsgit does not apply '${attr}' (${where}): the files it covers are checked out as stored in the repository`)
  }
}
