/**
 * Making an indexed pack visible, in git's order: the .keep and .promisor first, then
 * the .pack, the .idx last, so that whoever sees the .idx already sees the others.
 *
 * Each file is hard-linked into place rather than renamed over its name: a file
 * already there (the same pack fetched before, or a .keep another process holds) is
 * left as it was, and what this call did not create is never reported as its own, so
 * a caller never deletes a .keep it did not make.
 */
import { chmod, link, rename, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { createTempFile, writeAll } from './tempfile.js'
import { pathExists } from '../files.js'

export interface InstallRequest {
  packDir: string
  /** "pack-<hex>". */
  name: string
  /** The finished pack and its .idx, in packDir under temporary names. */
  tmpPack: string
  tmpIdx: string
  keep?: string
  promisor?: string
}

export interface Installed {
  packPath: string
  idxPath: string
  /** Only when this call created the file. */
  keepPath?: string
  promisorPath?: string
  /** The .pack and .idx were in place already (left as they were; the temps removed). */
  alreadyInstalled: boolean
}

/** How a file got to its name, so that a failure later on can take it back. */
interface Placed {
  tmp: string
  path: string
  how: 'linked' | 'renamed' | 'existed'
}

/** Where link(2) fails for want of hard links on the file system, not because of the files. */
const NO_HARD_LINKS = new Set<unknown>(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])

function errorCode(e: unknown): unknown {
  return (e as { code?: unknown } | null)?.code
}


async function place(tmp: string, path: string): Promise<Placed> {
  try {
    await link(tmp, path)
    return { tmp, path, how: 'linked' }
  } catch (e) {
    if (errorCode(e) === 'EEXIST') return { tmp, path, how: 'existed' }
    if (!NO_HARD_LINKS.has(errorCode(e))) throw e
  }
  // No hard links here: a rename, which would replace a file that is there, so look first.
  if (await pathExists(path)) return { tmp, path, how: 'existed' }
  await rename(tmp, path)
  return { tmp, path, how: 'renamed' }
}

async function undo(p: Placed): Promise<void> {
  if (p.how === 'linked') await unlink(p.path)
  else if (p.how === 'renamed') await rename(p.path, p.tmp)
}

/** The small file next to a pack, via a temp file of its own; git ends a non-empty message with a newline. */
async function placeSpecial(packDir: string, path: string, content: string, specials: string[]): Promise<Placed> {
  const text = content.length > 0 && !content.endsWith('\n') ? content + '\n' : content
  const tmp = await createTempFile(packDir, 'tmp_special_')
  specials.push(tmp.path)
  try {
    await writeAll(tmp.handle, Buffer.from(text, 'utf8'))
  } finally {
    await tmp.handle.close()
  }
  return place(tmp.path, path)
}

/**
 * Puts the pack in place. The .pack and .idx lose their write permission first
 * (git's are read-only). On failure, what this call placed is taken back and the pack
 * and idx temps are left as they were, writable again, for the caller to retry or remove.
 */
export async function installPack(req: InstallRequest): Promise<Installed> {
  const { packDir, name } = req
  const installed: Installed = { packPath: join(packDir, `${name}.pack`), idxPath: join(packDir, `${name}.idx`), alreadyInstalled: false }
  const placed: Placed[] = []
  const specials: string[] = []
  const modes: [string, number][] = []
  let keep: Placed | undefined
  let promisor: Placed | undefined
  try {
    if (req.keep !== undefined) placed.push(keep = await placeSpecial(packDir, join(packDir, `${name}.keep`), req.keep, specials))
    if (req.promisor !== undefined) placed.push(promisor = await placeSpecial(packDir, join(packDir, `${name}.promisor`), req.promisor, specials))
    for (const tmp of [req.tmpPack, req.tmpIdx]) {
      const { mode } = await stat(tmp)
      modes.push([tmp, mode & 0o7777])
      // The read bits the file was made with (the umask's say), and no write bit.
      await chmod(tmp, mode & 0o444)
    }
    const pack = await place(req.tmpPack, installed.packPath)
    placed.push(pack)
    const idx = await place(req.tmpIdx, installed.idxPath)
    placed.push(idx)
    installed.alreadyInstalled = pack.how === 'existed' && idx.how === 'existed'
  } catch (e) {
    for (const p of placed.reverse()) await undo(p).catch(() => {})
    for (const [tmp, mode] of modes) await chmod(tmp, mode).catch(() => {})
    for (const tmp of specials) await unlink(tmp).catch(() => {})
    throw e
  }
  // Installed: a temp left behind now (it cannot be removed) is litter git's prune clears, not a failure.
  for (const p of placed) if (p.how !== 'renamed') await unlink(p.tmp).catch(() => {})
  if (keep !== undefined && keep.how !== 'existed') installed.keepPath = keep.path
  if (promisor !== undefined && promisor.how !== 'existed') installed.promisorPath = promisor.path
  return installed
}
