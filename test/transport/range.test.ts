import t from 'tap'
import { judgeResponse, parseContentRange, rangeHeaders, resumable, validatorOf, type ResumeFrom } from '../../lib/transport/range.js'

const ETAG = '"5a-17f0"'
const DATE = 'Tue, 05 Mar 2024 10:20:30 GMT'

t.test('rangeHeaders: Range from `have`, If-Range with the validator; nothing for a plain GET or a resume that cannot be asked for', async (t) => {
  t.same(rangeHeaders({ have: 300000, validator: ETAG }), { Range: 'bytes=300000-', 'If-Range': ETAG })
  t.same(rangeHeaders({ have: 300000, validator: DATE, expectedLength: 812345 }), { Range: 'bytes=300000-', 'If-Range': DATE })
  t.same(rangeHeaders({ have: 12 }), { Range: 'bytes=12-' }, 'no validator: Range alone')
  t.same(rangeHeaders({ have: 10, expectedLength: 10 }), { Range: 'bytes=10-' }, 'a file that may be whole already: the server says so (416)')
  const plain: [string, ResumeFrom | undefined][] = [
    ['undefined', undefined],
    ['empty', {}],
    ['have 0', { have: 0, validator: ETAG }],
    ['negative', { have: -1 }],
    ['fractional', { have: 1.5 }],
    ['NaN', { have: Number.NaN }],
    ['beyond MAX_SAFE_INTEGER', { have: 2 ** 60 }],
    ['more than the file', { have: 11, expectedLength: 10 }],
    ['a weak ETag (If-Range must not carry one)', { have: 5, validator: 'W/"x"' }],
    ['an ETag with a space', { have: 5, validator: '"a b"' }],
    ['a validator with CR LF', { have: 5, validator: `${DATE}\r\nX-Evil: 1` }],
    ['not a date', { have: 5, validator: 'yesterday-ish' }],
    ['an empty validator', { have: 5, validator: '' }],
    ['a huge ETag', { have: 5, validator: `"${'a'.repeat(1000)}"` }],
  ]
  for (const [what, resume] of plain) {
    t.same(rangeHeaders(resume), {}, what)
    t.equal(resumable(resume), false, what)
  }
})

t.test('parseContentRange: exactly the grammar, within safe integers, or nothing', async (t) => {
  t.same(parseContentRange('bytes 300000-812344/812345'), { first: 300000, last: 812344, total: 812345 })
  t.same(parseContentRange('Bytes 0-0/1'), { first: 0, last: 0, total: 1 }, 'the unit is case-insensitive')
  t.same(parseContentRange('bytes */812345'), { unsatisfied: true, total: 812345 })
  t.same(parseContentRange('bytes 0-9007199254740990/9007199254740991'), { first: 0, last: 9007199254740990, total: 9007199254740991 })
  for (const bad of [
    undefined,
    '',
    'bytes 5-9/*',
    'bytes=5-9/10',
    'bytes  5-9/10',
    'bytes 5-9/10 ',
    ' bytes 5-9/10',
    'bytes 5 - 9/10',
    'bytes 5-9/10, bytes 0-4/10',
    'items 5-9/10',
    'bytes -5-9/10',
    'bytes 5-9/+10',
    'bytes 0x5-9/10',
    'bytes 9-5/10',
    'bytes 5-10/10',
    'bytes 5-9/9007199254740992',
    'bytes 0-1/99999999999999999999999',
    `bytes 0-1/${'9'.repeat(5000)}`,
    'bytes */',
    'bytes */-1',
    'bytes 1e3-2e3/3e3',
    'bytes ５-９/１０',
  ]) {
    t.equal(parseContentRange(bad), undefined, JSON.stringify(bad?.slice(0, 40)))
  }
})

t.test('validatorOf: a strong ETag, else Last-Modified, else nothing', async (t) => {
  t.equal(validatorOf({ etag: ETAG, 'last-modified': DATE }), ETAG)
  t.equal(validatorOf({ etag: 'W/"weak"', 'last-modified': DATE }), DATE, 'a weak ETag cannot go in If-Range')
  t.equal(validatorOf({ 'last-modified': DATE }), DATE)
  t.equal(validatorOf({ etag: 'W/"weak"' }), undefined)
  t.equal(validatorOf({}), undefined)
  t.equal(validatorOf({ etag: 'unquoted' }), undefined)
  t.equal(validatorOf({ etag: [ETAG, '"other"'] }), undefined, 'an ETag given twice names nothing')
  t.equal(validatorOf({ etag: [ETAG] }), ETAG)
  t.equal(validatorOf({ 'last-modified': 'garbage' }), undefined)
  t.equal(validatorOf({ 'last-modified': `${DATE}\u0000` }), undefined)
})

t.test('judgeResponse: 206 for exactly the rest of the same file continues; anything else partial restarts', async (t) => {
  const resume = { have: 300000, validator: ETAG, expectedLength: 812345 }
  const good = { 'content-range': 'bytes 300000-812344/812345', 'content-length': '512345', etag: ETAG }
  t.same(judgeResponse(206, good, resume), { kind: 'continue', start: 300000, length: 812345 })
  t.same(judgeResponse(206, { 'content-range': 'bytes 300000-812344/812345' }, { have: 300000 }), { kind: 'continue', start: 300000, length: 812345 }, 'no validators, no length: the range decides')
  t.same(judgeResponse(206, { ...good, 'last-modified': DATE, etag: undefined }, { have: 300000, validator: DATE }), { kind: 'continue', start: 300000, length: 812345 })
  t.same(judgeResponse(206, { ...good, 'last-modified': 'Tuesday, 05-Mar-24 10:20:30 GMT', etag: undefined }, { have: 300000, validator: DATE }), { kind: 'continue', start: 300000, length: 812345 }, 'the same date in another format')
  const restarts: [string, Record<string, string | string[] | undefined>, ResumeFrom][] = [
    ['another first byte', { ...good, 'content-range': 'bytes 299999-812344/812345', 'content-length': '512346' }, resume],
    ['not to the end', { ...good, 'content-range': 'bytes 300000-812343/812345', 'content-length': '512344' }, resume],
    ['another total', { ...good, 'content-range': 'bytes 300000-900000/900001', 'content-length': '600001' }, resume],
    ['a total other than expectedLength', { 'content-range': 'bytes 300000-812345/812346' }, resume],
    ['no Content-Range', { 'content-length': '512345', etag: ETAG }, resume],
    ['an unknown total', { ...good, 'content-range': 'bytes 300000-812344/*' }, resume],
    ['Content-Range twice', { ...good, 'content-range': ['bytes 300000-812344/812345', 'bytes 300000-812344/812345'] }, resume],
    ['a Content-Length that disagrees', { ...good, 'content-length': '512344' }, resume],
    ['a Content-Length that is no number', { ...good, 'content-length': '5e5' }, resume],
    ['multipart/byteranges', { ...good, 'content-type': 'multipart/byteranges; boundary=x' }, resume],
    ['another strong ETag', { ...good, etag: '"other"' }, resume],
    ['a weak ETag where the file had a strong one', { ...good, etag: `W/${ETAG}` }, resume],
    ['ETag twice', { ...good, etag: [ETAG, ETAG] }, resume],
    ['another Last-Modified', { ...good, etag: undefined, 'last-modified': 'Wed, 06 Mar 2024 10:20:30 GMT' }, { have: 300000, validator: DATE }],
    ['an unreadable Last-Modified', { ...good, etag: undefined, 'last-modified': 'soon' }, { have: 300000, validator: DATE }],
    ['a 416 of an unsatisfied range', { 'content-range': 'bytes */812345' }, resume],
  ]
  for (const [what, headers, r] of restarts) t.same(judgeResponse(206, headers, r), { kind: 'restart' }, what)
})

t.test('judgeResponse: 200 is the whole file; 416 completes only a file exactly `have` long; other statuses fail', async (t) => {
  const resume = { have: 812345, validator: ETAG }
  t.same(judgeResponse(200, { 'content-length': '812345' }, resume), { kind: 'whole', length: 812345 })
  t.same(judgeResponse(200, {}, undefined), { kind: 'whole', length: undefined }, 'chunked: length unknown')
  t.same(judgeResponse(200, { 'content-length': '99999999999999999' }, undefined), { kind: 'whole', length: undefined }, 'an unsafe length is no length')
  t.same(judgeResponse(416, { 'content-range': 'bytes */812345' }, resume), { kind: 'complete', length: 812345 })
  t.same(judgeResponse(416, { 'content-range': 'bytes */812345' }, { ...resume, expectedLength: 812345 }), { kind: 'complete', length: 812345 })
  t.same(judgeResponse(416, { 'content-range': 'bytes */812345' }, { ...resume, expectedLength: 900000 }), { kind: 'restart' }, 'not the length expected')
  t.same(judgeResponse(416, { 'content-range': 'bytes */800000' }, resume), { kind: 'restart' }, 'the file is shorter than what is held')
  t.same(judgeResponse(416, {}, resume), { kind: 'restart' }, 'no Content-Range')
  t.same(judgeResponse(416, { 'content-range': 'bytes */812345', etag: '"other"' }, resume), { kind: 'restart' }, 'another file')
  t.same(judgeResponse(416, { 'content-range': 'bytes 0-1/812345' }, resume), { kind: 'restart' })
  t.same(judgeResponse(416, { 'content-range': 'bytes */812345' }, undefined), { kind: 'fail' }, 'no range was asked for')
  t.same(judgeResponse(206, { 'content-range': 'bytes 0-9/10' }, undefined), { kind: 'fail' }, 'a 206 to a plain GET')
  for (const status of [204, 304, 404, 500, 503]) t.same(judgeResponse(status, {}, resume), { kind: 'fail' }, String(status))
})
