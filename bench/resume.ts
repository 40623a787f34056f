/**
 * The benchmark's resume rows (issue 14): a tsgit clone whose upload-pack answer the
 * server cuts once X% of the bytes of the whole clone's transfer have gone out, kept
 * with exit 128 (`--retries 0`), then finished by a timed `tsgit clone-resume`. What
 * the server sends the resume is judged against the whole uncut clone's bytes, and its
 * wall time is set beside an uncut tsgit clone and beside what git does after a cut:
 * start over, an uncut git clone.
 *
 * A blob:none clone with checkout fetches its blobs in a second request, after the
 * clone proper is done; a cut there is kept as any other (the blobs that arrived in a
 * promisor pack) and clone-resume asks for the rest. Should a cut clone end finished,
 * its checkout failed (what tsgit did before), the row finishes it with
 * `tsgit checkout -f <branch>`, and says so.
 */
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { checkWithGit, clientCommand, cloneCommand, type ClientName } from './clients.js'
import { measure } from './measure.js'
import { formatBytes, formatMs, formatRatio, median, ratio, renderTable, summarizeRequests } from './stats.js'
import { judgeResumeBytes, verdict, type Judged } from './targets.js'
import { git } from '../test/fixtures/git.js'
import type { GitServer, RecordedRequest } from '../test/fixtures/server.js'

export interface ResumeRow {
  id: string
  title: string
  /** Which uncut clone it is measured against. */
  kind: 'full' | 'blobless' | 'blobless-nc'
  flags: string[]
  /** Where the cut falls, in percent of the whole uncut clone's bytes. */
  percent: number
  workTree: boolean
}

const KINDS = [
  { kind: 'full' as const, label: 'full clone', flags: [] as string[] },
  { kind: 'blobless' as const, label: 'blob:none clone', flags: ['--filter=blob:none'] },
  // the clone's own pack only: a cut always lands where clone-resume takes over
  { kind: 'blobless-nc' as const, label: 'blob:none --no-checkout', flags: ['--filter=blob:none', '--no-checkout'] },
]
const CUTS = [25, 50, 75, 95]

export const RESUME_ROWS: ResumeRow[] = KINDS.flatMap((k) =>
  CUTS.map((percent) => ({
    id: `resume-${k.kind}-${percent}`,
    title: `${k.label} cut at ${percent}%`,
    kind: k.kind,
    flags: k.flags,
    percent,
    workTree: !k.flags.includes('--no-checkout'),
  })),
)

/** Row groups `--only` also takes. */
export const RESUME_GROUPS: Record<string, string[]> = {
  resume: RESUME_ROWS.map((r) => r.id),
  ...Object.fromEntries(KINDS.map((k) => [`resume-${k.kind}`, RESUME_ROWS.filter((r) => r.kind === k.kind).map((r) => r.id)])),
}

/**
 * The server's cut: armed with the index in the request log where a clone starts and
 * a budget of response bytes for the whole clone, it cuts the upload-pack answer (a
 * fetch) in which the budget runs out. One-shot.
 */
export class CutSwitch {
  private plan: { since: number; budget: number } | undefined

  arm(since: number, budget: number): void {
    this.plan = { since, budget }
  }

  disarm(): void {
    this.plan = undefined
  }

  /** For GitServerOptions.cutAfter: the bytes of `req`'s answer to let through, or undefined to answer whole. */
  cutAfter(requests: readonly RecordedRequest[], req: RecordedRequest): number | undefined {
    if (this.plan === undefined || req.command !== 'fetch') return undefined
    const sent = requests.slice(this.plan.since).reduce((n, r) => (r === req ? n : n + r.bytesOut), 0)
    return Math.max(0, this.plan.budget - sent)
  }
}

export interface ResumeContext {
  server: GitServer
  url: string
  cut: CutSwitch
  /** Where the clones go (each removed after its sample). */
  work: string
  runs: number
  log: (text: string) => void
}

interface Uncut {
  gitWallMs: number[]
  tsgitWallMs: number[]
  /** Response bytes the server sent for a whole tsgit clone, per run. */
  tsgitBytes: number[]
  gitBytes: number[]
  failures: number
  /** What real git's fsck says of git's own first clone: the repository's doing, not tsgit's (git.git's old tags without a tagger). */
  gitsOwnFsck: Set<string>
}

interface ResumeSample {
  run: number
  /** The cut clone's exit status (128 expected) and the bytes the server sent it. */
  cutStatus: number
  bytesBeforeCut: number
  /** The command that finished the clone: clone-resume, or for a cut in a blob:none clone's checkout `checkout -f`. */
  resumedBy?: 'clone-resume' | 'checkout -f'
  /** The resume's. */
  status: number
  wallMs: number
  peakRssKiB: number | undefined
  bytesAfterCut: number
  requests: number
  stderr?: string
}

export interface ResumeResult {
  row: ResumeRow
  samples: ResumeSample[]
  wholeBytes: number | undefined
  medianBytesBeforeCut: number | undefined
  medianBytesAfterCut: number | undefined
  medianResumeMs: number | undefined
  medianResumePeakKiB: number | undefined
  uncutTsgitMs: number | undefined
  startOverGitMs: number | undefined
  bytes: Judged
  fsck?: string
  gitStatus?: string
}

function medianOf(values: (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined && Number.isFinite(v))
  return known.length > 0 ? median(known) : undefined
}

function bytesSince(server: GitServer, since: number): { bytes: number; count: number } {
  const s = summarizeRequests(server.requests.slice(since))
  return { bytes: s.bytes, count: s.count }
}

async function uncutClones(ctx: ResumeContext, kind: (typeof KINDS)[number]): Promise<Uncut> {
  const out: Uncut = { gitWallMs: [], tsgitWallMs: [], tsgitBytes: [], gitBytes: [], failures: 0, gitsOwnFsck: new Set() }
  for (let run = 0; run < ctx.runs; run++) {
    for (const client of ['git', 'tsgit'] as ClientName[]) {
      const dir = join(ctx.work, `resume-uncut-${kind.kind}-${client}-${run}`)
      const cmd = cloneCommand(client, ['-q', ...kind.flags], ctx.url, dir)
      const since = ctx.server.requests.length
      const m = await measure(cmd.command, cmd.args, { env: cmd.env })
      const { bytes } = bytesSince(ctx.server, since)
      if (client === 'git' && m.status === 0 && run === 0) out.gitsOwnFsck = new Set(checkWithGit(dir, false).fsckLines)
      if (m.status !== 0) {
        out.failures++
        ctx.log(`  uncut ${kind.label} run ${run + 1}/${ctx.runs} ${client} FAILED (exit ${m.status}): ${m.stderr.trim().split('\n').slice(-2).join(' | ')}\n`)
        continue
      }
      ;(client === 'git' ? out.gitWallMs : out.tsgitWallMs).push(m.wallMs)
      ;(client === 'git' ? out.gitBytes : out.tsgitBytes).push(bytes)
      ctx.log(`  uncut ${kind.label} run ${run + 1}/${ctx.runs} ${client.padEnd(5)} ${formatMs(m.wallMs)}, ${formatBytes(bytes)}\n`)
    }
  }
  return out
}

/** Runs the given resume rows; the uncut clones of each kind are measured once, before its first row. */
export async function runResumeRows(ctx: ResumeContext, rows: readonly ResumeRow[]): Promise<{ results: ResumeResult[]; failures: number }> {
  const uncut = new Map<string, Uncut>()
  const results: ResumeResult[] = []
  let failures = 0
  for (const row of rows) {
    const kind = KINDS.find((k) => k.kind === row.kind) as (typeof KINDS)[number]
    let ref = uncut.get(row.kind)
    if (ref === undefined) {
      ref = await uncutClones(ctx, kind)
      failures += ref.failures
      uncut.set(row.kind, ref)
    }
    const wholeBytes = medianOf(ref.tsgitBytes)
    const samples: ResumeSample[] = []
    const result: ResumeResult = {
      row,
      samples,
      wholeBytes,
      medianBytesBeforeCut: undefined,
      medianBytesAfterCut: undefined,
      medianResumeMs: undefined,
      medianResumePeakKiB: undefined,
      uncutTsgitMs: medianOf(ref.tsgitWallMs),
      startOverGitMs: medianOf(ref.gitWallMs),
      bytes: judgeResumeBytes(row.percent, wholeBytes, undefined),
    }
    if (wholeBytes === undefined) {
      results.push(result)
      continue
    }
    for (let run = 0; run < ctx.runs; run++) {
      const dir = join(ctx.work, `${row.id}-${run}`)
      const cmd = cloneCommand('tsgit', ['-q', '--retries', '0', ...row.flags], ctx.url, dir)
      const since = ctx.server.requests.length
      ctx.cut.arm(since, Math.floor((wholeBytes * row.percent) / 100))
      let cut
      try {
        cut = await measure(cmd.command, cmd.args, { env: cmd.env })
      } finally {
        ctx.cut.disarm()
      }
      const before = bytesSince(ctx.server, since).bytes
      const sample: ResumeSample = { run, cutStatus: cut.status, bytesBeforeCut: before, status: -1, wallMs: NaN, peakRssKiB: undefined, bytesAfterCut: NaN, requests: 0 }
      samples.push(sample)
      if (cut.status !== 128 || !existsSync(dir)) {
        failures++
        sample.stderr = cut.stderr.slice(-4000)
        ctx.log(`  ${row.title} run ${run + 1}/${ctx.runs}: the cut clone exited ${cut.status}${existsSync(dir) ? '' : ' and left no directory'}: ${cut.stderr.trim().split('\n').slice(-2).join(' | ')}\n`)
        rmSync(dir, { recursive: true, force: true })
        continue
      }
      // A clone that ended finished with its checkout failed (no state: nothing to
      // resume) is finished by a checkout.
      const state = git(['config', '--get-regexp', '^cloneresume\\.'], { cwd: dir, allowFail: true }).stdout
      sample.resumedBy = state !== '' ? 'clone-resume' : 'checkout -f'
      const branch = git(['symbolic-ref', '--short', 'HEAD'], { cwd: dir }).stdout.trim()
      const resume = clientCommand('tsgit', state !== '' ? ['clone-resume', '-q', dir] : ['-C', dir, 'checkout', '-q', '-f', branch])
      const after = ctx.server.requests.length
      const m = await measure(resume.command, resume.args, { env: resume.env, cwd: ctx.work })
      const got = bytesSince(ctx.server, after)
      Object.assign(sample, { status: m.status, wallMs: m.wallMs, peakRssKiB: m.peakRssKiB, bytesAfterCut: got.bytes, requests: got.count })
      if (m.status !== 0) {
        failures++
        sample.stderr = m.stderr.slice(-4000)
        ctx.log(`  ${row.title} run ${run + 1}/${ctx.runs}: ${sample.resumedBy} FAILED (exit ${m.status}): ${m.stderr.trim().split('\n').slice(-3).join(' | ')}\n`)
      } else {
        ctx.log(
          `  ${row.title} run ${run + 1}/${ctx.runs}: cut after ${formatBytes(before)}; ${sample.resumedBy} ${formatMs(m.wallMs)}, ` +
            `${formatBytes(got.bytes)} in ${got.count} requests (${((got.bytes / wholeBytes) * 100).toFixed(1)}% of the whole), peak RSS ${formatBytes((m.peakRssKiB ?? NaN) * 1024)}\n`,
        )
        if (run === 0) {
          const v = checkWithGit(dir, row.workTree, ref.gitsOwnFsck)
          result.fsck = v.fsck.ok ? 'ok' : v.fsck.detail
          if (v.status !== undefined) result.gitStatus = v.status.ok ? 'clean' : v.status.detail
          if (!v.fsck.ok || (v.status !== undefined && !v.status.ok)) {
            failures++
            ctx.log(`  ${row.title}: real git rejects the resumed clone: fsck ${v.fsck.detail}; status ${v.status?.detail ?? '-'}\n`)
          }
        }
      }
    }
    const ok = samples.filter((s) => s.status === 0)
    result.medianBytesBeforeCut = medianOf(ok.map((s) => s.bytesBeforeCut))
    result.medianBytesAfterCut = medianOf(ok.map((s) => s.bytesAfterCut))
    result.medianResumeMs = medianOf(ok.map((s) => s.wallMs))
    result.medianResumePeakKiB = medianOf(ok.map((s) => s.peakRssKiB))
    result.bytes = judgeResumeBytes(row.percent, wholeBytes, result.medianBytesAfterCut)
    results.push(result)
  }
  return { results, failures }
}

function percentOf(part: number | undefined, whole: number | undefined): string {
  return part === undefined || whole === undefined || whole === 0 ? 'n/a' : `${((part / whole) * 100).toFixed(1)}%`
}

export function resumeTable(results: readonly ResumeResult[]): string {
  const header = ['row', 'whole clone', 'sent before cut', 'resumed by', 'sent after cut', 'target', 'bytes', 'resume', 'uncut tsgit', 'start over (git)', 'resume/uncut', 'resume/git', 'resume RSS']
  const rows = results.map((r) => {
    const failed = r.samples.filter((s) => s.status !== 0).length
    return [
      r.row.title + (failed > 0 ? ` (${failed} FAILED)` : ''),
      formatBytes(r.wholeBytes),
      `${formatBytes(r.medianBytesBeforeCut)} (${percentOf(r.medianBytesBeforeCut, r.wholeBytes)})`,
      [...new Set(r.samples.map((s) => s.resumedBy).filter((b) => b !== undefined))].join(', ') || 'n/a',
      `${formatBytes(r.medianBytesAfterCut)} (${percentOf(r.medianBytesAfterCut, r.wholeBytes)})`,
      r.bytes.target.replace(' of the whole', ''),
      verdict(r.bytes),
      formatMs(r.medianResumeMs),
      formatMs(r.uncutTsgitMs),
      formatMs(r.startOverGitMs),
      formatRatio(ratio(r.medianResumeMs, r.uncutTsgitMs)),
      formatRatio(ratio(r.medianResumeMs, r.startOverGitMs)),
      formatBytes(r.medianResumePeakKiB === undefined ? undefined : r.medianResumePeakKiB * 1024),
    ]
  })
  return renderTable(header, rows)
}

/** The results as the JSON file holds them. */
export function resumeJson(results: readonly ResumeResult[]): unknown[] {
  return results.map((r) => ({
    id: r.row.id,
    title: r.row.title,
    flags: r.row.flags,
    cutPercent: r.row.percent,
    wholeBytes: r.wholeBytes,
    medianBytesBeforeCut: r.medianBytesBeforeCut,
    medianBytesAfterCut: r.medianBytesAfterCut,
    medianResumeMs: r.medianResumeMs,
    medianResumePeakRssKiB: r.medianResumePeakKiB,
    uncutTsgitMs: r.uncutTsgitMs,
    startOverGitMs: r.startOverGitMs,
    targets: { bytesAfterCut: r.bytes },
    fsck: r.fsck,
    gitStatus: r.gitStatus,
    samples: r.samples,
  }))
}
