import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  formatBytes,
  formatKinds,
  formatMs,
  formatRatio,
  median,
  parseGnuTimeLine,
  parseVmRss,
  ratio,
  renderTable,
  summarizeRequests,
} from '../../bench/stats.js'
import { tempDir } from '../fixtures/git.js'

t.test('median', async (t) => {
  t.equal(median([5]), 5)
  t.equal(median([9, 1, 5]), 5, 'unsorted odd length')
  t.equal(median([4, 1, 3, 2]), 2.5, 'even length: mean of the middle two')
  t.equal(median([10, 2, 33]), 10, 'numeric, not lexicographic, order')
  const input = [3, 1, 2]
  median(input)
  t.same(input, [3, 1, 2], 'does not sort its argument in place')
  t.throws(() => median([]), RangeError)
})

t.test('ratio and its formatting', async (t) => {
  t.equal(ratio(3, 2), 1.5)
  t.equal(ratio(1, 0), undefined, 'no ratio against zero')
  t.equal(ratio(undefined, 2), undefined)
  t.equal(ratio(2, Number.NaN), undefined)
  t.equal(formatRatio(1.234), '1.23x')
  t.equal(formatRatio(undefined), 'n/a')
})

t.test('byte and time formatting', async (t) => {
  t.equal(formatBytes(0), '0 B')
  t.equal(formatBytes(1023), '1023 B')
  t.equal(formatBytes(1024), '1.0 KiB')
  t.equal(formatBytes(52 * 1024 * 1024 + 300 * 1024), '52.3 MiB')
  t.equal(formatBytes(undefined), 'n/a')
  t.equal(formatMs(1234), '1.23 s')
  t.equal(formatMs(61_500), '1m01.5s')
  t.equal(formatMs(Number.NaN), 'n/a')
})

t.test('request summaries group by v2 command', async (t) => {
  const s = summarizeRequests([
    { method: 'GET', path: '/big.git/info/refs', bytesOut: 100 },
    { method: 'POST', path: '/big.git/git-upload-pack', command: 'ls-refs', bytesOut: 50 },
    { method: 'POST', path: '/big.git/git-upload-pack', command: 'fetch', bytesOut: 1000, packFramingBytes: 15 },
    { method: 'GET', path: '/big.git/info/refs', bytesOut: 100 },
    { method: 'POST', path: '/big.git/git-upload-pack', command: 'fetch', bytesOut: 7, packFramingBytes: 5 },
    { method: 'POST', path: '/big.git/git-upload-pack', bytesOut: 0 },
  ])
  t.equal(s.count, 6)
  t.equal(s.bytes, 1257)
  t.equal(s.packFraming, 20, 'the framing the server counted, added up')
  t.same(s.kinds, { 'GET info/refs': 2, 'POST ls-refs': 1, 'POST fetch': 2, 'POST git-upload-pack (no command)': 1 })
  t.equal(formatKinds(s.kinds), 'GET info/refs x2, POST ls-refs x1, POST fetch x2, POST git-upload-pack (no command) x1')
  t.same(summarizeRequests([]), { count: 0, bytes: 0, packFraming: 0, kinds: {} })
})

t.test('parses what GNU time writes with -f "%M %U %S" -o', async (t) => {
  const dir = tempDir()
  t.teardown(dir.cleanup)
  const ok = join(dir.path, 'ok.txt')
  const okRun = spawnSync('/usr/bin/time', ['-f', '%M %U %S', '-o', ok, process.execPath, '-e', 'const end = Date.now() + 300; while (Date.now() < end);'])
  t.equal(okRun.status, 0, 'GNU time is installed')
  const got = parseGnuTimeLine(readFileSync(ok, 'utf8'))
  t.ok(got !== undefined && got.maxRssKiB > 0, `a positive KiB count (${got?.maxRssKiB})`)
  t.ok(got !== undefined && got.userMs >= 200, `the user time of a 300 ms busy loop (${got?.userMs} ms)`)
  t.ok(got !== undefined && got.sysMs >= 0)
  // A failing command makes time prepend a status line to the file.
  const bad = join(dir.path, 'bad.txt')
  spawnSync('/usr/bin/time', ['-f', '%M %U %S', '-o', bad, 'false'])
  const text = readFileSync(bad, 'utf8')
  t.match(text, /exited with non-zero status 1/)
  t.ok((parseGnuTimeLine(text)?.maxRssKiB ?? 0) > 0)
  t.equal(parseGnuTimeLine('Command terminated by signal 9\n'), undefined)
})

t.test('reads VmRSS from /proc status text', async (t) => {
  const kib = parseVmRss(readFileSync('/proc/self/status', 'utf8'))
  const rss = process.memoryUsage().rss / 1024
  t.ok(kib > rss / 2 && kib < rss * 2, `VmRSS ${kib} KiB is about process.memoryUsage().rss ${Math.round(rss)} KiB`)
  t.equal(parseVmRss('Name:\tkthreadd\nState:\tS (sleeping)\n'), 0, 'kernel threads have no VmRSS line')
})

t.test('renderTable aligns columns', async (t) => {
  const out = renderTable(['row', 'time'], [['full clone', '1.00 s'], ['x', '12.50 s']])
  t.equal(out, ['row            time', '----------  -------', 'full clone   1.00 s', 'x           12.50 s', ''].join('\n'))
})
