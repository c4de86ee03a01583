import t from 'tap'
import { VerifiedAccessTokens, type AccessClaims } from '../../src/modules/auth/tokens.ts'

// The guard remembers verified access tokens until they expire. The verifier here stands in for
// fast-jwt: it reads the claims from the "token" and, like fast-jwt, refuses one whose exp
// (seconds) is behind its clock.

let clock = 1_000_000_000_000
const claims = (sub: string, exp: number, tkn = 'access'): AccessClaims =>
  ({ sub, sid: `s-${sub}`, typ: 'customer', auth_time: 1, tkn, jti: 'j', iat: 1, exp } as AccessClaims)

function verifier () {
  const calls: string[] = []
  const verify = (token: string) => {
    calls.push(token)
    const payload = JSON.parse(token) as AccessClaims
    if (clock > payload.exp * 1000) throw Object.assign(new Error('expired'), { code: 'FAST_JWT_EXPIRED' })
    return payload
  }
  return { calls, verify }
}

t.test('a token is verified once, then remembered until the verifier would refuse it', async (t) => {
  const { calls, verify } = verifier()
  const tokens = new VerifiedAccessTokens(verify)
  const exp = Math.floor(clock / 1000) + 900
  const token = JSON.stringify(claims('u1', exp))
  t.match(tokens.claimsOf(token, clock), { sub: 'u1', exp })
  t.match(tokens.claimsOf(token, clock), { sub: 'u1' })
  t.equal(calls.length, 1, 'verified once')

  clock = exp * 1000
  t.match(tokens.claimsOf(token, clock), { sub: 'u1' }, 'still good at its last millisecond, as for fast-jwt')
  t.equal(calls.length, 1)
  clock = exp * 1000 + 1
  t.throws(() => tokens.claimsOf(token, clock), { code: 'FAST_JWT_EXPIRED' }, 'past it, the verifier answers: expired')
  t.equal(calls.length, 2)
})

t.test('what is not an access token is refused every time and never remembered', async (t) => {
  const { calls, verify } = verifier()
  const tokens = new VerifiedAccessTokens(verify)
  const other = JSON.stringify(claims('u2', Math.floor(clock / 1000) + 900, 'refresh'))
  t.equal(tokens.claimsOf(other, clock), null)
  t.equal(tokens.claimsOf(other, clock), null)
  t.equal(calls.length, 2)
  t.throws(() => tokens.claimsOf('not json', clock))
  t.throws(() => tokens.claimsOf('not json', clock), 'a bad token is judged again each time')
})

t.test('the memo is bounded: the longest remembered goes first', async (t) => {
  const { calls, verify } = verifier()
  const tokens = new VerifiedAccessTokens(verify, 2)
  const exp = Math.floor(clock / 1000) + 900
  const [a, b, c] = ['a', 'b', 'c'].map((sub) => JSON.stringify(claims(sub, exp)))
  for (const token of [a, b, c]) tokens.claimsOf(token!, clock)
  calls.length = 0
  tokens.claimsOf(c!, clock)
  tokens.claimsOf(b!, clock)
  t.same(calls, [], 'the two latest are remembered')
  tokens.claimsOf(a!, clock)
  t.same(calls, [a], 'the first was evicted')
})
