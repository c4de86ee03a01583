import t, { type Test } from 'tap'
import { createTestEnv, eventually } from '../../helpers/app.ts'
import { createUser, login } from '../../helpers/auth.ts'
import { HTML, JPEG, multipart, PDF, PNG, WEBP } from '../../helpers/multipart.ts'
import { publicKey, watchStorage } from '../../helpers/stored-files.ts'

const profileBody = { businessType: 'manufacturer', businessName: 'Loom Works', companyName: 'Loom Works Pvt', country: 'IN', city: 'Surat', workingDays: ['mon', 'tue'], paymentMode: ['bank_transfer'], establishment: 2001, employeeCount: 40, gstNumber: '24AAACL1234F1Z5' }

async function setup (t: Test, options = {}) {
  const env = await createTestEnv(t, options)
  const vendor = await createUser(env, { type: 'vendor' })
  const admin = await createUser(env, { type: 'admin' })
  const stranger = await createUser(env)
  const sessions = { vendor: await login(env.app, vendor.email), admin: await login(env.app, admin.email), stranger: await login(env.app, stranger.email) }
  const created = await env.app.inject({ method: 'POST', url: '/vendor-profiles', headers: sessions.vendor.headers, payload: profileBody })
  return { env, vendor, admin, stranger, sessions, profile: created.json(), created }
}

t.test('vendors create their profile; it stays hidden until approved', async (t) => {
  const { env, vendor, sessions, profile, created } = await setup(t)
  t.equal(created.statusCode, 201)
  t.match(profile, { ...profileBody, userId: vendor.id, reviewStatus: 'pending', logo: null, businessRegistrationCertificate: null })
  const again = await env.app.inject({ method: 'POST', url: '/vendor-profiles', headers: sessions.vendor.headers, payload: profileBody })
  t.equal(again.statusCode, 409)
  t.equal((await env.app.inject({ method: 'POST', url: '/vendor-profiles', headers: sessions.stranger.headers, payload: profileBody })).statusCode, 403, 'customers have no vendor profile')

  t.equal((await env.app.inject({ method: 'GET', url: `/vendor-profiles/${profile.id}` })).statusCode, 404, 'pending: hidden from the public')
  t.equal((await env.app.inject({ method: 'GET', url: `/vendor-profiles/${profile.id}`, headers: sessions.vendor.headers })).statusCode, 200, 'but not from its vendor')
  t.equal((await env.app.inject({ method: 'GET', url: `/vendor-profiles/by-user/${vendor.id}`, headers: sessions.admin.headers })).statusCode, 200)
  t.same((await env.app.inject({ method: 'GET', url: '/vendor-profiles' })).json().items, [])
  t.equal((await env.app.inject({ method: 'GET', url: '/vendor-profiles?reviewStatus=pending', headers: sessions.admin.headers })).json().items.length, 1)

  const mass = await env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${profile.id}`, headers: sessions.vendor.headers, payload: { reviewStatus: 'approved' } })
  t.equal(mass.statusCode, 400, 'a vendor cannot approve itself')
  const edit = await env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${profile.id}`, headers: sessions.vendor.headers, payload: { city: 'Ahmedabad', workingDays: ['sat'] } })
  t.match(edit.json(), { city: 'Ahmedabad', workingDays: ['sat'], reviewStatus: 'pending' })
  t.equal((await env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${profile.id}`, headers: sessions.stranger.headers, payload: { city: 'X' } })).statusCode, 404)
})

t.test('review by an admin is emailed; approved profiles are public and searchable', async (t) => {
  const { env, vendor, sessions, profile } = await setup(t, { smtp: true, worker: true })
  t.equal((await env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${profile.id}/review`, headers: sessions.vendor.headers, payload: { status: 'approved' } })).statusCode, 403)
  const noReason = await env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${profile.id}/review`, headers: sessions.admin.headers, payload: { status: 'rejected' } })
  t.equal(noReason.statusCode, 400)
  t.equal(noReason.json().errors[0].pointer, '/body/reason')
  const rejected = await env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${profile.id}/review`, headers: sessions.admin.headers, payload: { status: 'rejected', reason: 'Blurry certificate' } })
  t.match(rejected.json(), { reviewStatus: 'rejected', reviewReason: 'Blurry certificate' })
  const rejection = await env.smtp!.waitFor((m) => m.to.includes(vendor.email) && /needs changes/.test(m.subject))
  t.match(rejection.text, 'Blurry certificate')
  const approved = await env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${profile.id}/review`, headers: sessions.admin.headers, payload: { status: 'approved' } })
  t.equal(approved.json().reviewStatus, 'approved')
  await env.smtp!.waitFor((m) => m.to.includes(vendor.email) && /approved/.test(m.subject))

  t.equal((await env.app.inject({ method: 'GET', url: `/vendor-profiles/${profile.id}` })).statusCode, 200, 'public now')
  const search = (q: string) => env.app.inject({ method: 'GET', url: `/vendor-profiles?${q}` }).then((r) => r.json().items.map((p: any) => p.id))
  t.same(await search('q=loom'), [profile.id])
  t.same(await search('q=PVT'), [profile.id], 'company name, any case')
  t.same(await search('q=nothing'), [])
  t.same(await search('businessType=manufacturer&country=in'), [profile.id])
  t.same(await search('businessType=retailer'), [])
})

t.test('files: logos by content, a private certificate, replaced files removed by the worker', async (t) => {
  const { env, sessions, profile } = await setup(t, { worker: true })
  // Through the app's store (the local disk, or S3 on the topology run), not a folder.
  const files = watchStorage(env)
  const logos: string[] = []
  for (const [name, content] of [['png', PNG], ['jpeg', JPEG], ['webp', WEBP]] as const) {
    const body = multipart([{ field: 'logo', filename: `logo.${name}`, contentType: 'application/octet-stream', content }])
    const res = await env.app.inject({ method: 'PUT', url: `/vendor-profiles/${profile.id}/files`, payload: body.payload, headers: { ...sessions.vendor.headers, ...body.headers } })
    t.equal(res.statusCode, 200, `${name} logo accepted`)
    logos.push(publicKey(res.json().logo))
    const served = await env.app.inject({ method: 'GET', url: new URL(res.json().logo).pathname })
    t.equal(served.statusCode, 200)
    t.equal(served.headers['content-type'], `image/${name}`)
  }
  for (const [name, content] of [['pdf', PDF], ['html', HTML]] as const) {
    const body = multipart([{ field: 'logo', filename: 'logo.png', contentType: 'image/png', content }])
    const res = await env.app.inject({ method: 'PUT', url: `/vendor-profiles/${profile.id}/files`, payload: body.payload, headers: { ...sessions.vendor.headers, ...body.headers } })
    t.equal(res.statusCode, 415, `${name} disguised as a PNG is refused`)
  }

  const cert = multipart([{ field: 'businessRegistrationCertificate', filename: 'cert.pdf', contentType: 'application/pdf', content: PDF }])
  const withCert = await env.app.inject({ method: 'PUT', url: `/vendor-profiles/${profile.id}/files`, payload: cert.payload, headers: { ...sessions.vendor.headers, ...cert.headers } })
  t.equal(withCert.statusCode, 200)
  const certificateUrl = new URL(withCert.json().businessRegistrationCertificate).pathname
  t.equal(certificateUrl, `/vendor-profiles/${profile.id}/certificate`)

  const asVendor = await env.app.inject({ method: 'GET', url: certificateUrl, headers: sessions.vendor.headers })
  t.equal(asVendor.statusCode, 200)
  t.equal(asVendor.headers['content-type'], 'application/pdf')
  t.same(asVendor.rawPayload, PDF)
  t.equal((await env.app.inject({ method: 'GET', url: certificateUrl, headers: sessions.admin.headers })).statusCode, 200, 'admins see it')
  t.equal((await env.app.inject({ method: 'GET', url: certificateUrl, headers: sessions.stranger.headers })).statusCode, 404, 'an unrelated user gets 404')
  t.equal((await env.app.inject({ method: 'GET', url: certificateUrl })).statusCode, 404, 'anonymous gets 404')

  await env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${profile.id}/review`, headers: sessions.admin.headers, payload: { status: 'approved' } })
  const publicView = await env.app.inject({ method: 'GET', url: `/vendor-profiles/${profile.id}`, headers: sessions.stranger.headers })
  t.equal(publicView.json().businessRegistrationCertificate, null, 'others are not even shown the link')
  t.ok(publicView.json().logo)

  // Three logos were uploaded; two were replaced and must leave the store.
  const stored = (visibility: string) => files.stored().then((keys) => keys.filter((key) => key.startsWith(`${visibility}/`)))
  t.equal(files.keys().length, 4, 'three logos and a certificate were stored (the refused files never were)')
  await eventually(async () => (await stored('public')).length === 1, 10000)
  t.same(await stored('public'), [logos[2]], 'only the current logo is kept')
  t.equal((await stored('private')).length, 1, 'the certificate is kept')
  t.equal((await env.app.inject({ method: 'DELETE', url: `/vendor-profiles/${profile.id}`, headers: sessions.vendor.headers })).statusCode, 204)
  await eventually(async () => (await files.stored()).length === 0, 10000)
  t.same(await stored('public'), [], 'deleting the profile removes its logo')
  t.same(await stored('private'), [], 'and its certificate')
})

t.test('admins create profiles for vendors', async (t) => {
  const { env, sessions } = await setup(t)
  const vendor2 = await createUser(env, { type: 'vendor' })
  const res = await env.app.inject({ method: 'POST', url: '/vendor-profiles', headers: sessions.admin.headers, payload: { ...profileBody, userId: vendor2.id } })
  t.equal(res.statusCode, 201)
  t.equal(res.json().userId, vendor2.id)
  const customer = await createUser(env)
  const notVendor = await env.app.inject({ method: 'POST', url: '/vendor-profiles', headers: sessions.admin.headers, payload: { ...profileBody, userId: customer.id } })
  t.equal(notVendor.statusCode, 400)
  t.equal(notVendor.json().errors[0].pointer, '/body/userId')
  const vendorSetsUser = await env.app.inject({ method: 'POST', url: '/vendor-profiles', headers: (await login(env.app, vendor2.email)).headers, payload: { ...profileBody, userId: customer.id } })
  t.equal(vendorSetsUser.statusCode, 400, 'vendors cannot create for others')
})
