/**
 * Runs a client command and measures its wall time and the peak memory of its
 * whole process tree.
 *
 * What "peak RSS" means here: `git clone` over http is several processes at
 * once (clone, git-remote-http, index-pack, later checkout work), so the
 * memory a user pays is the sum over the tree, not any one process. Every
 * SAMPLE_MS we walk /proc/<pid>/task/<tid>/children from the command and sum
 * VmRSS of every live descendant; the peak is the largest sum seen. Sampling
 * can miss a short spike, so we also run the command under GNU time, whose %M
 * is the largest single-process high-water mark in the tree (the kernel keeps
 * the max over reaped children), and report max(tree sum, largest process).
 * Shared pages (libc, the git binary) count once per process, as RSS does.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseGnuTimeLine, parseVmRss } from './stats.js'

const SAMPLE_MS = 10
const GNU_TIME = '/usr/bin/time'

export interface MeasureOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** 'inherit' shows the command's stderr (progress) on ours; default: captured. */
  stderr?: 'inherit' | 'capture'
}

export interface Measured {
  status: number
  wallMs: number
  /** max(tree-sum peak, largest single process) in KiB; undefined if nothing could be read. */
  peakRssKiB: number | undefined
  /** The sampled peak of the summed tree RSS in KiB. */
  treeSumPeakKiB: number
  /** GNU time's %M (largest process in the tree) in KiB, if GNU time is available. */
  maxProcessKiB: number | undefined
  /** GNU time's %U and %S in ms (the command and the children it waited for), if GNU time is available. */
  cpu: { userMs: number; sysMs: number } | undefined
  stderr: string
}

let gnuTime: boolean | undefined
/** Whether GNU time is usable; installs it with apt-get once if it is missing and we may. */
export function ensureGnuTime(install: boolean): boolean {
  if (gnuTime !== undefined) return gnuTime
  const probe = (): boolean => existsSync(GNU_TIME) && spawnSync(GNU_TIME, ['-f', '%M', 'true']).status === 0
  gnuTime = probe()
  if (!gnuTime && install) {
    spawnSync('apt-get', ['install', '-y', '-q', 'time'], { stdio: 'ignore' })
    gnuTime = probe()
  }
  return gnuTime
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    // Processes come and go between listing and reading; a vanished one simply has no RSS.
    return undefined
  }
}

/** Every pid below `root` (not root itself), through each thread's children list. */
export function descendants(root: number): number[] {
  const out: number[] = []
  const queue = [root]
  while (queue.length > 0) {
    const pid = queue.shift() as number
    let tids: string[]
    try {
      tids = readdirSync(`/proc/${pid}/task`)
    } catch {
      continue
    }
    for (const tid of tids) {
      const kids = readText(`/proc/${pid}/task/${tid}/children`)
      if (kids === undefined) continue
      for (const k of kids.trim().split(/\s+/)) {
        if (k === '') continue
        const n = Number(k)
        out.push(n)
        queue.push(n)
      }
    }
  }
  return out
}

/** Summed VmRSS (KiB) of the given pids. */
export function sumRss(pids: readonly number[]): number {
  let total = 0
  for (const p of pids) {
    const s = readText(`/proc/${p}/status`)
    if (s !== undefined) total += parseVmRss(s)
  }
  return total
}

export function measure(command: string, args: readonly string[], opts: MeasureOptions = {}): Promise<Measured> {
  const useTime = ensureGnuTime(false)
  const scratch = mkdtempSync(join(tmpdir(), 'tsgit-measure-'))
  const timeOut = join(scratch, 'time.txt')
  const argv = useTime ? ['-f', '%M %U %S', '-o', timeOut, command, ...args] : [...args]
  const exe = useTime ? GNU_TIME : command
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const child = spawn(exe, argv, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'ignore', opts.stderr === 'inherit' ? 'inherit' : 'pipe'],
    })
    const err: Buffer[] = []
    child.stderr?.on('data', (b: Buffer) => err.push(b))
    let peak = 0
    const sample = (): void => {
      if (child.pid === undefined) return
      // Under GNU time the root is time itself (a couple of MB); the command is its child.
      const pids = useTime ? descendants(child.pid) : [child.pid, ...descendants(child.pid)]
      const s = sumRss(pids)
      if (s > peak) peak = s
    }
    const timer = setInterval(sample, SAMPLE_MS)
    child.on('error', (e) => {
      clearInterval(timer)
      rmSync(scratch, { recursive: true, force: true })
      reject(e)
    })
    child.on('close', (code, signal) => {
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6
      clearInterval(timer)
      const timed = useTime ? parseGnuTimeLine(readText(timeOut) ?? '') : undefined
      const maxProcessKiB = timed?.maxRssKiB
      rmSync(scratch, { recursive: true, force: true })
      const best = Math.max(peak, maxProcessKiB ?? 0)
      resolve({
        status: code ?? (signal !== null ? 128 + 9 : -1),
        wallMs,
        peakRssKiB: best > 0 ? best : undefined,
        treeSumPeakKiB: peak,
        maxProcessKiB,
        cpu: timed === undefined ? undefined : { userMs: timed.userMs, sysMs: timed.sysMs },
        stderr: Buffer.concat(err).toString('utf8'),
      })
    })
  })
}
