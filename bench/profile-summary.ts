/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, or `npm run bench --
 * --cpu-prof <dir>`): self time per function and per source file, heaviest
 * first. Usage: node dist/bench/profile-summary.js <file.cpuprofile> [top]
 */
import { readFileSync } from 'node:fs'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

function isProfile(v: unknown): v is Profile {
  if (typeof v !== 'object' || v === null) return false
  const p = v as Record<string, unknown>
  return Array.isArray(p['nodes']) && Array.isArray(p['samples']) && Array.isArray(p['timeDeltas'])
}

export interface SelfTime {
  name: string
  ms: number
}

/** Self time (ms) by function ("name file:line") and by file, each sorted heaviest first. */
export function selfTimes(profile: Profile): { byFunction: SelfTime[]; byFile: SelfTime[]; totalMs: number } {
  const byId = new Map<number, ProfileNode>()
  for (const n of profile.nodes) byId.set(n.id, n)
  const fn = new Map<string, number>()
  const file = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0
    total += us
    const cf = byId.get(id)?.callFrame
    const url = cf?.url.replace(/^file:\/\//, '') || '(native)'
    const key = `${cf?.functionName || '(anonymous)'} ${url}:${(cf?.lineNumber ?? 0) + 1}`
    fn.set(key, (fn.get(key) ?? 0) + us)
    file.set(url, (file.get(url) ?? 0) + us)
  })
  const sorted = (m: Map<string, number>): SelfTime[] =>
    [...m.entries()].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms)
  return { byFunction: sorted(fn), byFile: sorted(file), totalMs: total / 1000 }
}

function main(): void {
  const [path, topArg] = process.argv.slice(2)
  if (path === undefined) {
    process.stderr.write('usage: node dist/bench/profile-summary.js <file.cpuprofile> [top]\n')
    process.exitCode = 129
    return
  }
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'))
  if (!isProfile(parsed)) throw new Error(`${path} is not a V8 cpu profile`)
  const top = Number(topArg ?? 25)
  const s = selfTimes(parsed)
  const show = (title: string, rows: SelfTime[]): void => {
    process.stdout.write(`${title} (total ${s.totalMs.toFixed(0)} ms)\n`)
    for (const r of rows.slice(0, top)) process.stdout.write(`${r.ms.toFixed(0).padStart(8)} ms ${((100 * r.ms) / s.totalMs).toFixed(1).padStart(5)}%  ${r.name}\n`)
  }
  show('self time by function', s.byFunction)
  show('\nself time by file', s.byFile)
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) main()
