/**
 * The two clients the demo and the benchmark drive, as command lines: real git
 * and the tsgit CLI, each a child process under the pinned environment (no
 * user or system config), so neither sees anything the other does not.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { git, pinnedEnv } from '../test/fixtures/git.js'

export type ClientName = 'git' | 'tsgit'

/** The installed command (package.json's bin): the launcher that starts Node on bin/tsgit.cjs. */
export const TSGIT_BIN: string = fileURLToPath(new URL('../../bin/tsgit', import.meta.url))
const SOURCE_ROOT = fileURLToPath(new URL('../../', import.meta.url))

let tsgitBin = TSGIT_BIN

/**
 * Copies the built CLI (what package.json's `files` installs: bin/, the bundles, dist/lib/)
 * to a private directory and runs it from there: other people rebuild dist/ while a
 * benchmark runs, and a clone that starts mid-rebuild fails on half-written modules.
 */
export function snapshotTsgit(): { bin: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'tsgit-snapshot-'))
  const manifest = JSON.parse(readFileSync(join(SOURCE_ROOT, 'package.json'), 'utf8')) as { files: string[] }
  for (const entry of manifest.files) cpSync(join(SOURCE_ROOT, entry), join(root, entry), { recursive: true })
  cpSync(join(SOURCE_ROOT, 'package.json'), join(root, 'package.json'))
  symlinkSync(join(SOURCE_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir')
  writeFileSync(join(root, 'SNAPSHOT'), `copied from ${SOURCE_ROOT} at ${new Date().toISOString()}\n`)
  tsgitBin = join(root, 'bin', 'tsgit')
  return {
    bin: tsgitBin,
    cleanup: () => {
      tsgitBin = TSGIT_BIN
      rmSync(root, { recursive: true, force: true })
    },
  }
}

export interface CommandLine {
  command: string
  args: string[]
  env: NodeJS.ProcessEnv
}

/** `<client> clone <flags…> <url> <dir>`. */
export function cloneCommand(client: ClientName, flags: readonly string[], url: string, dir: string): CommandLine {
  const env = pinnedEnv()
  if (client === 'git') return { command: 'git', args: ['clone', ...flags, url, dir], env }
  return { command: tsgitBin, args: ['clone', ...flags, url, dir], env }
}

/** `<client> <args…>`. */
export function clientCommand(client: ClientName, args: readonly string[]): CommandLine {
  return { command: client === 'git' ? 'git' : tsgitBin, args: [...args], env: pinnedEnv() }
}

/** `<client> <args…>` run inside the repository `dir`. */
export function commandIn(client: ClientName, dir: string, args: readonly string[]): CommandLine {
  const env = pinnedEnv()
  if (client === 'git') return { command: 'git', args: ['-C', dir, ...args], env }
  return { command: tsgitBin, args: ['-C', dir, ...args], env }
}

export interface Verdict {
  ok: boolean
  detail: string
}

/** What real git says about a clone: `git fsck` clean, and for a work tree an empty `git status --porcelain`. */
export function checkWithGit(dir: string, workTree: boolean, allowed: ReadonlySet<string> = new Set()): { fsck: Verdict; status: Verdict | undefined; fsckLines: string[] } {
  const f = git(['fsck', '--no-progress'], { cwd: dir, allowFail: true })
  const fsckOut = (f.stdout + f.stderr).trim()
  const fsckLines = fsckOut === '' ? [] : fsckOut.split('\n')
  // What git's fsck also says of git's own clone (git.git's old tags without a tagger, say) is the repository's, not the client's.
  const own = fsckLines.filter((l) => !allowed.has(l))
  const shared = fsckLines.length - own.length
  const fsck: Verdict = {
    ok: f.status === 0 && own.length === 0,
    detail: f.status !== 0 ? `exit ${f.status}: ${fsckOut}` : own.length > 0 ? own.join('; ') : shared > 0 ? `clean but for ${shared} lines git's own clone has too` : 'clean',
  }
  if (!workTree) return { fsck, status: undefined, fsckLines }
  const s = git(['status', '--porcelain'], { cwd: dir, allowFail: true })
  const status: Verdict = {
    ok: s.status === 0 && s.stdout === '' && s.stderr === '',
    detail: s.status === 0 ? (s.stdout === '' ? 'clean' : s.stdout.trim().split('\n').slice(0, 5).join('; ')) : `exit ${s.status}: ${s.stderr.trim()}`,
  }
  return { fsck, status, fsckLines }
}
