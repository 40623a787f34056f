/**
 * The benchmark's targets (issue 15), as pure functions so that a test can hold
 * them: which time target applies to a row depends on how long git takes, and a
 * resumed clone is judged by the bytes the server sent after the cut.
 */

/** Where git's median wall time is over this, tsgit is judged by a ratio; under it, by a slack. */
export const SLOW_ROW_MS = 1000
/** tsgit/git at most this where git takes over SLOW_ROW_MS. */
export const SLOW_ROW_RATIO = 0.8
/** tsgit at most this much slower than git where git takes under SLOW_ROW_MS. */
export const FAST_ROW_SLACK_MS = 100
/** tsgit's peak RSS at most this. */
export const PEAK_RSS_KIB = 128 * 1024
/** After a cut at X% of a clone's bytes, a resume may take (100 - X)% of them plus this many percent. */
export const RESUME_SLACK_PERCENT = 10

export interface Judged {
  /** The target that applies, in words ("<= 0.8x git", "<= git + 0.10 s", "<= 128 MiB"). */
  target: string
  /** The largest value that meets it (ms, KiB or bytes, as judged). */
  limit: number
  /** undefined when there was nothing to judge (a client failed every run). */
  met: boolean | undefined
}

/**
 * The CI rows' ratio (issue 16): where git takes over SLOW_ROW_MS, tsgit at most git's
 * time ("at most git's on git.git"); under it the same FAST_ROW_SLACK_MS as the clones.
 */
export const CI_SLOW_ROW_RATIO = 1

function judgeTimeAt(slowRatio: number, gitMs: number | undefined, tsgitMs: number | undefined): Judged {
  if (gitMs === undefined || !Number.isFinite(gitMs)) return { target: 'n/a (no git time)', limit: NaN, met: undefined }
  const slow = gitMs > SLOW_ROW_MS
  const limit = slow ? gitMs * slowRatio : gitMs + FAST_ROW_SLACK_MS
  const target = slow ? (slowRatio === 1 ? '<= git' : `<= ${slowRatio}x git`) : `<= git + ${(FAST_ROW_SLACK_MS / 1000).toFixed(2)} s`
  if (tsgitMs === undefined || !Number.isFinite(tsgitMs)) return { target, limit, met: undefined }
  return { target, limit, met: tsgitMs <= limit }
}

/** The wall-time target for a row where git's median is `gitMs`, and whether tsgit's median `tsgitMs` meets it. */
export function judgeTime(gitMs: number | undefined, tsgitMs: number | undefined): Judged {
  return judgeTimeAt(SLOW_ROW_RATIO, gitMs, tsgitMs)
}

/** judgeTime for the CI rows: CI_SLOW_ROW_RATIO where git takes over SLOW_ROW_MS. */
export function judgeCiTime(gitMs: number | undefined, tsgitMs: number | undefined): Judged {
  return judgeTimeAt(CI_SLOW_ROW_RATIO, gitMs, tsgitMs)
}

/** tsgit's peak RSS (KiB) against PEAK_RSS_KIB. */
export function judgeRss(peakKiB: number | undefined): Judged {
  const target = `<= ${PEAK_RSS_KIB / 1024} MiB`
  if (peakKiB === undefined || !Number.isFinite(peakKiB)) return { target, limit: PEAK_RSS_KIB, met: undefined }
  return { target, limit: PEAK_RSS_KIB, met: peakKiB <= PEAK_RSS_KIB }
}

/**
 * A resume after a cut at `cutPercent`% of a clone's `wholeBytes`: the server may send
 * at most (100 - cutPercent + RESUME_SLACK_PERCENT)% of the whole after the cut.
 */
export function judgeResumeBytes(cutPercent: number, wholeBytes: number | undefined, afterBytes: number | undefined): Judged {
  const share = Math.min(100, 100 - cutPercent + RESUME_SLACK_PERCENT)
  const target = `<= ${share}% of the whole`
  if (wholeBytes === undefined || !Number.isFinite(wholeBytes)) return { target, limit: NaN, met: undefined }
  const limit = (wholeBytes * share) / 100
  if (afterBytes === undefined || !Number.isFinite(afterBytes)) return { target, limit, met: undefined }
  return { target, limit, met: afterBytes <= limit }
}

/**
 * A count tsgit must not exceed git's by (requests, bytes the server sent: issue 16's
 * "never more than git"): met when `tsgitValue` <= `gitValue`.
 */
export function judgeNotMore(gitValue: number | undefined, tsgitValue: number | undefined): Judged {
  const target = '<= git'
  if (gitValue === undefined || !Number.isFinite(gitValue)) return { target, limit: NaN, met: undefined }
  if (tsgitValue === undefined || !Number.isFinite(tsgitValue)) return { target, limit: gitValue, met: undefined }
  return { target, limit: gitValue, met: tsgitValue <= gitValue }
}

/** "met", "MISSED", or "n/a" when there was nothing to judge. */
export function verdict(j: Judged): string {
  return j.met === undefined ? 'n/a' : j.met ? 'met' : 'MISSED'
}
