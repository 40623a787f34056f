/**
 * A repository made by real git with what a checkout must get right: nested
 * directories, an executable, symlinks to a file and to a directory, a gitlink,
 * names that sort awkwardly (a, a-b, a.c, a/), non-ASCII names, an empty file,
 * a few hundred small files, a merge, an annotated tag and a commit with an
 * encoding header.
 */
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git } from '../fixtures/git.js'

export interface SampleRepo {
  dir: string
  /** A commit id used as the gitlink "sub". */
  submoduleCommit: string
}

function write(root: string, path: string, content: string | Buffer): void {
  const full = join(root, path)
  mkdirSync(join(full, '..'), { recursive: true })
  writeFileSync(full, content)
}

export function makeSampleRepo(dir: string, options: { bulkFiles?: number } = {}): SampleRepo {
  git(['init', '-q', '-b', 'main', dir])
  write(dir, 'README', 'hello\n')
  write(dir, 'empty', '')
  write(dir, 'a', 'file a\n')
  write(dir, 'a-b', 'file a-b\n')
  write(dir, 'a.c', 'file a.c\n')
  write(dir, 'a0/x', 'dir a0\n')
  write(dir, 'deep/er/and/deeper/still/leaf.txt', 'leaf\n')
  write(dir, 'sp ace/ünïcödé.txt', 'unicode\n')
  write(dir, 'bin/run.sh', '#!/bin/sh\necho run\n')
  chmodSync(join(dir, 'bin/run.sh'), 0o755)
  write(dir, 'big.bin', Buffer.alloc(200_000, 7))
  mkdirSync(join(dir, 'links'))
  symlinkSync('../README', join(dir, 'links/readme-link'))
  symlinkSync('../deep/er', join(dir, 'links/dir-link'))
  const bulk = options.bulkFiles ?? 300
  for (let i = 0; i < bulk; i++) write(dir, `bulk/d${i % 12}/f${i}.txt`, `bulk file ${i}\n`)
  git(['add', '-A'], { cwd: dir })
  git(['commit', '-q', '-m', 'first'], { cwd: dir })
  const submoduleCommit = git(['rev-parse', 'HEAD'], { cwd: dir }).stdout.trim()
  git(['update-index', '--add', '--cacheinfo', `160000,${submoduleCommit},sub`], { cwd: dir })
  git(['commit', '-q', '-m', 'add a gitlink'], { cwd: dir })
  git(['checkout', '-q', '-b', 'side'], { cwd: dir })
  write(dir, 'side.txt', 'side\n')
  git(['add', 'side.txt'], { cwd: dir })
  git(['-c', 'i18n.commitEncoding=ISO-8859-1', 'commit', '-q', '-m', 'side with encoding'], { cwd: dir })
  git(['checkout', '-q', 'main'], { cwd: dir })
  write(dir, 'README', 'hello again\n')
  git(['add', 'README'], { cwd: dir })
  git(['commit', '-q', '-m', 'second'], { cwd: dir })
  git(['merge', '-q', '--no-ff', '-m', 'merge side\n\nwith a body', 'side'], { cwd: dir })
  git(['tag', '-a', '-m', 'version one\n\nnotes', 'v1'], { cwd: dir })
  git(['tag', '-a', '-m', 'tag of a tag', 'v1-again', 'v1'], { cwd: dir })
  return { dir, submoduleCommit }
}
