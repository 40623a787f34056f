import t from 'tap'
import { descendants, ensureGnuTime, measure } from '../../bench/measure.js'

// Each child touches MIB mebibytes (so they are resident) and holds them long enough to be sampled.
const MIB = 80
const HOLD = `const b = Buffer.alloc(${MIB} * 1024 * 1024, 1); setTimeout(() => { b[0] = 2 }, 1500)`

t.test('peak RSS of a process tree is the sum over processes alive together', async (t) => {
  t.ok(ensureGnuTime(false), 'GNU time available')
  const node = JSON.stringify(process.execPath)
  const script = `${node} -e '${HOLD}' & ${node} -e '${HOLD}' & wait`
  const m = await measure('sh', ['-c', script])
  t.equal(m.status, 0)
  const kib = MIB * 1024
  t.ok(m.treeSumPeakKiB >= 2 * kib, `summed tree peak ${m.treeSumPeakKiB} KiB covers both children`)
  t.ok(m.maxProcessKiB !== undefined && m.maxProcessKiB >= kib && m.maxProcessKiB < 2 * kib, `largest single process ${m.maxProcessKiB} KiB is one child`)
  t.equal(m.peakRssKiB, Math.max(m.treeSumPeakKiB, m.maxProcessKiB ?? 0))
})

t.test('exit status and stderr come through', async (t) => {
  const m = await measure('sh', ['-c', 'echo oops >&2; exit 3'])
  t.equal(m.status, 3)
  t.equal(m.stderr.trim(), 'oops')
  t.ok(m.wallMs > 0)
})

t.test('descendants walks grandchildren', async (t) => {
  const { spawn } = await import('node:child_process')
  const child = spawn('sh', ['-c', 'sleep 5 & sleep 5 & wait'], { stdio: 'ignore' })
  t.teardown(() => {
    child.kill()
  })
  let kids: number[] = []
  // The shell needs a moment to fork; poll rather than sleep a fixed time.
  for (let i = 0; i < 200 && kids.length < 2; i++) {
    await new Promise((r) => setTimeout(r, 10))
    kids = descendants(child.pid ?? -1)
  }
  t.equal(kids.length, 2, 'both sleeps found below the shell')
  for (const k of kids) process.kill(k)
})
