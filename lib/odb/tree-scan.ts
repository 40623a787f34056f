/**
 * A tree's entries as offsets into its bytes, for the walks that read every tree of a
 * history (rev-list, fsck, backfill, a clone's fill): parseTree makes a Buffer and three
 * strings per entry, and such a walk meets most entries only to find it has seen their
 * object before. With offsets it can ask about the raw id in place (RawOidSet,
 * ObjectStore.hasCachedBytes) and spell out only the names and ids it keeps.
 */
import { ObjectFormatError } from '../errors.js'
import type { Oid } from '../oid.js'
import { MODE_BLOB, MODE_GITLINK, MODE_TREE, parseTree } from './objects.js'

export const ENTRY_BLOB = 0
export const ENTRY_TREE = 1
export const ENTRY_GITLINK = 2

/**
 * Three numbers per entry: the kind (ENTRY_*), where the name starts and where it ends
 * (its NUL; the raw id follows). Whatever this does not recognise is handed to
 * parseTree, for its error (names are not checked, as with parseTree's strictNames: false).
 * With `modes`, each entry's mode is pushed onto it too, as parseTree gives it (MODE_*:
 * the legacy 100664 as MODE_BLOB, 040000 as MODE_TREE).
 */
export function scanTree(data: Buffer, modes?: number[]): number[] {
  const out: number[] = []
  const len = data.length
  let pos = 0
  while (pos < len) {
    let mode = 0
    let p = pos
    for (; p < len && p - pos <= 6; p++) {
      const c = data[p] as number
      if (c < 0x30 || c > 0x37) break
      mode = mode * 8 + (c - 0x30)
    }
    const digits = p - pos
    let kind = -1
    if (p < len && data[p] === 0x20) {
      if (mode === MODE_TREE && (digits === 5 || digits === 6)) kind = ENTRY_TREE
      else if (digits === 6) {
        if (mode === 0o100644 || mode === 0o100664 || mode === 0o100755 || mode === 0o120000) kind = ENTRY_BLOB
        else if (mode === MODE_GITLINK) kind = ENTRY_GITLINK
      }
    }
    let nul = p + 1
    while (nul < len && data[nul] !== 0) nul++
    if (kind < 0 || nul + 21 > len) {
      parseTree(data, { strictNames: false })
      throw new ObjectFormatError(`malformed tree entry at offset ${pos}`)
    }
    out.push(kind, p + 1, nul)
    modes?.push(mode === 0o100664 ? MODE_BLOB : mode)
    pos = nul + 21
  }
  return out
}

/** The hex id of the scanned entry whose name ends at `nul`. */
export function entryOid(data: Buffer, nul: number): Oid {
  return data.toString('hex', nul + 1, nul + 21)
}
