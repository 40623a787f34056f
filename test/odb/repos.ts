/**
 * Small repositories made by real git for the object store's tests: a source with
 * nested trees and two commits, and partial clones of it made by real git over file://
 * (the filters tsgit's store must understand: blob:none and tree:0).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { git } from '../fixtures/git.js'
import type { ObjectType, Oid } from '../../lib/oid.js'

export interface SourceRepo {
  /** A bare repository that serves filters. */
  path: string
  /** Commits, oldest first. */
  commits: Oid[]
}

function write(root: string, rel: string, content: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true })
  writeFileSync(join(root, rel), content)
}

/** README, src/main.c, src/lib/util.c and docs/guide/intro.txt; the second commit edits util.c. All packed. */
export function makeSourceRepo(dir: string): SourceRepo {
  const work = `${dir}.work`
  git(['init', '-q', '-b', 'main', work])
  write(work, 'README', 'read me\n')
  write(work, 'src/main.c', 'int main(void) { return 0; }\n')
  write(work, 'src/lib/util.c', 'int util(void) { return 1; }\n')
  write(work, 'docs/guide/intro.txt', 'an introduction\n')
  git(['add', '-A'], { cwd: work })
  git(['commit', '-q', '-m', 'first'], { cwd: work })
  write(work, 'src/lib/util.c', 'int util(void) { return 2; }\n')
  git(['commit', '-q', '-am', 'second'], { cwd: work })
  git(['clone', '-q', '--bare', work, dir])
  git(['repack', '-q', '-a', '-d'], { cwd: dir })
  git(['config', 'uploadpack.allowFilter', 'true'], { cwd: dir })
  git(['config', 'uploadpack.allowAnySHA1InWant', 'true'], { cwd: dir })
  const commits = git(['rev-list', '--reverse', 'main'], { cwd: dir }).stdout.trim().split('\n')
  return { path: dir, commits }
}

/** A bare partial clone of `src` made by real git with `filter`. */
export function partialClone(src: SourceRepo, dir: string, filter: string): string {
  git(['clone', '-q', '--bare', `--filter=${filter}`, `file://${src.path}`, dir])
  return dir
}

export function revParse(repo: string, name: string): Oid {
  return git(['rev-parse', name], { cwd: repo }).stdout.trim()
}

/** Copies `oid` from `from` into `to` as a loose object, as another process would write it. */
export function copyObject(from: string, to: string, oid: Oid): ObjectType {
  const type = git(['cat-file', '-t', oid], { cwd: from }).stdout.trim() as ObjectType
  const data = git(['cat-file', type, oid], { cwd: from }).stdoutBuffer
  git(['hash-object', '-w', '--stdin', '-t', type], { cwd: to, input: data })
  return type
}

/** Writes `content` as a blob into a pack of its own in `repo`, as another process would; its id. */
export function packBlob(repo: string, content: string): Oid {
  const oid = git(['hash-object', '-w', '--stdin'], { cwd: repo, input: content }).stdout.trim()
  git(['pack-objects', '-q', join(repo, 'objects', 'pack', 'pack')], { cwd: repo, input: `${oid}\n` })
  git(['prune-packed'], { cwd: repo })
  return oid
}

/** Every object of `repo` as git lists it: id → type. */
export function allObjects(repo: string): Map<Oid, ObjectType> {
  const out = new Map<Oid, ObjectType>()
  for (const line of git(['cat-file', '--batch-all-objects', '--batch-check'], { cwd: repo }).stdout.trim().split('\n')) {
    const [oid, type] = line.split(' ')
    out.set(oid as Oid, type as ObjectType)
  }
  return out
}

/**
 * Damages the packed object `oid` of `repo` (which must be stored whole, not as a
 * delta): a byte near the end of its compressed data, where zlib's check fails.
 */
export function damagePackedObject(repo: string, pack: string, oid: Oid): void {
  const line = git(['verify-pack', '-v', pack.replace(/\.pack$/, '.idx')], { cwd: repo })
    .stdout.split('\n')
    .find((l) => l.startsWith(`${oid} `))
  if (line === undefined) throw new Error(`${oid} is not in ${pack}`)
  const [, , , sizeInPack, offset] = line.split(/\s+/)
  const at = Number(offset) + Number(sizeInPack) - 2
  const bytes = readFileSync(pack)
  bytes[at] = (bytes[at] as number) ^ 0xff
  chmodSync(pack, 0o644)
  writeFileSync(pack, bytes)
}
