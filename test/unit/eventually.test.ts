import t from 'tap'
import { eventually } from '../helpers/eventually.ts'

// The polling helper behind every "the worker eventually did it" assertion: when the condition
// never holds it must fail the test, loudly and in time, never let it carry on.

t.test('returns the first truthy value, after retrying falsy values and errors', async (t) => {
  let calls = 0
  const value = await eventually(() => {
    calls++
    if (calls === 1) throw new Error('not yet')
    return calls >= 3 ? { calls } : null
  }, 2000, 1)
  t.same(value, { calls: 3 })
})

t.test('a condition that never holds rejects, naming the last value', async (t) => {
  const started = Date.now()
  await t.rejects(eventually(() => false, 100, 10), { message: /condition not met within 100 ms \(last value: false\)/ })
  t.ok(Date.now() - started < 2000, 'at the deadline')
  await t.rejects(eventually(() => 0, 50, 10), { message: /last value: 0/ }, 'zero is not a success')
  await t.rejects(eventually(() => '', 50, 10), { message: /last value: ""/ }, 'nor an empty string')
})

t.test('a check that keeps throwing rejects with its error', async (t) => {
  await t.rejects(eventually(() => { throw new Error('still down') }, 50, 10), { message: /last attempt threw: still down/ })
  await t.rejects(eventually(async () => { throw new Error('async too') }, 50, 10), { message: /async too/ })
  // eslint-disable-next-line no-throw-literal -- what a careless check might do
  await t.rejects(eventually(() => { throw 'a string' }, 50, 10), { message: /a string/ }, 'a thrown non-Error is reported')
})

t.test('a check that never settles rejects at the deadline instead of hanging', async (t) => {
  const started = Date.now()
  await t.rejects(eventually(() => new Promise<boolean>(() => {}), 100, 10), { message: /did not settle/ })
  t.ok(Date.now() - started < 2000, 'at the deadline')
})
