/**
 * The benchmark's packfile-URI source: the served repository plus one commit that adds
 * a few large incompressible blobs, each also in a pack of its own for a CDN to serve.
 * git 2.39's upload-pack leaves a blob out of its pack and names its URI only when the
 * blob is loose (and the client asks for sideband-all and packfile-uris), so those
 * blobs are written loose into a repository that otherwise holds the served one's pack.
 * Cached beside the generated repositories, keyed by the served repository's HEAD and
 * the blobs' number and size.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git } from '../test/fixtures/git.js'

/** Bump when the way the source is made changes, so old caches are not reused. */
const URIS_VERSION = 1

export interface UrisOptions {
  /** How many blobs are offloaded, each to a pack of its own. */
  blobs: number
  /** Bytes of each blob. */
  blobBytes: number
}

export const DEFAULT_URIS: UrisOptions = { blobs: 6, blobBytes: 4 << 20 }

export interface UrisSource {
  /** The bare repository to serve (its parent is the server's root). */
  repo: string
  /** The directory the CDN serves: one `p-<hash>.pack` (and .idx) per offloaded blob. */
  cdnRoot: string
  /** Each offloaded blob and the hash of the pack that holds it. */
  offloaded: { blob: string; pack: string }[]
}

/** Incompressible bytes that are the same on every run (SHA-256 in counter mode). */
function noise(seed: string, bytes: number): Buffer {
  const out = Buffer.alloc(bytes)
  for (let off = 0, i = 0; off < bytes; off += 32, i++) createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off)
  return out
}

/**
 * The source for packfile-URI clones made from the bare repository `base`, built once
 * under `cacheDir` (in a scratch directory renamed into place when complete).
 */
export function cachedUrisSource(base: string, cacheDir: string, options: UrisOptions = DEFAULT_URIS): UrisSource {
  const head = git(['rev-parse', 'HEAD'], { cwd: base }).stdout.trim()
  const dir = join(cacheDir, `uris-v${URIS_VERSION}-${head.slice(0, 12)}-${options.blobs}x${options.blobBytes}`)
  const list = join(dir, 'offloaded.txt')
  if (!existsSync(list)) {
    mkdirSync(cacheDir, { recursive: true })
    const scratch = `${dir}.tmp-${process.pid}`
    rmSync(scratch, { recursive: true, force: true })
    try {
      build(base, scratch, options)
      renameSync(scratch, dir)
    } catch (e) {
      rmSync(scratch, { recursive: true, force: true })
      throw e
    }
  }
  const offloaded = readFileSync(list, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [blob = '', pack = ''] = l.split(' ')
      return { blob, pack }
    })
  return { repo: join(dir, 'srv', 'uris.git'), cdnRoot: join(dir, 'cdn'), offloaded }
}

function build(base: string, dir: string, options: UrisOptions): void {
  const repo = join(dir, 'srv', 'uris.git')
  const cdnRoot = join(dir, 'cdn')
  mkdirSync(cdnRoot, { recursive: true })
  const branch = git(['symbolic-ref', '--short', 'HEAD'], { cwd: base }).stdout.trim()
  git(['init', '-q', '--bare', '-b', branch, repo])
  // A fetch from a local path keeps what it receives as a pack: everything but the new blobs is packed.
  git(['fetch', '-q', base, `+refs/heads/*:refs/heads/*`, '+refs/tags/*:refs/tags/*'], { cwd: repo })
  const lines: string[] = []
  const entries: string[] = []
  for (let i = 0; i < options.blobs; i++) {
    const blob = git(['hash-object', '-w', '--stdin'], { cwd: repo, input: noise(`tsgit-bench-uris-${i}`, options.blobBytes) }).stdout.trim()
    const pack = git(['pack-objects', '-q', join(cdnRoot, 'p')], { cwd: repo, input: `${blob}\n` }).stdout.trim()
    lines.push(`${blob} ${pack}\n`)
    entries.push(`100644 blob ${blob}\tblob-${i}.bin\n`)
  }
  const sub = git(['mktree'], { cwd: repo, input: entries.join('') }).stdout.trim()
  const root = git(['ls-tree', 'HEAD'], { cwd: repo }).stdout + `040000 tree ${sub}\toffloaded\n`
  const tree = git(['mktree'], { cwd: repo, input: root }).stdout.trim()
  const commit = git(['commit-tree', tree, '-p', 'HEAD', '-m', 'large files served from a CDN'], { cwd: repo }).stdout.trim()
  git(['update-ref', `refs/heads/${branch}`, commit], { cwd: repo })
  writeFileSync(join(dir, 'offloaded.txt'), lines.join(''))
}

/** upload-pack's config that names each offloaded blob's pack at `cdnUrl(<file name>)`. */
export function urisServerConfig(source: UrisSource, cdnUrl: (file: string) => string): Record<string, string | string[]> {
  return {
    'uploadpack.allowSidebandAll': 'true',
    'uploadpack.blobPackfileUri': source.offloaded.map((o) => `${o.blob} ${o.pack} ${cdnUrl(`p-${o.pack}.pack`)}`),
  }
}
