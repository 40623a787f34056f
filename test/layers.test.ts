/**
 * The layers of lib/ hold: every `import` in lib/ points down the table in the README's
 * Layout section (the one place the layering is written down), and lib/cli/ reaches
 * nothing below lib/ops/ but the ground. A failure names the file and the edge.
 */
import t from 'tap'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const block = /```layers\n([\s\S]*?)```/.exec(readme)?.[1] ?? ''
/** Layer of each lib/ folder ('' for the ground, lib/*.ts). */
const layer = new Map<string, number>()
for (const line of block.split('\n')) {
  const m = /^lib\/(\S*?)\/?\s+(\d+)\s/.exec(line)
  if (m) layer.set(m[1] === '*.ts' ? '' : (m[1] as string), Number(m[2]))
}

t.ok(layer.size >= 10, 'the README\'s layers table is there')

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n)
    return statSync(p).isDirectory() ? files(p) : n.endsWith('.ts') ? [p] : []
  })
}

const lib = join(root, 'lib')
const all = files(lib)
t.test('every folder of lib/ is in the table', async (t) => {
  for (const d of readdirSync(lib).filter((n) => statSync(join(lib, n)).isDirectory())) t.ok(layer.has(d), `lib/${d}/ has a layer`)
})

t.test('imports point down the layers', async (t) => {
  const wrong: string[] = []
  for (const file of all) {
    const from = relative(lib, file)
    const fromDir = from.includes('/') ? (from.split('/')[0] as string) : ''
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/^(?:import|export)[^'"\n]*?(?:from\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm)) {
      const target = relative(lib, normalize(join(dirname(file), m[1] as string)))
      const toDir = target.includes('/') ? (target.split('/')[0] as string) : ''
      if (toDir === fromDir || toDir === '') continue
      const a = layer.get(fromDir)
      const b = layer.get(toDir)
      const cliRule = fromDir === 'cli' && toDir !== 'ops'
      if (a === undefined || b === undefined || b <= a || cliRule) wrong.push(`lib/${from} imports lib/${target} (${fromDir || 'ground'} ${a ?? '?'} -> ${toDir} ${b ?? '?'}${cliRule ? ': the CLI goes through lib/ops/' : ''})`)
    }
  }
  t.same(wrong, [], 'no import points up or across')
})
