/** A small repository for the ref tests, made by real git, and the lock files left in one. */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { git, tempDir } from '../fixtures/git.js'

/** A repository with two commits, a lightweight and an annotated tag. */
export function refFixture(t: { teardown: (fn: () => void) => void }): { dir: string; gitDir: string; c1: string; c2: string; tagObj: string } {
  const d = tempDir()
  t.teardown(d.cleanup)
  const dir = d.path
  git(['init', '-q', '-b', 'main', dir])
  git(['commit', '-q', '--allow-empty', '-m', 'one'], { cwd: dir })
  const c1 = git(['rev-parse', 'HEAD'], { cwd: dir }).stdout.trim()
  git(['commit', '-q', '--allow-empty', '-m', 'two'], { cwd: dir })
  const c2 = git(['rev-parse', 'HEAD'], { cwd: dir }).stdout.trim()
  git(['tag', '-a', '-m', 'v1', 'v1.0', c1], { cwd: dir })
  git(['tag', 'light', c2], { cwd: dir })
  git(['branch', 'feature/x', c1], { cwd: dir })
  const tagObj = git(['rev-parse', 'refs/tags/v1.0'], { cwd: dir }).stdout.trim()
  return { dir, gitDir: join(dir, '.git'), c1, c2, tagObj }
}

export function listLocks(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name))
      else if (e.name.endsWith('.lock')) out.push(join(d, e.name))
    }
  }
  walk(dir)
  return out
}
