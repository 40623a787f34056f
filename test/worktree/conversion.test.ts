/**
 * The per-path conversion (conversion.ts) and when a checkout can know it: at once
 * when the attributes files are present, else once they arrive with the fetch. Files
 * written as their blobs arrive (arrival-writes.ts) wait for those: nothing before
 * them, everything after them converted.
 */
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { MODE_BLOB } from '../../lib/odb/objects.js'
import { startArrivals } from '../../lib/worktree/arrival-writes.js'
import { attributesOf, conversionBeforeFetch, eolConversion, lineEndings, type ConversionLoader } from '../../lib/worktree/conversion.js'
import { MemoryObjectReader } from '../fixtures/object-reader.js'
import { tempDir } from '../fixtures/git.js'

const lf = { autocrlf: 'false', eol: undefined } as const

t.test('per path: smudge only where CRLF is written, clean wherever text is', async (t) => {
  const c = eolConversion({ tree: new Map([['', '*.bat eol=crlf\n*.txt text\n']]) }, lf)
  if (c === undefined) throw new Error('a conversion was expected')
  t.equal(c.smudge('a.txt'), undefined, 'text with LF endings: written as stored')
  t.equal(c.smudge('x.bin'), undefined)
  t.equal(c.smudge('run.bat')?.(Buffer.from('a\nb\n')).toString(), 'a\r\nb\r\n')
  t.equal(c.clean('x.bin'), undefined, 'no attribute: hashed as it is')
  t.equal(c.clean('a.txt')?.(Buffer.from('a\r\n')).data.toString(), 'a\n')
  t.equal(eolConversion({ tree: new Map([['', '*.c diff=cpp\n']]) }, lf), undefined, 'lines of other attributes only: no conversion at all')
  t.equal(eolConversion({ tree: new Map() }, lf), undefined, 'no attributes, nothing configured: no conversion at all')
  t.not(eolConversion({ tree: new Map() }, { autocrlf: 'true', eol: undefined }), undefined, 'core.autocrlf alone')
})

t.test('attributes files: regular files named .gitattributes', async (t) => {
  const oid = 'a'.repeat(40)
  t.same(
    attributesOf([
      { path: '.gitattributes', mode: MODE_BLOB, oid },
      { path: 'd/.gitattributes', mode: 0o100755, oid },
      { path: 'e/.gitattributes', mode: 0o120000, oid },
      { path: 'x.gitattributes', mode: MODE_BLOB, oid },
    ]).map((f) => f.path),
    ['.gitattributes', 'd/.gitattributes'],
  )
})

t.test('known before the fetch when the attributes are present, else after it', async (t) => {
  const reader = new MemoryObjectReader()
  const present = reader.add('blob', '*.bat eol=crlf\n')
  const promised = reader.add('blob', '*.txt eol=crlf\n', { present: false })
  const calls: { from: string; arrived: number }[] = []
  const loader: ConversionLoader = async (files, from, arrived) => {
    calls.push({ from, arrived: arrived?.size ?? 0 })
    const tree = new Map<string, string>()
    for (const f of files) {
      const text = arrived?.get(f.oid)?.toString() ?? (await reader.tryRead(f.oid))?.data.toString()
      if (text !== undefined) tree.set(f.path.includes('/') ? f.path.slice(0, f.path.lastIndexOf('/')) : '', text)
    }
    return eolConversion({ tree }, lf)
  }
  t.same(await conversionBeforeFetch(undefined, reader, []), { known: true, conversion: undefined }, 'no loader: nothing to know')
  const now = await conversionBeforeFetch(loader, reader, [{ path: '.gitattributes', oid: present }])
  t.ok(now.known && now.conversion?.smudge('a.bat') !== undefined, 'present: loaded before the fetch')
  const later = await conversionBeforeFetch(loader, reader, [{ path: '.gitattributes', oid: present }, { path: 'd/.gitattributes', oid: promised }])
  t.equal(later.known, false)
  if (later.known) return
  t.same([...later.missing], [promised], 'the attributes blob the fetch brings')
  t.equal(reader.prefetchCalls.length, 0, 'nothing fetched for it')

  // the gate: nothing written before the attributes arrive, converted after
  const tmp = tempDir('tsgit-conversion-')
  t.teardown(tmp.cleanup)
  const before = Buffer.from('one\ntwo\n')
  const after = Buffer.from('three\nfour\n')
  const attrs = reader.objects.get(promised)!.data
  const blob = (b: Buffer): string => reader.add('blob', b, { present: false })
  const w = startArrivals(
    tmp.path,
    [
      { path: 'd/early.txt', mode: MODE_BLOB, oid: blob(before) },
      { path: 'd/late.txt', mode: MODE_BLOB, oid: blob(after) },
      { path: 'd/.gitattributes', mode: MODE_BLOB, oid: promised },
    ],
    undefined,
    lineEndings(later),
  )
  w.observe(blob(before), 'blob', before)
  t.notOk(existsSync(join(tmp.path, 'd', 'early.txt')), 'before the attributes: not written (held)')
  w.observe(promised, 'blob', attrs)
  t.notOk(existsSync(join(tmp.path, 'd', 'early.txt')), 'nor while the conversion is being made')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(readFileSync(join(tmp.path, 'd', 'early.txt'), 'latin1'), 'one\r\ntwo\r\n', 'once it is made, what was held is written, converted')
  w.observe(blob(after), 'blob', after)
  t.equal(readFileSync(join(tmp.path, 'd', 'late.txt'), 'latin1'), 'three\r\nfour\r\n', 'after them: written, converted')
  t.equal(readFileSync(join(tmp.path, 'd', '.gitattributes'), 'latin1'), attrs.toString('latin1'), 'the attributes file itself, as stored')
  t.same(calls.at(-1), { from: 'index', arrived: 1 }, 'made from the blob as it arrived')
  t.same([...w.written.keys()], ['d/early.txt', 'd/.gitattributes', 'd/late.txt'])

  // the fetch ended (close) before the conversion was made: nothing held is written after
  const tmp2 = tempDir('tsgit-conversion-closed-')
  t.teardown(tmp2.cleanup)
  const again = await conversionBeforeFetch(loader, reader, [{ path: 'd/.gitattributes', oid: promised }])
  const w2 = startArrivals(tmp2.path, [{ path: 'd/early.txt', mode: MODE_BLOB, oid: blob(before) }, { path: 'd/.gitattributes', mode: MODE_BLOB, oid: promised }], undefined, lineEndings(again))
  w2.observe(blob(before), 'blob', before)
  w2.observe(promised, 'blob', attrs)
  w2.close()
  await new Promise((resolve) => setImmediate(resolve))
  t.same(w2.written.size, 0, 'closed: what was held is left for the write loop')
  t.notOk(existsSync(join(tmp2.path, 'd', 'early.txt')))
})
