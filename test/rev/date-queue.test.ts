import t from 'tap'
import { DateQueue } from '../../lib/rev/date-queue.js'

t.test('newest first; equal dates in the order queued', async (t) => {
  const q = new DateQueue<{ date: number; name: string }>()
  const dates = [5, 9, 5, 1, 9, 7, 5, 3, 9, 0, 7]
  dates.forEach((date, i) => q.push({ date, name: `${date}#${i}` }))
  t.equal(q.size, dates.length)
  t.equal(q.peek()?.name, '9#1')
  t.same([...q.items()].map((c) => c.name).sort(), dates.map((d, i) => `${d}#${i}`).sort(), 'items() holds every queued item')
  const out: string[] = []
  for (let c = q.pop(); c; c = q.pop()) out.push(c.name)
  t.same(out, ['9#1', '9#4', '9#8', '7#5', '7#10', '5#0', '5#2', '5#6', '3#7', '1#3', '0#9'])
  t.equal(q.size, 0)
  t.equal(q.pop(), undefined)
  q.push({ date: 2, name: 'late' })
  q.push({ date: 2, name: 'later' })
  t.equal(q.pop()?.name, 'late', 'the tie rule holds for items queued after others left')
})
