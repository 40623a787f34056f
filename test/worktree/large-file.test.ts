/**
 * Files of 4 MiB and more are written from the pack a chunk at a time: what lands on
 * disk must be the blob, byte for byte, with its mode, and real git must find the work
 * tree clean.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git } from '../fixtures/git.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'

const big = randomBytes(5 * 1024 * 1024 + 11)
const tool = Buffer.concat([Buffer.from('#!/bin/sh\n'), Buffer.alloc(6 * 1024 * 1024, 'echo compressible\n')])
const srv = serveRepos(t, 'tsgit-large-file-', async (root) => {
  const work = join(root, 'large.work')
  git(['init', '-q', '-b', 'main', work])
  writeFileSync(join(work, 'big.bin'), big)
  writeFileSync(join(work, 'tool.sh'), tool)
  chmodSync(join(work, 'tool.sh'), 0o755)
  writeFileSync(join(work, 'small.txt'), 'small\n')
  git(['add', '-A'], { cwd: work })
  git(['commit', '-q', '-m', 'large files'], { cwd: work })
  git(['clone', '-q', '--bare', work, join(root, 'large.git')])
})

for (const flags of [[], ['--filter=blob:none']]) {
  t.test(`clone ${flags.join(' ') || '(full)'}: large files written as stored`, async (t) => {
    const dir = srv.dest('large')
    const r = await tsgit(['clone', '-q', ...flags, srv.server.url('large.git'), dir])
    t.equal(r.status, 0, r.stderr)
    t.ok(readFileSync(join(dir, 'big.bin')).equals(big), 'big.bin, byte for byte')
    t.ok(readFileSync(join(dir, 'tool.sh')).equals(tool), 'tool.sh, byte for byte')
    t.equal(statSync(join(dir, 'tool.sh')).mode & 0o111, 0o111, 'executable')
    t.equal(git(['status', '--porcelain'], { cwd: dir }).stdout, '', 'git finds the work tree clean')
    t.equal(git(['fsck'], { cwd: dir, allowFail: true }).status, 0)
  })
}
