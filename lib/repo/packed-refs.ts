/**
 * The packed-refs file as git 2.39 reads and writes it: sorted by name in bytes,
 * `^<oid>` lines for what annotated tags peel to, and the header `git pack-refs`
 * writes (peeled fully-peeled sorted).
 */
import { RefError } from '../errors.js'
import { isOid, type Oid } from '../oid.js'
import { assertValidRefName, compareRefNames, isValidRefName } from './ref-name.js'

export const PACKED_REFS_HEADER = '# pack-refs with: peeled fully-peeled sorted \n'

export interface PackedRef {
  name: string
  oid: Oid
  /** What an annotated tag ultimately points to (`^` line). */
  peeled?: Oid
}

/** Parses packed-refs text; throws RefError on a line git would not accept. */
export function parsePackedRefs(text: string): PackedRef[] {
  const out: PackedRef[] = []
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  for (const line of lines) {
    if (line.startsWith('#')) continue
    if (line.startsWith('^')) {
      const prev = out[out.length - 1]
      const peeled = line.slice(1)
      if (prev === undefined || !isOid(peeled)) throw new RefError(`unexpected line in packed-refs: ${line}`)
      prev.peeled = peeled
      continue
    }
    const oid = line.slice(0, 40)
    const name = line.slice(41)
    if (!isOid(oid) || line[40] !== ' ' || !isValidRefName(name, { allowOnelevel: true })) {
      throw new RefError(`unexpected line in packed-refs: ${line}`)
    }
    out.push({ name, oid })
  }
  return out
}

/** packed-refs bytes exactly as `git pack-refs` writes them. */
export function formatPackedRefs(refs: readonly PackedRef[]): string {
  const sorted = [...refs].sort((a, b) => compareRefNames(a.name, b.name))
  let out = PACKED_REFS_HEADER
  for (let i = 0; i < sorted.length; i++) {
    const r = sorted[i] as PackedRef
    if (i > 0 && (sorted[i - 1] as PackedRef).name === r.name) throw new RefError(`duplicate ref '${r.name}' in packed-refs`)
    if (!isOid(r.oid) || (r.peeled !== undefined && !isOid(r.peeled))) throw new RefError(`invalid object id for '${r.name}'`)
    assertValidRefName(r.name)
    out += `${r.oid} ${r.name}\n`
    if (r.peeled !== undefined) out += `^${r.peeled}\n`
  }
  return out
}
