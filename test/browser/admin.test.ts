import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import puppeteer, { type Browser, type Frame, type Page } from 'puppeteer-core'
import { createTestEnv } from '../helpers/app.ts'
import { bearer, codeFrom, createUser } from '../helpers/auth.ts'
import { chromiumArgs, provideChromium } from '../../scripts/lib/chromium.ts'
import { freePort } from '../../scripts/lib/local-services.ts'

// Issue 12, item 4, in a real browser (Debian's Chromium, installed when missing): a platform
// admin signs in at /admin with an emailed code (cookie mode), reaches the queue dashboard and
// stays signed in past the access token's lifetime; everyone else is refused with a message.
// `npm run test:browser` runs this file; `npm test` leaves it out (.taprc).

// Seconds. Under the 30 s ACCESS_TOKEN_TTL allows (the configuration is built directly), so the
// test sees a token expire in seconds; the page refreshes at 80 % of it, 3 s ahead.
const ACCESS_TTL = 15

const executablePath = await provideChromium()
const port = await freePort()
// PUBLIC_URL is where the browser opens the page: cookie requests pass the CSRF check there only.
const origin = `http://127.0.0.1:${port}`
const env = await createTestEnv(t, {
  smtp: true,
  worker: true,
  config: { port, publicUrl: origin, corsOrigins: [origin], accessTokenTtl: ACCESS_TTL, authRateLimitMax: 1000 }
})
await env.app.listen({ host: '127.0.0.1', port })
const browser: Browser = await puppeteer.launch({ executablePath, headless: true, args: chromiumArgs() })
t.teardown(() => browser.close())

/** A fresh browser profile (its own cookies) with the admin page's CSP violations recorded. */
async function newPage (): Promise<{ page: Page, violations: () => Promise<string[]> }> {
  const context = await browser.createBrowserContext()
  const page = await context.newPage()
  // Runs in every document before its own scripts; the shell page's list is read back.
  await page.evaluateOnNewDocument(`document.addEventListener('securitypolicyviolation', (e) => {
    (window.cspViolations ??= []).push(e.violatedDirective + ' ' + e.blockedURI)
  })`)
  const logged: string[] = []
  page.on('console', (message) => {
    if (/content security policy/i.test(message.text())) logged.push(`${message.location().url ?? ''}: ${message.text()}`)
  })
  const violations = async () => [
    ...await page.evaluate('window.cspViolations ?? []') as string[],
    ...logged.filter((line) => !line.startsWith(`${origin}/admin/queues`))
  ]
  return { page, violations }
}

const textOf = async (page: Page | Frame, selector: string): Promise<string> =>
  page.$eval(selector, (element) => element.textContent ?? '')

/** Types the email, reads the code from the mail that arrives, types it. */
async function signIn (page: Page, email: string): Promise<void> {
  await page.goto(`${origin}/admin`)
  await page.waitForSelector('#email-form:not([hidden])')
  await page.type('#email-form input[name=email]', email)
  await page.click('#email-form button[type=submit]')
  await page.waitForSelector('#code-form:not([hidden])')
  const code = codeFrom(await env.smtp!.waitFor((mail) => mail.to.includes(email)))
  await page.type('#code-form input[name=code]', code)
  await page.click('#code-form button[type=submit]')
}

/** The framed queue dashboard, once bull-board has drawn its queues. */
async function dashboardFrame (page: Page): Promise<Frame> {
  await page.waitForSelector('#dashboard:not([hidden])')
  const frame = await (await page.waitForSelector('#dashboard-frame'))!.contentFrame()
  await frame.waitForFunction('document.title === "Bull Dashboard" && document.body.innerText.includes("session-cleanup")', { timeout: 15000 })
  return frame
}

async function cookieNamed (page: Page, name: string) {
  return (await page.browserContext().cookies()).find((cookie) => cookie.name === name)
}

t.test('a platform admin signs in with an emailed code, reaches the queue dashboard and stays signed in', async (t) => {
  const admin = await createUser(env, { type: 'admin', password: null })
  const { page, violations } = await newPage()
  await signIn(page, admin.email)
  const refreshed = page.waitForResponse((res) => res.url() === `${origin}/auth/refresh`, { timeout: ACCESS_TTL * 1000 + 5000 })
  const frame = await dashboardFrame(page)
  t.equal(await frame.title(), 'Bull Dashboard', 'bull-board is loaded in the page')
  t.match(await textOf(page, '#who'), admin.email)

  const access = await cookieNamed(page, 'access_token')
  const refresh = await cookieNamed(page, 'refresh_token')
  t.ok(access?.httpOnly, 'the access token is an HttpOnly cookie')
  t.ok(refresh?.httpOnly, 'so is the refresh token')
  t.equal(refresh?.path, '/auth')
  const firstToken = access!.value

  // The page refreshes before the token expires: a new access cookie, no sign-in.
  t.equal((await refreshed).status(), 200, 'refreshed silently')
  const { exp } = JSON.parse(Buffer.from(firstToken.split('.')[1]!, 'base64url').toString()) as { exp: number }
  await sleep(Math.max(0, exp * 1000 + 1000 - Date.now()))
  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(firstToken) })).statusCode, 401, 'the first access token has expired')
  t.not((await cookieNamed(page, 'access_token'))?.value, firstToken, 'the browser holds a newer one')
  const reloaded = await frame.goto(`${origin}/admin/queues`)
  t.equal(reloaded?.status(), 200, 'the dashboard still loads after the first token expired')
  await dashboardFrame(page)
  const api = await page.evaluate('fetch("/admin/queues/api/queues").then((res) => res.status)')
  t.equal(api, 200, 'and so does its API')
  // The dashboard's actions are cookie-authenticated writes: they pass the CSRF check from this origin.
  const paused = await frame.evaluate('fetch("/admin/queues/api/queues/files/pause", { method: "PUT" }).then((res) => res.status)')
  t.equal(paused, 200, 'a queue paused from the dashboard')
  const files = Object.values(env.app.queues).find((queue) => queue.name === 'files')!
  t.ok(await files.isPaused(), 'is paused')
  await files.resume()
  t.same(await violations(), [], 'no CSP violation on the admin page')

  // Past its expiry the browser drops the access cookie (a laptop asleep, the refresh timer
  // stopped): the dashboard answers 401, its page refreshes once and loads again.
  await page.browserContext().deleteCookie((await cookieNamed(page, 'access_token'))!)
  const refused = await page.goto(`${origin}/admin/queues`)
  t.equal(refused?.status(), 401, 'without the access cookie: 401')
  await page.waitForFunction('document.title === "Bull Dashboard" && document.body.innerText.includes("session-cleanup")', { timeout: 15000 })
  t.pass('one refresh later the dashboard loads')

  // Opened again, /admin finds the session and shows the dashboard; signing out ends it.
  await page.goto(`${origin}/admin`)
  await dashboardFrame(page)
  await page.click('#sign-out')
  await page.waitForSelector('#email-form:not([hidden])')
  t.equal(await textOf(page, '#message'), 'You are signed out.')
  const after = await page.goto(`${origin}/admin/queues`)
  t.equal(after?.status(), 401, 'the dashboard refuses the signed-out browser')
  await sleep(500)
  t.equal(await textOf(page, '#message'), 'You are not signed in, or your sign-in has ended.')
  t.equal(await page.evaluate('location.pathname'), '/admin/queues', 'no reload loop')
  await page.browserContext().close()
})

for (const type of ['customer', 'vendor'] as const) {
  t.test(`a ${type} signing in at /admin is told the dashboard is for platform admins, and is refused there`, async (t) => {
    const user = await createUser(env, { type })
    const { page, violations } = await newPage()
    await signIn(page, user.email)
    await page.waitForSelector('#refused:not([hidden])')
    t.match(await textOf(page, '#refused-text'), `You are signed in as ${user.email}, a ${type} account. The queue dashboard is for platform admins only; sign out to use another account.`)
    t.equal(await page.$eval('#dashboard-frame', (frame) => frame.getAttribute('src')), null, 'no dashboard is framed')
    t.same(await violations(), [])

    const res = await page.goto(`${origin}/admin/queues`)
    t.equal(res?.status(), 403)
    t.match(await textOf(page, '#message'), 'not a platform admin')
    const api = await page.evaluate('fetch("/admin/queues/api/queues").then(async (res) => [res.status, (await res.json()).code])')
    t.same(api, [403, 'FORBIDDEN'], 'the dashboard API refuses too')
    await page.browserContext().close()
  })
}

t.test('a signed-out visitor is refused at /admin/queues and pointed to /admin', async (t) => {
  const { page } = await newPage()
  const res = await page.goto(`${origin}/admin/queues`)
  t.equal(res?.status(), 401)
  t.equal(await textOf(page, '#message'), 'You are not signed in, or your sign-in has ended.')
  t.equal(await page.$eval('a[href="/admin"]', (link) => link.textContent), 'Sign in as a platform admin at /admin')
  await page.browserContext().close()
})

t.test('opened on another origin than PUBLIC_URL, /admin links to PUBLIC_URL', async (t) => {
  const { page } = await newPage()
  await page.goto(`http://localhost:${port}/admin`)
  await page.waitForSelector('#wrong-origin:not([hidden])')
  t.equal(await textOf(page, '#public-link'), `${origin}/admin`)
  await page.browserContext().close()
})
