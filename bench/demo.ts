/**
 * `npm run demo`: a partial clone next to a full clone of the same generated
 * repository, both made by the tsgit CLI over smart HTTP from real
 * `git http-backend`, with what each downloaded and what real git thinks of
 * the result. Exits non-zero if any step failed.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { cloneCommand, checkWithGit, snapshotTsgit, type Verdict } from './clients.js'
import { repoStats } from './repo-cache.js'
import { formatBytes, formatKinds, formatMs, renderTable, summarizeRequests, type RequestSummary } from './stats.js'
import { tempDir } from '../test/fixtures/git.js'
import { makeBigRepo } from '../test/fixtures/repos.js'
import { startGitServer, type GitServer } from '../test/fixtures/server.js'

// Enough history that leaving old blobs behind shows; small enough to run in seconds.
const REPO = { files: 1000, commits: 20, fileSize: 1500 }

interface CloneOutcome {
  label: string
  status: number
  wallMs: number
  requests: RequestSummary
  objects: number
  fsck: Verdict
  gitStatus: Verdict | undefined
}

function say(text: string): void {
  process.stdout.write(text)
}

/** Runs tsgit clone with its progress on our stderr. */
function runClone(flags: string[], url: string, dir: string): Promise<{ status: number; wallMs: number }> {
  const cmd = cloneCommand('tsgit', ['--progress', ...flags], url, dir)
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const child = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['ignore', 'inherit', 'inherit'] })
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ status: code ?? (signal !== null ? 137 : -1), wallMs: Number(process.hrtime.bigint() - t0) / 1e6 }))
  })
}

async function cloneAndCheck(server: GitServer, label: string, flags: string[], url: string, dir: string): Promise<CloneOutcome> {
  say(`\n$ tsgit clone ${flags.join(' ')}${flags.length > 0 ? ' ' : ''}${url} ${dir}\n`)
  const before = server.requests.length
  const r = await runClone(flags, url, dir)
  const requests = summarizeRequests(server.requests.slice(before))
  if (r.status !== 0) {
    const failed: Verdict = { ok: false, detail: 'clone failed' }
    return { label, status: r.status, wallMs: r.wallMs, requests, objects: 0, fsck: failed, gitStatus: failed }
  }
  const { fsck, status } = checkWithGit(dir, !flags.includes('--no-checkout'))
  return { label, status: r.status, wallMs: r.wallMs, requests, objects: repoStats(join(dir, '.git')).objects, fsck, gitStatus: status }
}

async function main(): Promise<number> {
  const tmp = tempDir('tsgit-demo-')
  const snapshot = snapshotTsgit()
  let server: GitServer | undefined
  try {
    say(`Generating a repository (${REPO.files} files, ${REPO.commits} commits) with git fast-import...\n`)
    const repoPath = join(tmp.path, 'served', 'demo.git')
    await makeBigRepo(repoPath, REPO)
    const source = repoStats(repoPath)
    say(`  ${source.objects} objects, ${formatBytes(source.packBytes)} of pack\n`)

    server = await startGitServer({ root: join(tmp.path, 'served') })
    const url = server.url('demo.git')
    say(`Serving it with real git http-backend at ${url}\n`)

    const partial = await cloneAndCheck(server, 'partial (--filter=blob:none)', ['--filter=blob:none'], url, join(tmp.path, 'partial'))
    const full = await cloneAndCheck(server, 'full', [], url, join(tmp.path, 'full'))
    // The least a partial clone has to download: commits and trees, no checkout.
    const bare = await cloneAndCheck(server, 'partial, --no-checkout', ['--filter=blob:none', '--no-checkout'], url, join(tmp.path, 'partial-nc'))

    const outcomes = [partial, full, bare]
    say('\n')
    say(
      renderTable(
        ['clone', 'exit', 'time', 'objects', 'downloaded', 'requests', 'git fsck', 'git status'],
        outcomes.map((o) => [
          o.label,
          String(o.status),
          formatMs(o.wallMs),
          String(o.objects),
          formatBytes(o.requests.bytes),
          String(o.requests.count),
          o.fsck.ok ? 'ok' : 'FAILED',
          o.gitStatus === undefined ? '-' : o.gitStatus.ok ? 'clean' : 'FAILED',
        ]),
      ),
    )
    for (const o of outcomes) say(`  ${o.label}: ${formatKinds(o.requests.kinds)}\n`)
    if (full.requests.bytes > 0 && full.objects > 0) {
      say(
        `\nThe partial clone downloaded ${((100 * partial.requests.bytes) / full.requests.bytes).toFixed(1)}% of the bytes ` +
          `and holds ${((100 * partial.objects) / full.objects).toFixed(1)}% of the objects of the full clone ` +
          `(the blobs it holds are the ones its checkout fetched lazily).\n`,
      )
    }
    let ok = true
    for (const o of outcomes) {
      const problems: string[] = []
      if (o.status !== 0) problems.push(`tsgit exited ${o.status}`)
      if (!o.fsck.ok) problems.push(`git fsck: ${o.fsck.detail}`)
      if (o.gitStatus !== undefined && !o.gitStatus.ok) problems.push(`git status: ${o.gitStatus.detail}`)
      if (o.status === 0 && o.objects === 0) problems.push('no objects in the clone')
      if (problems.length > 0) {
        ok = false
        say(`FAILED ${o.label}: ${problems.join('; ')}\n`)
      }
    }
    if (full.status === 0 && full.objects !== source.objects) {
      ok = false
      say(`FAILED full clone holds ${full.objects} objects, the served repository ${source.objects}\n`)
    }
    if (partial.status === 0 && full.status === 0 && !(partial.requests.bytes < full.requests.bytes)) {
      ok = false
      say('FAILED the partial clone did not download less than the full clone\n')
    }
    say(ok ? '\nDemo OK: real git accepts every clone.\n' : '\nDemo FAILED.\n')
    return ok ? 0 : 1
  } finally {
    await server?.close()
    tmp.cleanup()
    snapshot.cleanup()
  }
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (e: unknown) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    process.exitCode = 1
  },
)
