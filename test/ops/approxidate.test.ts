/**
 * --shallow-since's dates, against what git's own date parser makes of the same text
 * (`git rev-parse --since=<date>` prints `--max-age=<seconds>`).
 */
import t from 'tap'
import { parseApproxDate } from '../../lib/ops/approxidate.js'
import { git } from '../fixtures/git.js'

function gitSeconds(date: string): number {
  const out = git(['rev-parse', `--since=${date}`]).stdout.trim()
  return Number(out.replace('--max-age=', ''))
}

t.test('absolute dates: the seconds git reads', async (t) => {
  for (const d of ['@1577836800', '2020-01-02 00:00:00', '2020-01-02 03:04:05', '2020-01-02T03:04:05Z', '2020-01-02 03:04:05 +0200', '2020-01-02T03:04:05-05:30', 'Thu, 2 Jan 2020 03:04:05 +0000', '2 Jan 2020 03:04 -0100']) {
    t.equal(parseApproxDate(d), gitSeconds(d), d)
  }
})

t.test('relative dates', async (t) => {
  const now = new Date('2024-05-31T12:00:00Z')
  const s = Math.floor(now.getTime() / 1000)
  t.equal(parseApproxDate('3 days ago', now), s - 3 * 86400)
  t.equal(parseApproxDate('2.weeks.ago', now), s - 14 * 86400)
  t.equal(parseApproxDate('1 hour ago', now), s - 3600)
  t.equal(parseApproxDate('now', now), s)
  t.equal(parseApproxDate('2020-01-02', now), Math.floor(new Date(2020, 0, 2, now.getHours(), now.getMinutes(), now.getSeconds()).getTime() / 1000), 'a day alone: at the time of day it is now, as git')
  t.equal(parseApproxDate('1 year ago', now), Math.floor(Date.parse('2023-05-31T12:00:00Z') / 1000))
})

t.test('text that is no date is refused (git would guess)', async (t) => {
  for (const d of ['', 'soon', '2020-13-45x', 'yesterday at noon']) t.throws(() => parseApproxDate(d), { code: 'E_USAGE' }, d)
})
