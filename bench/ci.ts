/**
 * The benchmark's CI rows (issue 16): what a CI job does with git, run by real git
 * and by tsgit against the same `git http-backend`, in alternation.
 *
 * - `ci-checkout`, `ci-checkout-sparse`: the commands GitHub's actions/checkout runs
 *   (init, remote add, config, a depth-1 blob:none fetch of the commit, optionally
 *   `sparse-checkout set <dir>`, `checkout --progress --force -B`, `log -1`), each a
 *   process of its own, timed one by one; the row's time is their sum.
 * - `ci-fetch-noop`: `fetch origin` in a clone that is up to date.
 * - `ci-fetch-100`: `fetch origin` after 100 commits were added upstream.
 *
 * The fetch rows clone (untimed, each client its own clone) from a private copy of the
 * served repository (`clone --mirror --shared`: its refs, the original's objects), one
 * copy per client and run, so that adding the 100 commits (fast-import, fixed dates:
 * the same objects every time) gives both clients the same upstream.
 */
import { join } from 'node:path'
import { checkWithGit, clientCommand, cloneCommand, commandIn, type ClientName } from './clients.js'
import { measure } from './measure.js'
import { formatBytes, formatKinds, formatMs, formatRatio, median, ratio, renderTable, summarizeRequests } from './stats.js'
import { judgeCiTime, judgeNotMore, judgeRss, verdict, type Judged } from './targets.js'
import { git } from '../test/fixtures/git.js'
import type { GitServer } from '../test/fixtures/server.js'

export type CiKind = 'checkout' | 'fetch-noop' | 'fetch-100'

export interface CiRow {
  id: string
  title: string
  kind: CiKind
  /** Checkout rows: `sparse-checkout set <the repository's first top-level directory>` before the checkout. */
  sparse?: boolean
}

/** How many commits the fetch-100 row adds upstream. */
export const UPSTREAM_COMMITS = 100

export const CI_ROWS: CiRow[] = [
  { id: 'ci-checkout', title: 'actions/checkout', kind: 'checkout' },
  { id: 'ci-checkout-sparse', title: 'actions/checkout, sparse', kind: 'checkout', sparse: true },
  { id: 'ci-fetch-noop', title: 'no-op fetch', kind: 'fetch-noop' },
  { id: 'ci-fetch-100', title: `fetch after ${UPSTREAM_COMMITS} commits`, kind: 'fetch-100' },
]

/** Row groups `--only` also takes. */
export const CI_GROUPS: Record<string, string[]> = { ci: CI_ROWS.map((r) => r.id) }

export interface ScriptStep {
  /** A short name for the per-step table ("fetch", "checkout"). */
  name: string
  args: string[]
  /** Run inside the repository (`-C <dir>`); false for `init <dir>`. */
  inRepo: boolean
}

/**
 * The commands actions/checkout (v4) runs for a commit `sha` on `branch`, with
 * fetch-depth 1 and filter blob:none, minus its authentication and LFS steps.
 */
export function actionsCheckoutScript(o: { dir: string; url: string; sha: string; branch: string; sparse?: string }): ScriptStep[] {
  const remoteRef = `refs/remotes/origin/${o.branch}`
  const steps: ScriptStep[] = [
    { name: 'init', args: ['init', o.dir], inRepo: false },
    { name: 'remote add', args: ['remote', 'add', 'origin', o.url], inRepo: true },
    { name: 'config', args: ['config', '--local', 'gc.auto', '0'], inRepo: true },
    {
      name: 'fetch',
      args: ['-c', 'protocol.version=2', 'fetch', '--no-tags', '--prune', '--no-recurse-submodules', '--depth=1', '--filter=blob:none', 'origin', `+${o.sha}:${remoteRef}`],
      inRepo: true,
    },
  ]
  if (o.sparse !== undefined) steps.push({ name: 'sparse-checkout', args: ['sparse-checkout', 'set', o.sparse], inRepo: true })
  steps.push({ name: 'checkout', args: ['checkout', '--progress', '--force', '-B', o.branch, remoteRef], inRepo: true })
  steps.push({ name: 'log', args: ['log', '-1', '--format=%H'], inRepo: true })
  return steps
}

/**
 * A fast-import stream of `count` commits on `branch`, the first on top of `from`,
 * each rewriting one file; fixed identities, and dates a minute apart after `fromDate`
 * (`from`'s committer date, seconds), so every copy gets the same objects and the
 * history reads as upstream history does, each commit newer than its parent. (Dates
 * before the tip's make upload-pack hold back `ready` and date-ordered walks go deep:
 * a clock skew real histories rarely have.)
 */
export function upstreamCommitsStream(branch: string, from: string, count: number, fromDate: number): string {
  const out: string[] = []
  const epoch = fromDate
  for (let i = 1; i <= count; i++) {
    const message = `upstream commit ${i}\n`
    const content = `line of commit ${i}\n`
    out.push(
      `commit refs/heads/${branch}`,
      `committer CI Bench <ci@example.com> ${epoch + i * 60} +0000`,
      `data ${Buffer.byteLength(message)}`,
      message.slice(0, -1),
      ...(i === 1 ? [`from ${from}`] : []),
      `M 100644 inline ci-upstream-${i % 10}.txt`,
      `data ${Buffer.byteLength(content)}`,
      content.slice(0, -1),
      '',
    )
  }
  return out.join('\n') + '\n'
}

/** The first top-level directory of `rev` in `repo` whose name does not start with a dot, if any. */
export function firstTopDirectory(repo: string, rev: string): string | undefined {
  const names = git(['ls-tree', '-d', '--name-only', rev], { cwd: repo }).stdout.split('\n')
  return names.find((n) => n !== '' && !n.startsWith('.'))
}

export interface CiContext {
  /**
   * The server that serves `repoPath` at `url` (the checkout rows). Both servers should
   * count pack framing (GitServerOptions.countPackFraming): bytes are judged without it.
   */
  server: GitServer
  url: string
  repoPath: string
  /** A server rooted at `upstreamRoot`, for the fetch rows' private copies. */
  upstream: GitServer
  upstreamRoot: string
  /** Where the clients' repositories go (each removed after its sample). */
  work: string
  runs: number
  log: (text: string) => void
}

interface CiSample {
  run: number
  status: number
  /** The sum over the timed commands. */
  wallMs: number
  /** The largest over the timed commands. */
  peakRssKiB: number | undefined
  bytesReceived: number
  /** bytesReceived less the pkt-line framing of packs, which differs run to run for the same request. */
  bytesJudged: number
  requests: number
  requestKinds: Record<string, number>
  /** Each timed command's wall time, by step name. */
  stepMs: Record<string, number>
  /**
   * Each timed command's CPU time (user + system, its children's included), by step
   * name, when GNU time is there: what the client itself costs, which the machine's
   * file-creation speed (system time) and the server's (waits) move much less than
   * they move the wall time.
   */
  stepCpuMs?: Record<string, { userMs: number; sysMs: number }>
  stderr?: string
}

interface CiClientResult {
  samples: CiSample[]
  medianWallMs: number | undefined
  maxPeakRssKiB: number | undefined
  medianPeakRssKiB: number | undefined
  medianBytes: number | undefined
  medianJudgedBytes: number | undefined
  medianRequests: number | undefined
  medianStepMs: Record<string, number>
  /** Medians of each step's user and system CPU time (ms), when measured. */
  medianStepCpuMs: Record<string, { userMs: number; sysMs: number }>
  check?: string
}

export interface CiResult {
  row: CiRow
  /** The directory given to sparse-checkout set, for the sparse row. */
  sparseDir?: string
  git: CiClientResult
  tsgit: CiClientResult
  timeRatio: number | undefined
  bytesRatio: number | undefined
  targets: { time: Judged; rss: Judged; requests: Judged; bytes: Judged }
}

function medianOf(values: number[]): number | undefined {
  const known = values.filter((v) => Number.isFinite(v))
  return known.length > 0 ? median(known) : undefined
}

function summarize(samples: CiSample[]): CiClientResult {
  const ok = samples.filter((s) => s.status === 0)
  const peaks = ok.map((s) => s.peakRssKiB).filter((v): v is number => v !== undefined)
  const steps = [...new Set(ok.flatMap((s) => Object.keys(s.stepMs)))]
  return {
    samples,
    medianWallMs: medianOf(ok.map((s) => s.wallMs)),
    maxPeakRssKiB: peaks.length > 0 ? Math.max(...peaks) : undefined,
    medianPeakRssKiB: medianOf(peaks),
    medianBytes: medianOf(ok.map((s) => s.bytesReceived)),
    medianJudgedBytes: medianOf(ok.map((s) => s.bytesJudged)),
    medianRequests: medianOf(ok.map((s) => s.requests)),
    medianStepMs: Object.fromEntries(steps.map((n) => [n, medianOf(ok.map((s) => s.stepMs[n] ?? NaN)) ?? NaN])),
    medianStepCpuMs: Object.fromEntries(
      steps.map((n) => [n, { userMs: medianOf(ok.map((s) => s.stepCpuMs?.[n]?.userMs ?? NaN)) ?? NaN, sysMs: medianOf(ok.map((s) => s.stepCpuMs?.[n]?.sysMs ?? NaN)) ?? NaN }]),
    ),
  }
}

/** Runs `steps` one after the other by `client`, timing each, and sums what they cost. */
async function runScript(server: GitServer, client: ClientName, dir: string, steps: ScriptStep[], run: number): Promise<CiSample> {
  const before = server.requests.length
  const sample: CiSample = { run, status: 0, wallMs: 0, peakRssKiB: undefined, bytesReceived: 0, bytesJudged: 0, requests: 0, requestKinds: {}, stepMs: {} }
  for (const step of steps) {
    const cmd = step.inRepo ? commandIn(client, dir, step.args) : clientCommand(client, step.args)
    const m = await measure(cmd.command, cmd.args, { env: cmd.env })
    sample.wallMs += m.wallMs
    sample.stepMs[step.name] = (sample.stepMs[step.name] ?? 0) + m.wallMs
    if (m.cpu !== undefined) {
      const had = (sample.stepCpuMs ??= {})[step.name]
      sample.stepCpuMs[step.name] = { userMs: (had?.userMs ?? 0) + m.cpu.userMs, sysMs: (had?.sysMs ?? 0) + m.cpu.sysMs }
    }
    if (m.peakRssKiB !== undefined) sample.peakRssKiB = Math.max(sample.peakRssKiB ?? 0, m.peakRssKiB)
    if (m.status !== 0) {
      sample.status = m.status
      sample.stderr = `${step.args.join(' ')}: ${m.stderr.slice(-4000)}`
      break
    }
  }
  const reqs = summarizeRequests(server.requests.slice(before))
  sample.bytesReceived = reqs.bytes
  sample.bytesJudged = reqs.bytes - reqs.packFraming
  sample.requests = reqs.count
  sample.requestKinds = reqs.kinds
  return sample
}

function describe(s: CiSample): string {
  return s.status === 0
    ? `${formatMs(s.wallMs)}, peak RSS ${formatBytes((s.peakRssKiB ?? NaN) * 1024)}, ${formatBytes(s.bytesReceived)} in ${s.requests} requests (${formatKinds(s.requestKinds)})`
    : `FAILED (exit ${s.status}): ${s.stderr?.trim().split('\n').slice(-3).join(' | ')}`
}

function rev(dir: string, name: string): string {
  return git(['rev-parse', '--verify', '-q', name], { cwd: dir, allowFail: true }).stdout.trim()
}

/** Runs the selected CI rows; returns their results and how many samples or checks failed. */
export async function runCiRows(ctx: CiContext, rows: readonly CiRow[]): Promise<{ results: CiResult[]; failures: number }> {
  const branch = git(['symbolic-ref', '--short', 'HEAD'], { cwd: ctx.repoPath }).stdout.trim()
  const tip = git(['rev-parse', 'HEAD'], { cwd: ctx.repoPath }).stdout.trim()
  const sparseDir = firstTopDirectory(ctx.repoPath, tip)
  let failures = 0
  const samples = new Map<string, Record<ClientName, CiSample[]>>(rows.map((r) => [r.id, { git: [], tsgit: [] }]))
  const checks = new Map<string, string>()
  const record = (row: CiRow, client: ClientName, s: CiSample): void => {
    ;(samples.get(row.id) as Record<ClientName, CiSample[]>)[client].push(s)
    if (s.status !== 0) failures++
    ctx.log(`  ${row.title} run ${s.run + 1}/${ctx.runs} ${client.padEnd(5)} ${describe(s)}\n`)
  }
  /** Real git's fsck of git's own first repository per row: lines it also says of tsgit's are the repository's doing. */
  const gitsOwn = new Map<string, Set<string>>()
  const verify = (row: CiRow, client: ClientName, s: CiSample, dir: string, workTree: boolean, problem: string | undefined): void => {
    if (s.status !== 0) return
    if (problem !== undefined) {
      failures++
      ctx.log(`  ${row.title}: ${client}: ${problem}\n`)
    }
    if (s.run !== 0) return
    if (client === 'git') {
      gitsOwn.set(row.id, new Set(checkWithGit(dir, false).fsckLines))
      return
    }
    const v = checkWithGit(dir, workTree, gitsOwn.get(row.id))
    const ok = v.fsck.ok && (v.status === undefined || v.status.ok)
    checks.set(row.id, `fsck ${v.fsck.detail}${v.status !== undefined ? `; status ${v.status.detail}` : ''}${problem !== undefined ? `; ${problem}` : ''}`)
    if (!ok) {
      failures++
      ctx.log(`  ${row.title}: real git rejects the tsgit repository: ${checks.get(row.id)}\n`)
    }
  }

  const checkoutRows = rows.filter((r) => r.kind === 'checkout')
  const fetchRows = rows.filter((r) => r.kind !== 'checkout')
  for (const row of checkoutRows) {
    if (row.sparse === true && sparseDir === undefined) {
      ctx.log(`  ${row.title}: skipped, the repository has no top-level directory\n`)
      continue
    }
    for (let run = 0; run < ctx.runs; run++) {
      for (const client of ['git', 'tsgit'] as const) {
        const dir = join(ctx.work, `${row.id}-${client}-${run}`)
        const steps = actionsCheckoutScript({ dir, url: ctx.url, sha: tip, branch, sparse: row.sparse === true ? sparseDir : undefined })
        const s = await runScript(ctx.server, client, dir, steps, run)
        record(row, client, s)
        const head = s.status === 0 ? rev(dir, 'HEAD') : ''
        verify(row, client, s, dir, true, s.status === 0 && head !== tip ? `HEAD is ${head}, not ${tip}` : undefined)
      }
    }
  }

  if (fetchRows.length > 0) {
    const noop = fetchRows.find((r) => r.kind === 'fetch-noop')
    const after = fetchRows.find((r) => r.kind === 'fetch-100')
    for (let run = 0; run < ctx.runs; run++) {
      for (const client of ['git', 'tsgit'] as const) {
        const name = `ci-${client}-${run}.git`
        const copy = join(ctx.upstreamRoot, name)
        git(['clone', '-q', '--mirror', '--shared', ctx.repoPath, copy])
        const url = ctx.upstream.url(name)
        const dir = join(ctx.work, `ci-fetch-${client}-${run}`)
        const clone = cloneCommand(client, ['-q', '--no-checkout'], url, dir)
        const c = await measure(clone.command, clone.args, { env: clone.env })
        if (c.status !== 0) throw new Error(`${client}: set-up clone for the fetch rows failed: ${c.stderr}`)
        const remoteRef = `refs/remotes/origin/${branch}`
        if (noop !== undefined) {
          const s = await runScript(ctx.upstream, client, dir, [{ name: 'fetch', args: ['fetch', 'origin'], inRepo: true }], run)
          record(noop, client, s)
          verify(noop, client, s, dir, false, s.status === 0 && rev(dir, remoteRef) !== tip ? `${remoteRef} moved` : undefined)
        }
        if (after !== undefined) {
          const tipDate = Number(git(['log', '-1', '--format=%ct', tip], { cwd: copy }).stdout.trim())
          git(['fast-import', '--quiet'], { cwd: copy, input: upstreamCommitsStream(branch, tip, UPSTREAM_COMMITS, tipDate) })
          const newTip = rev(copy, branch)
          const s = await runScript(ctx.upstream, client, dir, [{ name: 'fetch', args: ['fetch', 'origin'], inRepo: true }], run)
          record(after, client, s)
          const got = s.status === 0 ? rev(dir, remoteRef) : ''
          verify(after, client, s, dir, false, s.status === 0 && got !== newTip ? `${remoteRef} is ${got}, not ${newTip}` : undefined)
        }
      }
    }
  }

  const results: CiResult[] = []
  for (const row of rows) {
    const got = samples.get(row.id) as Record<ClientName, CiSample[]>
    if (got.git.length === 0 && got.tsgit.length === 0) continue
    const g = summarize(got.git)
    const t = summarize(got.tsgit)
    const check = checks.get(row.id)
    if (check !== undefined) t.check = check
    results.push({
      row,
      ...(row.sparse === true && sparseDir !== undefined ? { sparseDir } : {}),
      git: g,
      tsgit: t,
      timeRatio: ratio(t.medianWallMs, g.medianWallMs),
      bytesRatio: ratio(t.medianJudgedBytes, g.medianJudgedBytes),
      targets: {
        time: judgeCiTime(g.medianWallMs, t.medianWallMs),
        rss: judgeRss(t.maxPeakRssKiB),
        requests: judgeNotMore(g.medianRequests, t.medianRequests),
        bytes: judgeNotMore(g.medianJudgedBytes, t.medianJudgedBytes),
      },
    })
  }
  return { results, failures }
}

function title(r: CiResult): string {
  return r.sparseDir !== undefined ? `${r.row.title} (${r.sparseDir}/)` : r.row.title
}

export function ciTable(results: readonly CiResult[]): string {
  const header = ['row', 'client', 'median time', 'peak RSS', 'received', 'less framing', 'requests', 'time ratio', 'bytes ratio', 'time target', 'requests', 'bytes']
  const rows: string[][] = []
  for (const r of results) {
    for (const client of ['git', 'tsgit'] as const) {
      const c = r[client]
      const failed = c.samples.filter((s) => s.status !== 0).length
      const ts = client === 'tsgit'
      rows.push([
        client === 'git' ? title(r) : '',
        client + (failed > 0 ? ` (${failed} FAILED)` : ''),
        formatMs(c.medianWallMs),
        formatBytes(c.medianPeakRssKiB === undefined ? undefined : c.medianPeakRssKiB * 1024),
        formatBytes(c.medianBytes),
        c.medianJudgedBytes === undefined ? 'n/a' : `${c.medianJudgedBytes} B`,
        c.medianRequests === undefined ? 'n/a' : String(c.medianRequests),
        ts ? formatRatio(r.timeRatio) : '',
        ts ? formatRatio(r.bytesRatio) : '',
        ts ? `${r.targets.time.target}: ${verdict(r.targets.time)}` : '',
        ts ? `<= git: ${verdict(r.targets.requests)}` : '',
        ts ? `<= git: ${verdict(r.targets.bytes)}` : '',
      ])
    }
  }
  return renderTable(header, rows)
}

/** Per-step medians of the rows that run more than one command: wall time, then user and system CPU time. */
export function ciStepTable(results: readonly CiResult[]): string {
  const rows: string[][] = []
  const cpu = (c: { userMs: number; sysMs: number } | undefined): string => (c === undefined || !Number.isFinite(c.userMs) ? '-' : `${formatMs(c.userMs)} + ${formatMs(c.sysMs)}`)
  for (const r of results) {
    const names = Object.keys(r.git.medianStepMs)
    if (names.length < 2) continue
    names.forEach((n, i) => {
      rows.push([
        i === 0 ? title(r) : '',
        n,
        formatMs(r.git.medianStepMs[n]),
        formatMs(r.tsgit.medianStepMs[n]),
        formatRatio(ratio(r.tsgit.medianStepMs[n], r.git.medianStepMs[n])),
        cpu(r.git.medianStepCpuMs[n]),
        cpu(r.tsgit.medianStepCpuMs[n]),
      ])
    })
  }
  return rows.length === 0 ? '' : renderTable(['row', 'step', 'git', 'tsgit', 'ratio', 'git user + sys', 'tsgit user + sys'], rows)
}

/** One line per row for the bench's targets section, and whether every target was met. */
export function ciTargets(results: readonly CiResult[]): { lines: string[]; met: boolean } {
  const lines: string[] = []
  let met = true
  for (const r of results) {
    const { time, rss, requests, bytes } = r.targets
    met &&= time.met === true && rss.met === true && requests.met === true && bytes.met === true
    const over = (v: number | undefined, j: Judged, f: (n: number) => string): string => (j.met === false && v !== undefined ? ` by ${f(v - j.limit)}` : '')
    lines.push(
      `  ${title(r).padEnd(32)} tsgit ${formatMs(r.tsgit.medianWallMs)} vs git ${formatMs(r.git.medianWallMs)} (target ${time.target}, ${formatMs(time.limit)}): ` +
        `${verdict(time)}${over(r.tsgit.medianWallMs, time, formatMs)}; requests ${r.tsgit.medianRequests ?? 'n/a'} vs ${r.git.medianRequests ?? 'n/a'}: ${verdict(requests)}; ` +
        `bytes less pack framing ${formatBytes(r.tsgit.medianJudgedBytes)} vs ${formatBytes(r.git.medianJudgedBytes)}: ${verdict(bytes)}${over(r.tsgit.medianJudgedBytes, bytes, formatBytes)}; ` +
        `peak RSS max ${formatBytes((r.tsgit.maxPeakRssKiB ?? NaN) * 1024)}: ${verdict(rss)}`,
    )
  }
  return { lines, met }
}

export function ciJson(results: readonly CiResult[]): unknown[] {
  return results.map((r) => ({
    id: r.row.id,
    title: r.row.title,
    kind: r.row.kind,
    ...(r.sparseDir !== undefined ? { sparseDir: r.sparseDir } : {}),
    git: r.git,
    tsgit: r.tsgit,
    timeRatio: r.timeRatio,
    bytesRatio: r.bytesRatio,
    targets: r.targets,
  }))
}
