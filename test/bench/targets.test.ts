import t from 'tap'
import { judgeCiTime, judgeNotMore, judgeResumeBytes, judgeRss, judgeTime, verdict } from '../../bench/targets.js'

t.test('where git takes over 1 s, tsgit may take at most 0.8x its time', async (t) => {
  const j = judgeTime(10_000, 8_000)
  t.equal(j.target, '<= 0.8x git')
  t.equal(j.limit, 8_000)
  t.equal(j.met, true, 'exactly 0.8x meets it')
  t.equal(judgeTime(10_000, 8_001).met, false, 'just over misses it')
  t.equal(judgeTime(1_500, 1_250).met, false, 'faster than git is not enough: 1.25 s > 1.2 s')
  t.equal(judgeTime(1_001, 800).target, '<= 0.8x git', 'just over 1 s is judged by the ratio')
})

t.test('where git takes under 1 s, tsgit may take at most 0.1 s more', async (t) => {
  const j = judgeTime(350, 450)
  t.equal(j.target, '<= git + 0.10 s')
  t.equal(j.limit, 450)
  t.equal(j.met, true, 'exactly 0.1 s more meets it')
  t.equal(judgeTime(140, 230).met, true, 'a 1.64x ratio meets it on a fast row')
  t.equal(judgeTime(350, 451).met, false, 'more than 0.1 s over misses it')
  t.equal(judgeTime(1_000, 1_100).met, true, 'exactly 1 s is not over 1 s: the slack applies')
  t.equal(judgeTime(990, 1_050).met, true, '1.05 s against 0.99 s')
})

t.test('nothing to judge when a client has no median', async (t) => {
  t.equal(judgeTime(undefined, 500).met, undefined)
  t.equal(judgeTime(2_000, undefined).met, undefined)
  t.equal(judgeTime(2_000, undefined).target, '<= 0.8x git', 'the target still shows')
  t.equal(judgeTime(2_000, Number.NaN).met, undefined)
  t.equal(verdict(judgeTime(undefined, 1)), 'n/a')
})

t.test('peak RSS at most 128 MiB', async (t) => {
  t.equal(judgeRss(128 * 1024).met, true)
  t.equal(judgeRss(128 * 1024 + 1).met, false)
  t.equal(judgeRss(undefined).met, undefined)
  t.equal(judgeRss(64 * 1024).target, '<= 128 MiB')
  t.equal(verdict(judgeRss(200 * 1024)), 'MISSED')
  t.equal(verdict(judgeRss(100 * 1024)), 'met')
})

t.test('after a cut at X%, a resume may take (100 - X)% + 10% of the whole', async (t) => {
  const whole = 1_000_000
  t.same(
    [25, 50, 75, 95].map((x) => judgeResumeBytes(x, whole, 0).limit),
    [850_000, 600_000, 350_000, 150_000],
  )
  t.equal(judgeResumeBytes(50, whole, 600_000).met, true, 'at the limit')
  t.equal(judgeResumeBytes(50, whole, 600_001).met, false, 'over it')
  t.equal(judgeResumeBytes(95, whole, 880_000).met, false, 'fetching everything again misses it')
  t.equal(judgeResumeBytes(5, whole, whole).limit, whole, 'never more than the whole')
  t.equal(judgeResumeBytes(75, whole, 0).target, '<= 35% of the whole')
  t.equal(judgeResumeBytes(75, undefined, 10).met, undefined, 'no uncut clone to judge by')
  t.equal(judgeResumeBytes(75, whole, undefined).met, undefined, 'no resume to judge')
})

t.test("CI rows (issue 16): at most git's time where git takes over 1 s, else at most 0.1 s more", async (t) => {
  const slow = judgeCiTime(10_000, 10_000)
  t.equal(slow.target, '<= git')
  t.equal(slow.limit, 10_000)
  t.equal(slow.met, true, "exactly git's time meets it")
  t.equal(judgeCiTime(10_000, 10_001).met, false, 'just over misses it')
  t.equal(judgeCiTime(10_000, 9_000).met, true, '0.9x meets it, where the clone rows want 0.8x')
  t.equal(judgeTime(10_000, 9_000).met, false, 'the clone rows keep their 0.8x')
  const fast = judgeCiTime(400, 500)
  t.equal(fast.target, '<= git + 0.10 s')
  t.equal(fast.met, true)
  t.equal(judgeCiTime(400, 501).met, false)
  t.equal(judgeCiTime(undefined, 1).met, undefined)
})

t.test('requests and bytes: never more than git', async (t) => {
  t.equal(judgeNotMore(4, 4).met, true, 'as many meets it')
  t.equal(judgeNotMore(5, 4).met, true)
  t.equal(judgeNotMore(4, 5).met, false)
  t.equal(judgeNotMore(4, 5).limit, 4)
  t.equal(judgeNotMore(undefined, 5).met, undefined, 'git failed: nothing to judge by')
  t.equal(judgeNotMore(4, undefined).met, undefined)
  t.equal(judgeNotMore(4, 4).target, '<= git')
})
