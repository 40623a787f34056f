/**
 * Compares tsgit's indexPack with `git index-pack` on the same pack file.
 * Usage: node dist/bench/index-pack.js <file.pack>
 * Make a pack e.g. with:
 *   git -C /work/.mirror/git+git/repo rev-list --objects HEAD~2000..HEAD | \
 *     git -C /work/.mirror/git+git/repo pack-objects --stdout > /tmp/bench.pack
 * Each side runs in its own process so peak RSS is its own.
 */
import { spawnSync } from 'node:child_process'
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { indexPack } from '../lib/pack/indexer.js'

function peakRssMiB(): number {
  const status = readFileSync('/proc/self/status', 'utf8')
  const m = /VmHWM:\s+(\d+) kB/.exec(status)
  return m ? Number(m[1]) / 1024 : process.memoryUsage().rss / (1 << 20)
}

async function child(packPath: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsgit-bench-'))
  try {
    const t0 = process.hrtime.bigint()
    const r = await indexPack(createReadStream(packPath, { highWaterMark: 1 << 16 }), { packDir: dir })
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    process.stdout.write(JSON.stringify({ ms, rss: peakRssMiB(), objects: r.objectCount, deltas: r.deltaCount, idx: readFileSync(r.idxPath).toString('base64').length }) + '\n')
    const idx = readFileSync(r.idxPath)
    process.stdout.write(JSON.stringify({ idxSha: (await import('node:crypto')).createHash('sha1').update(idx).digest('hex') }) + '\n')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function runGit(packPath: string): { ms: number; rss: number; idxSha: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tsgit-bench-git-'))
  try {
    const out = join(dir, 'x.idx')
    const t0 = process.hrtime.bigint()
    // GNU time reports git's own peak RSS; fall back to timing only when it is absent.
    const r = spawnSync('/usr/bin/time', ['-f', '%M', 'git', 'index-pack', '-o', out, packPath], { encoding: 'utf8' })
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    let rss = NaN
    if (r.error === undefined && r.status === 0) rss = Number(r.stderr.trim().split('\n').pop()) / 1024
    else {
      const g = spawnSync('git', ['index-pack', '-o', out, packPath])
      if (g.status !== 0) throw new Error(`git index-pack failed: ${g.stderr}`)
    }
    const idxSha = spawnSync('sha1sum', [out], { encoding: 'utf8' }).stdout.slice(0, 40)
    return { ms, rss, idxSha }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const [mode, packPath] = process.argv.slice(2)
  if (mode === '--child' && packPath) return child(packPath)
  const pack = mode
  if (!pack) {
    process.stderr.write('usage: node dist/bench/index-pack.js <file.pack>\n')
    process.exitCode = 129
    return
  }
  const self = fileURLToPath(import.meta.url)
  const ours = spawnSync(process.execPath, [self, '--child', pack], { encoding: 'utf8', maxBuffer: 1 << 26 })
  if (ours.status !== 0) throw new Error(`tsgit indexPack failed: ${ours.stderr}`)
  const [stats, sha] = ours.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>)
  const theirs = runGit(pack)
  process.stdout.write(
    `objects ${stats?.objects}, deltas ${stats?.deltas}\n` +
      `tsgit indexPack : ${Number(stats?.ms).toFixed(0)} ms, peak RSS ${Number(stats?.rss).toFixed(0)} MiB\n` +
      `git index-pack  : ${theirs.ms.toFixed(0)} ms, peak RSS ${theirs.rss.toFixed(0)} MiB\n` +
      `.idx identical  : ${sha?.idxSha === theirs.idxSha}\n`,
  )
}

await main()
