/** Real git upload-pack speaking protocol v2 over --stateless-rpc, for protocol tests. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PktLineReader } from '../../lib/pktline/pktline.js'
import { git } from '../fixtures/git.js'

/** A repository with history, an annotated tag, a big blob and a subdirectory. */
export function makeFixtureRepo(path: string): void {
  git(['init', '-q', '-b', 'main', path])
  writeFileSync(join(path, 'small.txt'), 'hello\n')
  git(['add', '.'], { cwd: path })
  git(['commit', '-q', '-m', 'first'], { cwd: path })
  git(['tag', '-a', '-m', 'v1', 'v1'], { cwd: path })
  git(['branch', 'side'], { cwd: path })
  writeFileSync(join(path, 'big.bin'), Buffer.alloc(5000, 'x'))
  git(['update-index', '--add', 'big.bin'], { cwd: path })
  git(['commit', '-q', '-m', 'second'], { cwd: path })
  git(['config', 'uploadpack.allowFilter', 'true'], { cwd: path })
}

const V2 = { GIT_PROTOCOL: 'version=2' }

export function advertise(repo: string, env: Record<string, string> = {}): Buffer {
  return git(['upload-pack', '--advertise-refs', '--stateless-rpc', repo], { env: { ...V2, ...env } }).stdoutBuffer
}

export function serve(repo: string, request: Buffer, env: Record<string, string> = {}): Buffer {
  return git(['upload-pack', '--stateless-rpc', repo], { env: { ...V2, ...env }, input: request }).stdoutBuffer
}

/** Feeds `buf` in small chunks so packet boundaries fall inside reads. */
export function readerOf(buf: Buffer | string, chunk = 7): PktLineReader {
  const data = typeof buf === 'string' ? Buffer.from(buf, 'latin1') : buf
  return new PktLineReader(
    (async function* () {
      for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk)
    })(),
  )
}

export async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const b of it) parts.push(b)
  return Buffer.concat(parts)
}

/** Builds a pkt-line string from payload strings; '0000'/'0001' pass through. */
export function pkts(...items: string[]): string {
  return items
    .map((s) => (s === '0000' || s === '0001' || s === '0002' ? s : (Buffer.byteLength(s, 'latin1') + 4).toString(16).padStart(4, '0') + s))
    .join('')
}
