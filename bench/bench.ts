/**
 * `npm run bench [-- --repo <bare.git>] [--runs N] [--only <row,...>]`: real git and
 * tsgit clone the same repository from the same real `git http-backend`, in
 * alternation (git, tsgit, git, tsgit …) so drift in the machine hits both alike, for
 * several kinds of clone, a clone whose blobs come from packfile URIs on a paced CDN,
 * tsgit clones cut and resumed (resume.ts), and what a CI job does: actions/checkout's
 * commands and fetches in an existing clone (ci.ts). Prints medians of wall time and peak
 * RSS of the client process tree (see measure.ts for what that means), what the server
 * sent, tsgit/git ratios and the target each row is judged by (targets.ts); writes the
 * raw samples to bench/results/<stamp>.json.
 *
 * The server runs in this process and shares the machine with the client, the
 * same for both clients; its time is part of the wall time either way.
 */
import { cpus, totalmem } from 'node:os'
import { mkdirSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { CI_GROUPS, CI_ROWS, ciJson, ciStepTable, ciTable, ciTargets, runCiRows, type CiResult } from './ci.js'
import { checkWithGit, cloneCommand, commandIn, snapshotTsgit, type ClientName, type CommandLine } from './clients.js'
import { ensureGnuTime, measure } from './measure.js'
import { cachedBigRepo, defaultCacheDir, repoStats, type RepoStats } from './repo-cache.js'
import { CutSwitch, RESUME_GROUPS, RESUME_ROWS, resumeJson, resumeTable, runResumeRows, type ResumeResult } from './resume.js'
import { formatBytes, formatKinds, formatMs, formatRatio, median, ratio, renderTable, summarizeRequests } from './stats.js'
import { FAST_ROW_SLACK_MS, judgeRss, judgeTime, PEAK_RSS_KIB, RESUME_SLACK_PERCENT, SLOW_ROW_MS, SLOW_ROW_RATIO, verdict, type Judged } from './targets.js'
import { cachedUrisSource, DEFAULT_URIS, urisServerConfig } from './uris-repo.js'
import { startCdn, type Cdn } from '../test/fixtures/cdn.js'
import { git, tempDir } from '../test/fixtures/git.js'
import type { BigRepoOptions } from '../test/fixtures/repos.js'
import { startGitServer, type GitServer } from '../test/fixtures/server.js'

/** ~102k objects, ~52 MiB of pack (30000 files under 679 directories, 20 commits). */
const DEFAULT_REPO: BigRepoOptions = { files: 30000, commits: 20, fileSize: 1800 }
/** The CDN's pace per connection for the packfile-URI rows: on loopback unpaced, downloading one pack or three at once would take the same. */
const CDN_BYTES_PER_SECOND = 8 << 20

interface Row {
  id: string
  title: string
  /** The clone's flags. For a row with a `step`, this clone is set-up and is not timed. */
  flags: string[]
  workTree: boolean
  /** A command timed in the clone made with `flags` (by the same client), instead of the clone itself. */
  step?: (client: ClientName, dir: string) => CommandLine
  /** Untimed preparation between the clone and the step. */
  prepare?: (client: ClientName, dir: string) => void
  /** 'uris': cloned from the packfile-URI source (uris-repo.ts), its large blobs from the paced CDN. */
  source?: 'uris'
}

const BLOBLESS_NC = ['--filter=blob:none', '--no-checkout']

const ROWS: Row[] = [
  { id: 'full', title: 'full clone', flags: [], workTree: true },
  { id: 'blobless-nc', title: 'blob:none --no-checkout', flags: BLOBLESS_NC, workTree: false },
  { id: 'blobless', title: 'blob:none + checkout', flags: ['--filter=blob:none'], workTree: true },
  { id: 'treeless-nc', title: 'tree:0 --no-checkout', flags: ['--filter=tree:0', '--no-checkout'], workTree: false },
  {
    // The lazy-fetch seam: every blob the checkout needs, fetched up front.
    id: 'checkout-after-blobless',
    title: 'checkout after blobless',
    flags: BLOBLESS_NC,
    workTree: true,
    // The branch the clone set up from the server's HEAD: not always "main" (--repo).
    step: (client, dir) => commandIn(client, dir, ['checkout', '-q', git(['symbolic-ref', '--short', 'HEAD'], { cwd: dir }).stdout.trim()]),
  },
  {
    // git 2.39 has no backfill; its way to get every blob is a refetch without the filter.
    id: 'backfill',
    title: 'backfill | fetch --refetch',
    flags: BLOBLESS_NC,
    workTree: false,
    prepare: (client, dir) => {
      if (client !== 'git') return
      git(['config', '--unset', 'remote.origin.partialclonefilter'], { cwd: dir })
      // After --refetch git starts a repack of everything in the background (gc --auto
      // with gc.autoPackLimit=1), which it does not wait for: it would run on during
      // the next sample, tsgit's, and be charged to it.
      git(['config', 'gc.auto', '0'], { cwd: dir })
      git(['config', 'maintenance.auto', 'false'], { cwd: dir })
    },
    step: (client, dir) => commandIn(client, dir, client === 'git' ? ['fetch', '-q', '--refetch', 'origin'] : ['backfill', '-q']),
  },
  {
    // git 2.39 downloads the packs one after the other; tsgit fetch.uriConcurrency at a time.
    id: 'uris-1',
    title: 'packfile URIs, uriConcurrency=1',
    flags: ['--no-checkout', '-c', 'fetch.uriProtocols=http', '-c', 'fetch.uriConcurrency=1'],
    workTree: false,
    source: 'uris',
  },
  {
    id: 'uris-3',
    title: 'packfile URIs, default (3)',
    flags: ['--no-checkout', '-c', 'fetch.uriProtocols=http'],
    workTree: false,
    source: 'uris',
  },
]

/** Row groups `--only` takes besides row ids. */
const GROUPS: Record<string, string[]> = { ...RESUME_GROUPS, ...CI_GROUPS, uris: ROWS.filter((r) => r.source === 'uris').map((r) => r.id) }

interface Sample {
  run: number
  status: number
  wallMs: number
  peakRssKiB: number | undefined
  treeSumPeakKiB: number
  maxProcessKiB: number | undefined
  bytesReceived: number
  requests: number
  requestKinds: Record<string, number>
  objects: number | undefined
  stderr?: string
}

interface ClientResult {
  samples: Sample[]
  medianWallMs: number | undefined
  medianPeakRssKiB: number | undefined
  maxPeakRssKiB: number | undefined
  medianBytes: number | undefined
  medianRequests: number | undefined
  fsck?: string
  gitStatus?: string
}

interface RowResult {
  row: Row
  git: ClientResult
  tsgit: ClientResult
  timeRatio: number | undefined
  rssRatio: number | undefined
  targets: { time: Judged; rss: Judged }
  /** --no-checkout clones: what a Node client making only the same requests takes (floor.ts). */
  floor?: { wallMs: number[]; medianWallMs: number | undefined; ratioToGit: number | undefined; medianRequests: number | undefined }
}

const FLOOR_SCRIPT = fileURLToPath(new URL('./floor.js', import.meta.url))

/** The clone's filter specs, for floor.ts. */
function filterSpecs(flags: readonly string[]): string[] {
  return flags.filter((f) => f.startsWith('--filter=')).map((f) => f.slice('--filter='.length))
}

const USAGE = `usage: npm run bench -- [--repo <bare.git>] [--runs <n>] [--files <n>] [--commits <n>] [--file-size <bytes>]
                       [--cache-dir <dir>] [--only <row-id>[,<row-id>...]]... [--cpu-prof <dir>]
rows: ${ROWS.map((r) => r.id).join(', ')},
      ${RESUME_ROWS.map((r) => r.id).join(', ')},
      ${CI_ROWS.map((r) => r.id).join(', ')}
groups: ${Object.keys(GROUPS).join(', ')}
`

interface Args {
  repo: string | undefined
  runs: number
  generate: BigRepoOptions
  cacheDir: string
  only: string[]
  cpuProf: string | undefined
}

class BenchUsage extends Error {}

function positiveInt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new BenchUsage(`--${name} wants a positive integer, got '${v}'`)
  return Number(v)
}

function parse(argv: string[]): Args {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: {
        repo: { type: 'string' },
        runs: { type: 'string' },
        files: { type: 'string' },
        commits: { type: 'string' },
        'file-size': { type: 'string' },
        'cache-dir': { type: 'string' },
        only: { type: 'string', multiple: true },
        'cpu-prof': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (e) {
    throw new BenchUsage(e instanceof Error ? e.message : String(e))
  }
  if (values.help === true) throw new BenchUsage('')
  const only: string[] = []
  for (const id of (values.only ?? []).flatMap((v) => v.split(',')).filter((v) => v !== '')) {
    const ids = GROUPS[id] ?? ([...ROWS, ...RESUME_ROWS, ...CI_ROWS].some((r) => r.id === id) ? [id] : undefined)
    if (ids === undefined) throw new BenchUsage(`unknown row '${id}'`)
    for (const i of ids) if (!only.includes(i)) only.push(i)
  }
  return {
    repo: values.repo !== undefined ? resolve(values.repo) : undefined,
    runs: positiveInt('runs', values.runs, 3),
    generate: {
      files: positiveInt('files', values.files, DEFAULT_REPO.files),
      commits: positiveInt('commits', values.commits, DEFAULT_REPO.commits),
      fileSize: positiveInt('file-size', values['file-size'], DEFAULT_REPO.fileSize),
    },
    cacheDir: values['cache-dir'] !== undefined ? resolve(values['cache-dir']) : defaultCacheDir(),
    only,
    cpuProf: values['cpu-prof'] !== undefined ? resolve(values['cpu-prof']) : undefined,
  }
}

function log(text: string): void {
  process.stderr.write(text)
}

function optionalMedian(values: (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined && Number.isFinite(v))
  return known.length > 0 ? median(known) : undefined
}

function summarize(samples: Sample[]): ClientResult {
  const ok = samples.filter((s) => s.status === 0)
  const peaks = ok.map((s) => s.peakRssKiB).filter((v): v is number => v !== undefined)
  return {
    samples,
    medianWallMs: optionalMedian(ok.map((s) => s.wallMs)),
    medianPeakRssKiB: optionalMedian(peaks),
    maxPeakRssKiB: peaks.length > 0 ? Math.max(...peaks) : undefined,
    medianBytes: optionalMedian(ok.map((s) => s.bytesReceived)),
    medianRequests: optionalMedian(ok.map((s) => s.requests)),
  }
}

/** Where a row clones from: the git server, and for packfile-URI rows the CDN it names. */
interface Origin {
  server: GitServer
  url: string
  cdn?: Cdn
}

async function runOnce(origin: Origin, client: ClientName, row: Row, run: number, dir: string, cpuProf: string | undefined): Promise<Sample> {
  const { server, url, cdn } = origin
  let cmd = cloneCommand(client, ['-q', ...row.flags], url, dir)
  let cwd: string | undefined
  if (row.step !== undefined) {
    const setup = await measure(cmd.command, cmd.args, { env: cmd.env })
    if (setup.status !== 0) throw new Error(`${client}: set-up clone for ${row.id} failed: ${setup.stderr}`)
    row.prepare?.(client, dir)
    cmd = row.step(client, dir)
    cwd = dir
  }
  // Node itself on the launcher's script (bin/tsgit.cjs beside bin/tsgit): the launcher
  // would take the flags as tsgit's, and Node refuses --cpu-prof in NODE_OPTIONS.
  if (client === 'tsgit' && cpuProf !== undefined) cmd = { ...cmd, command: process.execPath, args: ['--cpu-prof', `--cpu-prof-dir=${join(cpuProf, row.id)}`, `${cmd.command}.cjs`, ...cmd.args] }
  const before = server.requests.length
  const cdnBefore = cdn?.requests.length ?? 0
  const m = await measure(cmd.command, cmd.args, { env: cmd.env, cwd })
  const reqs = summarizeRequests(server.requests.slice(before))
  if (cdn !== undefined) {
    const got = cdn.requests.slice(cdnBefore)
    reqs.count += got.length
    reqs.bytes += got.reduce((n, r) => n + r.bytesOut, 0)
    if (got.length > 0) reqs.kinds['GET cdn'] = got.length
  }
  const gitDir = join(dir, '.git')
  const sample: Sample = {
    run,
    status: m.status,
    wallMs: m.wallMs,
    peakRssKiB: m.peakRssKiB,
    treeSumPeakKiB: m.treeSumPeakKiB,
    maxProcessKiB: m.maxProcessKiB,
    bytesReceived: reqs.bytes,
    requests: reqs.count,
    requestKinds: reqs.kinds,
    objects: m.status === 0 ? repoStats(gitDir).objects : undefined,
  }
  if (m.status !== 0) sample.stderr = m.stderr.slice(-4000)
  return sample
}

function describeRepo(path: string, stats: RepoStats): string {
  return `${path}: ${stats.objects} objects, ${formatBytes(stats.packBytes)} of pack`
}

function table(results: RowResult[]): string {
  const header = ['row', 'client', 'median time', 'peak RSS', 'received', 'requests', 'objects', 'time ratio', 'RSS ratio', 'time target']
  const rows: string[][] = []
  for (const r of results) {
    for (const client of ['git', 'tsgit'] as const) {
      const c = r[client]
      const failed = c.samples.filter((s) => s.status !== 0).length
      const objects = c.samples.find((s) => s.objects !== undefined)?.objects
      rows.push([
        client === 'git' ? r.row.title : '',
        client + (failed > 0 ? ` (${failed} FAILED)` : ''),
        formatMs(c.medianWallMs),
        formatBytes(c.medianPeakRssKiB === undefined ? undefined : c.medianPeakRssKiB * 1024),
        formatBytes(c.medianBytes),
        c.medianRequests === undefined ? 'n/a' : String(c.medianRequests),
        objects === undefined ? 'n/a' : String(objects),
        client === 'tsgit' ? formatRatio(r.timeRatio) : '',
        client === 'tsgit' ? formatRatio(r.rssRatio) : '',
        client === 'tsgit' ? `${r.targets.time.target}: ${verdict(r.targets.time)}` : '',
      ])
    }
    if (r.floor !== undefined) {
      const n = r.floor.medianRequests
      rows.push(['', 'node floor', formatMs(r.floor.medianWallMs), '', '', n === undefined ? 'n/a' : String(n), '', formatRatio(r.floor.ratioToGit), ''])
    }
  }
  return renderTable(header, rows)
}

/** By how much a value missed its limit, in words ("0.42 s over", "12.0 MiB over"). */
function overBy(value: number | undefined, j: Judged, format: (n: number) => string): string {
  return j.met === false && value !== undefined ? ` by ${format(value - j.limit)}` : ''
}

function targets(results: RowResult[], resumed: ResumeResult[], ci: CiResult[]): { text: string; met: boolean } {
  const lines: string[] = []
  let met = true
  const kib = (n: number): string => formatBytes(n * 1024)
  for (const r of results) {
    const { time, rss } = r.targets
    met &&= time.met === true && rss.met === true
    lines.push(
      `  ${r.row.title.padEnd(32)} tsgit ${formatMs(r.tsgit.medianWallMs)} vs git ${formatMs(r.git.medianWallMs)} (target ${time.target}, ${formatMs(time.limit)}): ` +
        `${verdict(time)}${overBy(r.tsgit.medianWallMs, time, formatMs)}; ` +
        `tsgit peak RSS max ${kib(r.tsgit.maxPeakRssKiB ?? NaN)} (target ${rss.target}): ${verdict(rss)}${overBy(r.tsgit.maxPeakRssKiB, rss, kib)}`,
    )
  }
  for (const r of resumed) {
    met &&= r.bytes.met === true
    lines.push(
      `  ${r.row.title.padEnd(32)} sent after the cut ${formatBytes(r.medianBytesAfterCut)} of ${formatBytes(r.wholeBytes)} ` +
        `(target ${r.bytes.target}, ${formatBytes(r.bytes.limit)}): ${verdict(r.bytes)}${overBy(r.medianBytesAfterCut, r.bytes, formatBytes)}`,
    )
  }
  const c = ciTargets(ci)
  lines.push(...c.lines)
  met &&= c.met
  return { text: lines.join('\n') + '\n', met }
}

async function main(argv: string[]): Promise<number> {
  let args: Args
  try {
    args = parse(argv)
  } catch (e) {
    if (!(e instanceof BenchUsage)) throw e
    if (e.message !== '') log(`bench: ${e.message}\n`)
    log(USAGE)
    return e.message === '' ? 0 : 129
  }
  if (!ensureGnuTime(true)) log('bench: GNU time unavailable; peak RSS is the sampled tree sum only\n')

  let repoPath: string
  if (args.repo !== undefined) {
    const bare = git(['rev-parse', '--is-bare-repository'], { cwd: args.repo, allowFail: true })
    if (bare.status !== 0 || bare.stdout.trim() !== 'true') {
      log(`bench: ${args.repo} is not a bare git repository\n`)
      return 129
    }
    repoPath = args.repo
  } else {
    log(`bench: preparing a generated repository (${JSON.stringify(args.generate)}) under ${args.cacheDir} ...\n`)
    const t0 = Date.now()
    const cached = await cachedBigRepo(args.generate, args.cacheDir)
    log(cached.built ? `bench: built in ${formatMs(Date.now() - t0)}\n` : 'bench: reused the cached repository\n')
    repoPath = cached.path
  }
  const source = repoStats(repoPath)
  log(`bench: serving ${describeRepo(repoPath, source)}\n`)

  // Every sample's directory stays until the run ends. On this project's machine (ext4)
  // creating files in the minute after many were deleted is several times slower (the
  // inode allocator skips recently deleted inodes): removed between samples, each
  // client's files made the next client's checkout pay for them.
  const work = tempDir('tsgit-bench-')
  const snapshot = snapshotTsgit()
  const cut = new CutSwitch()
  const server: GitServer = await startGitServer({ root: dirname(repoPath), cutAfter: (req) => cut.cutAfter(server.requests, req) })
  const url = server.url(basename(repoPath))
  const selected = (id: string): boolean => args.only.length === 0 || args.only.includes(id)
  const rows = ROWS.filter((r) => selected(r.id))
  const resumeRows = RESUME_ROWS.filter((r) => selected(r.id))
  const ciRows = CI_ROWS.filter((r) => selected(r.id))
  const results: RowResult[] = []
  let resumed: ResumeResult[] = []
  let ci: CiResult[] = []
  let ciServer: GitServer | undefined
  let upstream: GitServer | undefined
  let failures = 0
  const main: Origin = { server, url }
  let uris: Origin | undefined
  try {
    for (const row of rows) {
      let origin = main
      if (row.source === 'uris') {
        if (uris === undefined) {
          log(`bench: preparing the packfile-URI source (${DEFAULT_URIS.blobs} blobs of ${formatBytes(DEFAULT_URIS.blobBytes)} added to ${repoPath}) ...\n`)
          const src = cachedUrisSource(repoPath, args.cacheDir)
          const cdn = await startCdn({ root: src.cdnRoot, faults: { bytesPerSecond: CDN_BYTES_PER_SECOND } })
          const s = await startGitServer({ root: dirname(src.repo), config: urisServerConfig(src, (f) => cdn.url(f)) })
          uris = { server: s, url: s.url(basename(src.repo)), cdn }
        }
        origin = uris
      }
      const samples: Record<ClientName, Sample[]> = { git: [], tsgit: [] }
      const checks: Partial<Record<ClientName, { fsck: string; gitStatus?: string }>> = {}
      // What real git's fsck says of git's own first clone: lines it also says of tsgit's are not tsgit's doing.
      let gitsOwn = new Set<string>()
      for (let run = 0; run < args.runs; run++) {
        for (const client of ['git', 'tsgit'] as const) {
          const dir = join(work.path, `${row.id}-${client}-${run}`)
          const s = await runOnce(origin, client, row, run, dir, args.cpuProf)
          samples[client].push(s)
          log(
            `  ${row.title} run ${run + 1}/${args.runs} ${client.padEnd(5)} ` +
              (s.status === 0
                ? `${formatMs(s.wallMs)}, peak RSS ${formatBytes((s.peakRssKiB ?? NaN) * 1024)}, ${formatBytes(s.bytesReceived)} in ${s.requests} requests (${formatKinds(s.requestKinds)})\n`
                : `FAILED (exit ${s.status}): ${s.stderr?.trim().split('\n').slice(-3).join(' | ')}\n`),
          )
          if (s.status !== 0) failures++
          // Real git's opinion of the first tsgit clone of each kind (outside the timing).
          if (run === 0 && s.status === 0 && client === 'git') gitsOwn = new Set(checkWithGit(dir, false).fsckLines)
          if (run === 0 && s.status === 0 && client === 'tsgit') {
            const v = checkWithGit(dir, row.workTree, gitsOwn)
            checks.tsgit = { fsck: v.fsck.ok ? 'ok' : v.fsck.detail }
            if (v.status !== undefined) checks.tsgit.gitStatus = v.status.ok ? 'clean' : v.status.detail
            if (!v.fsck.ok || (v.status !== undefined && !v.status.ok)) {
              failures++
              log(`  ${row.title}: real git rejects the tsgit clone: fsck ${v.fsck.detail}; status ${v.status?.detail ?? '-'}\n`)
            }
          }
        }
      }
      const g = summarize(samples.git)
      const t = summarize(samples.tsgit)
      if (checks.tsgit !== undefined) Object.assign(t, checks.tsgit)
      const result: RowResult = {
        row,
        git: g,
        tsgit: t,
        timeRatio: ratio(t.medianWallMs, g.medianWallMs),
        rssRatio: ratio(t.medianPeakRssKiB, g.medianPeakRssKiB),
        targets: { time: judgeTime(g.medianWallMs, t.medianWallMs), rss: judgeRss(t.maxPeakRssKiB) },
      }
      if (!row.workTree && row.step === undefined && row.source === undefined) {
        const wallMs: number[] = []
        const requests: number[] = []
        for (let run = 0; run < args.runs; run++) {
          const before = server.requests.length
          const m = await measure(process.execPath, [FLOOR_SCRIPT, url, ...filterSpecs(row.flags)])
          if (m.status !== 0) throw new Error(`node floor for ${row.id} failed: ${m.stderr}`)
          wallMs.push(m.wallMs)
          requests.push(server.requests.length - before)
          log(`  ${row.title} run ${run + 1}/${args.runs} node floor ${formatMs(m.wallMs)}\n`)
        }
        const medianWallMs = optionalMedian(wallMs)
        result.floor = { wallMs, medianWallMs, ratioToGit: ratio(medianWallMs, g.medianWallMs), medianRequests: optionalMedian(requests) }
      }
      results.push(result)
    }
    if (resumeRows.length > 0) {
      const r = await runResumeRows({ server, url, cut, work: work.path, runs: args.runs, log }, resumeRows)
      resumed = r.results
      failures += r.failures
    }
    if (ciRows.length > 0) {
      const upstreamRoot = join(work.path, 'ci-upstream')
      mkdirSync(upstreamRoot)
      // Servers of their own that count pack framing, so that the bytes can be judged without it.
      ciServer = await startGitServer({ root: dirname(repoPath), countPackFraming: true })
      upstream = await startGitServer({ root: upstreamRoot, countPackFraming: true })
      const ciUrl = ciServer.url(basename(repoPath))
      const r = await runCiRows({ server: ciServer, url: ciUrl, repoPath, upstream, upstreamRoot, work: work.path, runs: args.runs, log }, ciRows)
      ci = r.results
      failures += r.failures
    }
  } finally {
    await server.close()
    await ciServer?.close()
    await upstream?.close()
    if (uris !== undefined) {
      await uris.server.close()
      await uris.cdn?.close()
    }
    work.cleanup()
    snapshot.cleanup()
  }

  const tgt = targets(results, resumed, ci)
  process.stdout.write(`\n${describeRepo(repoPath, source)}; ${args.runs} runs each, alternating git/tsgit; medians shown.\n`)
  if (results.length > 0) process.stdout.write(table(results))
  if (results.some((r) => r.row.source === 'uris')) {
    process.stdout.write(
      `packfile URIs: ${DEFAULT_URIS.blobs} loose blobs of ${formatBytes(DEFAULT_URIS.blobBytes)} added to the repository, each named by upload-pack ` +
        `(uploadpack.blobPackfileUri) as a pack on a CDN that sends each body at ${formatBytes(CDN_BYTES_PER_SECOND)}/s; received includes the CDN's bytes.\n`,
    )
  }
  if (resumed.length > 0) {
    process.stdout.write(
      `\nResumed clones: tsgit clone --retries 0, its upload-pack answer cut once X% of the whole uncut clone's bytes went out, then tsgit clone-resume (timed). ` +
        'git cannot resume: after a cut it starts over, an uncut git clone.\n',
    )
    process.stdout.write(resumeTable(resumed))
  }
  if (ci.length > 0) {
    process.stdout.write(
      `\nCI rows: actions/checkout's commands (init, remote add, config, fetch --depth=1 --filter=blob:none of the commit, [sparse-checkout set <dir>], ` +
        `checkout --progress --force -B, log -1), each a process, time summed and peak RSS the largest; fetch origin in a --no-checkout clone, ` +
        `up to date or after 100 commits added upstream. Requests and bytes: all the commands together. "less framing": the bytes less the ` +
        "pkt-line framing of the packs (5 bytes a packet), which changes from one answer to the next to the same request; the bytes target judges these.\n",
    )
    process.stdout.write(ciTable(ci))
    const steps = ciStepTable(ci)
    if (steps !== '') process.stdout.write(`\nCI rows, median per step:\n${steps}`)
  }
  process.stdout.write(`\nTargets (reported, not enforced):\n${tgt.text}`)
  if (results.some((r) => r.floor !== undefined)) {
    process.stdout.write(
      'node floor: a Node script (bench/floor.ts) making only the requests tsgit makes and reading the answers, writing nothing; ' +
        'its ratio is to git: what no Node client could go below on this machine.\n',
    )
  }
  process.stdout.write(
    'Peak RSS: max over the run of the summed VmRSS of the client process tree (sampled every 10 ms), ' +
      "or GNU time's largest single process if that is higher. Received: response bytes the server sent.\n",
  )

  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const resultsDir = fileURLToPath(new URL('../../bench/results/', import.meta.url))
  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, `${stamp}.json`)
  const json = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, totalMemBytes: totalmem(), node: process.version, git: git(['--version']).stdout.trim() },
    repo: { path: repoPath, generated: args.repo === undefined ? args.generate : undefined, ...source },
    runs: args.runs,
    order: 'alternating git, tsgit per run',
    rssMethod: 'max(peak of summed VmRSS over the client process tree sampled every 10 ms, GNU time %M = largest single process)',
    targets: {
      time: `tsgit <= ${SLOW_ROW_RATIO}x git where git's median is over ${SLOW_ROW_MS / 1000} s, else <= git + ${FAST_ROW_SLACK_MS / 1000} s`,
      tsgitPeakRssKiB: PEAK_RSS_KIB,
      ciTime: `tsgit <= git where git's median is over ${SLOW_ROW_MS / 1000} s, else <= git + ${FAST_ROW_SLACK_MS / 1000} s`,
      ciRequestsAndBytes: 'tsgit <= git (bytes less pack framing)',
      resumeBytes: `after a cut at X%: <= (100 - X + ${RESUME_SLACK_PERCENT})% of the whole uncut clone's bytes`,
      met: tgt.met,
    },
    cpuProfiled: args.cpuProf !== undefined,
    rows: results.map((r) => ({
      id: r.row.id,
      title: r.row.title,
      flags: r.row.flags,
      git: r.git,
      tsgit: r.tsgit,
      timeRatio: r.timeRatio,
      rssRatio: r.rssRatio,
      targets: r.targets,
      ...(r.floor ? { nodeFloor: r.floor } : {}),
    })),
    resumeRows: resumeJson(resumed),
    ciRows: ciJson(ci),
  }
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n')
  process.stdout.write(`Results written to ${file}\n`)
  return failures > 0 ? 1 : 0
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    process.exitCode = 1
  },
)
