/**
 * Continuing a download with a Range request, and judging the answer (RFC 9110 §14
 * and §13.1.5). Pure: no I/O.
 *
 * Bytes from a server are appended to the bytes already held only when the answer
 * says, in exactly the grammar, that it is the rest of the same file: Content-Range
 * `bytes <have>-<total-1>/<total>`, the total an earlier response gave, and no
 * validator that contradicts the one the file began with. Anything else (another
 * range, a multipart answer, another length, another ETag, a header that does not
 * parse) means downloading the whole file again: a wrong guess here would corrupt
 * the file without a word, while starting over costs only bandwidth.
 *
 * Deviation: git 2.39 (http.c) resumes a pack with Range alone, no If-Range, and
 * reads no Content-Range.
 */

export interface ResumeFrom {
  /** Bytes of the file already held (the length of the partial file). 0 or absent: a plain GET. */
  have?: number
  /** The validator recorded from the response that began the file (an ETag, or a Last-Modified date). */
  validator?: string
  /** The whole file's length, when an earlier response said it. */
  expectedLength?: number
}

export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>

export type Verdict =
  /** 206 for exactly the rest of the file: the body goes at `start`. */
  | { kind: 'continue'; start: number; length: number }
  /** 200: the body is the whole file, from 0. */
  | { kind: 'whole'; length: number | undefined }
  /** 416 saying the file is exactly the bytes held. */
  | { kind: 'complete'; length: number }
  /** An answer to the Range request that cannot be used: ask for the whole file instead. */
  | { kind: 'restart' }
  /** Any other status: the download fails. */
  | { kind: 'fail' }

export type ContentRange = { first: number; last: number; total: number } | { unsatisfied: true; total: number }

/** Long enough for any real ETag; a longer one is not worth keeping and sending back. */
const MAX_VALIDATOR = 256
/** Number.MAX_SAFE_INTEGER has 16 digits: longer digit strings are refused before they are converted. */
const DIGITS = '(\\d{1,16})'
const SATISFIED = new RegExp(`^bytes ${DIGITS}-${DIGITS}/${DIGITS}$`, 'i')
const UNSATISFIED = new RegExp(`^bytes \\*/${DIGITS}$`, 'i')
const STRONG_ETAG = /^"[\x21\x23-\x7e\x80-\xff]*"$/
const PRINTABLE = /^[\x20-\x7e]+$/

/** A non-negative integer exactly as HTTP writes it, within Number's exact range. */
function count(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,16}$/.test(text)) return undefined
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : undefined
}

/**
 * A header's value; a header that came more than once is worth nothing, and is ''
 * (present, matching no grammar) so that it is never mistaken for an absent one.
 */
function oneValue(headers: ResponseHeaders, name: string): string | undefined {
  const v = headers[name]
  if (Array.isArray(v)) return v.length === 1 ? v[0] : ''
  return v
}

function isStrongEtag(value: string): boolean {
  return value.length <= MAX_VALIDATOR && STRONG_ETAG.test(value)
}

function httpDate(value: string): number | undefined {
  if (value.length > 64 || !PRINTABLE.test(value) || value.includes('"')) return undefined
  const ms = Date.parse(value)
  return Number.isFinite(ms) ? ms : undefined
}

/** What kind of If-Range validator `value` is; undefined when it is neither (a weak ETag included: If-Range must not use one). */
function validatorKind(value: string): 'etag' | 'date' | undefined {
  if (value.startsWith('"')) return isStrongEtag(value) ? 'etag' : undefined
  return httpDate(value) !== undefined ? 'date' : undefined
}

/** Parses a Content-Range exactly (one range, known total, first <= last < total); undefined for anything else. */
export function parseContentRange(value: string | undefined): ContentRange | undefined {
  if (value === undefined) return undefined
  const unsatisfied = UNSATISFIED.exec(value)
  if (unsatisfied !== null) {
    const total = count(unsatisfied[1])
    return total === undefined ? undefined : { unsatisfied: true, total }
  }
  const m = SATISFIED.exec(value)
  if (m === null) return undefined
  const [first, last, total] = [count(m[1]), count(m[2]), count(m[3])]
  if (first === undefined || last === undefined || total === undefined || first > last || last >= total) return undefined
  return { first, last, total }
}

/**
 * Whether `resume` asks for a continuation that can be asked for: `have` a positive
 * integer, not beyond `expectedLength`, and a validator (when given) that If-Range
 * can carry. One that cannot is not attempted: the file is downloaded whole.
 */
export function resumable(resume: ResumeFrom | undefined): resume is ResumeFrom & { have: number } {
  if (resume === undefined) return false
  const { have, validator, expectedLength } = resume
  if (have === undefined || !Number.isSafeInteger(have) || have <= 0) return false
  if (expectedLength !== undefined && (!Number.isSafeInteger(expectedLength) || have > expectedLength)) return false
  return validator === undefined || validatorKind(validator) !== undefined
}

/** The request headers that ask for the rest of the file; none when `resume` is not resumable. */
export function rangeHeaders(resume: ResumeFrom | undefined): Record<string, string> {
  if (!resumable(resume)) return {}
  const headers: Record<string, string> = { Range: `bytes=${resume.have}-` }
  if (resume.validator !== undefined) headers['If-Range'] = resume.validator
  return headers
}

/**
 * What to send as If-Range next time: the strong ETag, else the Last-Modified date.
 * A weak ETag cannot be used in If-Range (RFC 9110 §13.1.5).
 */
export function validatorOf(headers: ResponseHeaders): string | undefined {
  const etag = oneValue(headers, 'etag')
  if (etag !== undefined && isStrongEtag(etag)) return etag
  const modified = oneValue(headers, 'last-modified')
  return modified !== undefined && httpDate(modified) !== undefined ? modified : undefined
}

/**
 * Whether the response's own validator contradicts the one the file began with. A
 * server should have answered 200 to an If-Range that no longer holds; one that does
 * not honour If-Range but honours Range would send the middle of another file.
 * Absent validators contradict nothing.
 */
function contradicts(headers: ResponseHeaders, validator: string | undefined): boolean {
  if (validator === undefined) return false
  if (validatorKind(validator) === 'etag') {
    const etag = oneValue(headers, 'etag')
    return etag !== undefined && etag !== validator
  }
  const modified = oneValue(headers, 'last-modified')
  return modified !== undefined && modified !== validator && httpDate(modified) !== httpDate(validator)
}

/**
 * Judges the final response (after redirects) to a request built by rangeHeaders
 * from `resume`; pass `resume` undefined for a plain GET.
 */
export function judgeResponse(status: number, headers: ResponseHeaders, resume: ResumeFrom | undefined): Verdict {
  if (status === 200) return { kind: 'whole', length: count(oneValue(headers, 'content-length')) }
  if (!resumable(resume) || (status !== 206 && status !== 416)) return { kind: 'fail' }
  const { have, expectedLength } = resume
  if (contradicts(headers, resume.validator)) return { kind: 'restart' }
  const range = parseContentRange(oneValue(headers, 'content-range'))
  if (range === undefined || (expectedLength !== undefined && range.total !== expectedLength)) return { kind: 'restart' }
  if (status === 416) return 'unsatisfied' in range && range.total === have ? { kind: 'complete', length: have } : { kind: 'restart' }
  if ('unsatisfied' in range || range.first !== have || range.last !== range.total - 1) return { kind: 'restart' }
  if (/^\s*multipart\//i.test(oneValue(headers, 'content-type') ?? '')) return { kind: 'restart' }
  const length = oneValue(headers, 'content-length')
  if (length !== undefined && count(length) !== range.total - have) return { kind: 'restart' }
  return { kind: 'continue', start: have, length: range.total }
}
