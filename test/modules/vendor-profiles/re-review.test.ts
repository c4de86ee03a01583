import t, { type Test } from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { createUser, login } from '../../helpers/auth.ts'
import { multipart, PDF, PNG } from '../../helpers/multipart.ts'

// An approved profile vouches for a legal identity: changing that identity (business or company
// name, GST number, registration certificate) sends the profile back to review and tells the
// platform admins; cosmetic changes do not. Reviewer ids and review notes are for admins only.

const profileBody = { businessType: 'manufacturer', businessName: 'Loom Works', companyName: 'Loom Works Pvt', country: 'IN', city: 'Surat', workingDays: ['mon', 'tue'], paymentMode: ['bank_transfer'], gstNumber: '24AAACL1234F1Z5' }

async function approvedProfile (t: Test) {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const vendor = await createUser(env, { type: 'vendor' })
  const admin = await createUser(env, { type: 'admin' })
  const admin2 = await createUser(env, { type: 'admin' })
  const sessions = { vendor: await login(env.app, vendor.email), admin: await login(env.app, admin.email) }
  const profile = (await env.app.inject({ method: 'POST', url: '/vendor-profiles', headers: sessions.vendor.headers, payload: profileBody })).json()
  const approve = () => env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${profile.id}/review`, headers: sessions.admin.headers, payload: { status: 'approved' } })
  t.equal((await approve()).json().reviewStatus, 'approved')
  const statusOf = async () => (await env.app.db.selectFrom('vendorProfiles').select(['reviewStatus']).where('id', '=', profile.id).executeTakeFirstOrThrow()).reviewStatus
  const patch = (payload: object) => env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${profile.id}`, headers: sessions.vendor.headers, payload })
  return { env, vendor, admin, admin2, sessions, profile, approve, statusOf, patch }
}

t.test('editing the legal identity of an approved profile sends it back to review and emails the admins', async (t) => {
  const { env, admin, admin2, profile, approve, statusOf, patch } = await approvedProfile(t)
  const legal = [
    { businessName: 'Loom Works Two' },
    { companyName: 'Other Company Ltd' },
    { companyName: null },
    { gstNumber: '27AAACL9999F1Z5' },
    { city: 'Pune', businessName: 'Renamed Looms' }
  ]
  for (const change of legal) {
    const res = await patch(change)
    t.equal(res.statusCode, 200, `${JSON.stringify(change)} accepted`)
    t.match(res.json(), { ...change, reviewStatus: 'pending' }, 'the answer says pending')
    t.equal(await statusOf(), 'pending', `${JSON.stringify(change)}: pending in the database`)
    t.equal((await env.app.inject({ method: 'GET', url: `/vendor-profiles/${profile.id}` })).statusCode, 404, 'hidden from the public again')
    const name = res.json().businessName as string
    for (const who of [admin, admin2]) {
      const mail = await env.smtp!.waitFor((m) => m.to.includes(who.email) && /review again/.test(m.subject) && m.text.includes(profile.id))
      t.match(mail.text, name, `admin ${who.email} told which profile to review`)
    }
    env.smtp!.messages.length = 0
    t.equal((await approve()).json().reviewStatus, 'approved')
  }
})

t.test('a new registration certificate sends an approved profile back to review; a new logo does not', async (t) => {
  const { env, admin, sessions, profile, statusOf } = await approvedProfile(t)
  const upload = (field: string, content: Buffer, filename: string) => {
    const body = multipart([{ field, filename, contentType: 'application/octet-stream', content }])
    return env.app.inject({ method: 'PUT', url: `/vendor-profiles/${profile.id}/files`, payload: body.payload, headers: { ...sessions.vendor.headers, ...body.headers } })
  }
  const logo = await upload('logo', PNG, 'logo.png')
  t.equal(logo.statusCode, 200)
  t.equal(logo.json().reviewStatus, 'approved', 'a logo is cosmetic')
  t.equal(await statusOf(), 'approved')

  const cert = await upload('businessRegistrationCertificate', PDF, 'cert.pdf')
  t.equal(cert.statusCode, 200)
  t.equal(cert.json().reviewStatus, 'pending', 'a certificate is the legal identity')
  t.equal(await statusOf(), 'pending')
  await env.smtp!.waitFor((m) => m.to.includes(admin.email) && m.text.includes(profile.id))
})

t.test('cosmetic edits and unchanged legal values keep the approval, and email no admin', async (t) => {
  const { env, admin, profile, statusOf, patch } = await approvedProfile(t)
  const cosmetic = [
    { workingDays: ['sat', 'sun'] },
    { companyDetails: 'We weave.' },
    { city: 'Ahmedabad', website: 'https://loom.example' },
    { businessName: 'Loom Works', gstNumber: '24AAACL1234F1Z5' }
  ]
  for (const change of cosmetic) {
    const res = await patch(change)
    t.equal(res.statusCode, 200)
    t.equal(res.json().reviewStatus, 'approved', `${JSON.stringify(change)} keeps the approval`)
    t.equal(await statusOf(), 'approved')
  }
  t.equal((await env.app.inject({ method: 'GET', url: `/vendor-profiles/${profile.id}` })).statusCode, 200, 'still public')
  // A legal edit afterwards is the marker: once its email is here, the earlier edits' would be.
  t.equal((await patch({ businessName: 'Marker Looms' })).json().reviewStatus, 'pending')
  await env.smtp!.waitFor((m) => m.to.includes(admin.email) && /review again/.test(m.subject))
  const asked = env.smtp!.messages.filter((m) => m.to.includes(admin.email) && /review again/.test(m.subject)).map((m) => m.subject)
  t.same(asked, ['Vendor profile to review again: Marker Looms'], 'only the legal edit asked the admins for a review')
})

t.test('a pending profile edited stays pending; rejected goes to pending for a new review', async (t) => {
  const { env, sessions, profile, statusOf, patch } = await approvedProfile(t)
  await env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${profile.id}/review`, headers: sessions.admin.headers, payload: { status: 'rejected', reason: 'Blurry certificate' } })
  t.equal(await statusOf(), 'rejected')
  const cosmetic = await patch({ city: 'Pune' })
  t.equal(cosmetic.json().reviewStatus, 'rejected', 'a cosmetic edit does not ask for review')
  const legal = await patch({ gstNumber: '27AAACL9999F1Z5' })
  t.equal(legal.json().reviewStatus, 'pending', 'a corrected identity goes to review')
})

t.test('public views carry no reviewer ids or review notes; admins see them', async (t) => {
  const { env, admin, vendor, sessions, profile } = await approvedProfile(t)
  const stranger = await login(env.app, (await createUser(env)).email)
  const urls = [`/vendor-profiles/${profile.id}`, `/vendor-profiles/by-user/${vendor.id}`]
  const adminOnly = ['reviewedBy', 'createdBy', 'updatedBy']
  for (const url of urls) {
    for (const [who, headers] of [['anonymous', {}], ['a stranger', stranger.headers]] as const) {
      const res = await env.app.inject({ method: 'GET', url, headers })
      t.equal(res.statusCode, 200)
      for (const field of [...adminOnly, 'reviewReason', 'reviewedAt']) t.notOk(field in res.json(), `${who} ${url}: no ${field}`)
      t.notOk(res.body.includes(admin.id), `${who} ${url}: the admin's id appears nowhere`)
    }
    const own = await env.app.inject({ method: 'GET', url, headers: sessions.vendor.headers })
    t.notOk(own.body.includes(admin.id), 'the vendor is not shown the reviewer either')
    t.equal(own.json().reviewStatus, 'approved')
    const asAdmin = await env.app.inject({ method: 'GET', url, headers: sessions.admin.headers })
    t.match(asAdmin.json(), { reviewedBy: admin.id, updatedBy: admin.id, createdBy: vendor.id, reviewStatus: 'approved' }, 'admins see the review data')
    t.type(asAdmin.json().reviewedAt, 'string')
  }
  const list = await env.app.inject({ method: 'GET', url: '/vendor-profiles' })
  t.equal(list.json().items.length, 1)
  t.notOk(list.body.includes(admin.id), 'the public list carries no reviewer id')
  const adminList = await env.app.inject({ method: 'GET', url: '/vendor-profiles', headers: sessions.admin.headers })
  t.equal(adminList.json().items[0].reviewedBy, admin.id)
})

t.test('an approval decides on the version the admin saw: a legal edit in between makes it a 409, and nothing is approved unseen', async (t) => {
  const { env, vendor, sessions, profile, statusOf, patch } = await approvedProfile(t)
  const review = (payload: object) => env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${profile.id}/review`, headers: sessions.admin.headers, payload })
  const seen = async () => (await env.app.inject({ method: 'GET', url: `/vendor-profiles/${profile.id}`, headers: sessions.admin.headers })).json()
  const vendorMails = () => env.smtp!.messages.filter((m) => m.to.includes(vendor.email) && /review/i.test(m.subject)).length

  t.equal((await patch({ businessName: 'Seen Looms' })).json().reviewStatus, 'pending')
  const version = await seen()
  t.equal(version.businessName, 'Seen Looms')
  t.type(version.updatedAt, 'string', 'the view carries the version to review')
  // The vendor changes the legal identity again while the admin reads the old one.
  t.equal((await patch({ businessName: 'Unseen Looms' })).statusCode, 200)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const mailsBefore = vendorMails()

  for (const status of ['approved', 'rejected'] as const) {
    const stale = await review({ status, reason: 'Checked', expectedUpdatedAt: version.updatedAt })
    t.equal(stale.statusCode, 409, `${status} of a version that changed since is refused`)
    t.equal(stale.json().code, 'PROFILE_CHANGED')
    t.equal(await statusOf(), 'pending', 'still waiting for review')
  }
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(vendorMails(), mailsBefore, 'the vendor is told no outcome')

  const current = await seen()
  const fresh = await review({ status: 'approved', expectedUpdatedAt: current.updatedAt })
  t.equal(fresh.statusCode, 200, 'the version on screen can be approved')
  t.match(fresh.json(), { reviewStatus: 'approved', businessName: 'Unseen Looms' })
  t.equal((await review({ status: 'approved', expectedUpdatedAt: 'not a date' })).statusCode, 400, 'a malformed version is a 400')
})

t.test('an approval racing legal edits never approves details the admin did not see', async (t) => {
  const { env, sessions, profile, patch } = await approvedProfile(t)
  const rowOf = () => env.app.db.selectFrom('vendorProfiles').select(['reviewStatus', 'businessName']).where('id', '=', profile.id).executeTakeFirstOrThrow()
  for (let round = 0; round < 8; round++) {
    t.equal((await patch({ businessName: `Round ${round} seen` })).statusCode, 200)
    const seen = (await env.app.inject({ method: 'GET', url: `/vendor-profiles/${profile.id}`, headers: sessions.admin.headers })).json()
    const [edit, approval] = await Promise.all([
      patch({ businessName: `Round ${round} unseen` }),
      env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${profile.id}/review`, headers: sessions.admin.headers, payload: { status: 'approved', expectedUpdatedAt: seen.updatedAt } })
    ])
    t.equal(edit.statusCode, 200)
    t.ok([200, 409].includes(approval.statusCode), `round ${round}: approved or refused (${approval.statusCode})`)
    const row = await rowOf()
    if (row.reviewStatus === 'approved') t.equal(row.businessName, seen.businessName, `round ${round}: what is approved is what was seen`)
    else t.equal(row.reviewStatus, 'pending', `round ${round}: the unseen edit waits for review`)
  }
})
