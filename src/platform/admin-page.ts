import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ADMIN_SCRIPT } from './admin-page-script.ts'

// GET /admin: where a platform admin signs in from a browser (an emailed code, cookie mode) and
// uses the queue dashboard, framed below a bar that keeps the session fresh. One HTML page, one
// script, one stylesheet, all from this origin under a CSP without inline code. The page must
// be opened on PUBLIC_URL's origin: the CSRF check accepts cookie requests from there only.

const STYLES = `
*{box-sizing:border-box}
html,body{height:100%;margin:0}
body{display:flex;flex-direction:column;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;background:#f5f6f8}
header{display:flex;align-items:center;gap:1rem;padding:.5rem 1rem;background:#1d2330;color:#fff}
header strong{margin-right:auto}
main{flex:1;display:flex;flex-direction:column}
form,section.note{max-width:26rem;margin:3rem auto 0;padding:1.5rem;background:#fff;border:1px solid #d8dce3;border-radius:6px}
h1{font-size:1.3rem;margin:0 0 1rem}
label{display:block;margin-bottom:.75rem}
input{display:block;width:100%;margin-top:.25rem;padding:.45rem;font:inherit;border:1px solid #b9c0cc;border-radius:4px}
button{font:inherit;padding:.4rem .9rem;border:1px solid #8a93a3;border-radius:4px;background:#fff;color:#1d2330;cursor:pointer}
form button[type=submit]{background:#2457c5;border-color:#2457c5;color:#fff}
header button{background:transparent;border-color:#8a93a3;color:#fff}
#message{max-width:26rem;margin:1rem auto 0;text-align:center}
#message:empty{display:none}
#message.error{color:#b3261e}
#dashboard{flex:1;display:flex;flex-direction:column}
#dashboard p{margin:.25rem 1rem;font-size:.85rem}
#dashboard iframe{flex:1;width:100%;border:0}
[hidden]{display:none !important}
`

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "frame-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

const version = (text: string): string => createHash('sha256').update(text).digest('base64url').slice(0, 16)
const SCRIPT_URL = `/admin/assets/admin.js?v=${version(ADMIN_SCRIPT)}`
const STYLES_URL = `/admin/assets/admin.css?v=${version(STYLES)}`

function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function htmlDocument (title: string, bodyAttributes: Record<string, string>, content: string): string {
  const attributes = Object.entries(bodyAttributes).map(([name, value]) => ` data-${name}="${escapeHtml(value)}"`).join('')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${STYLES_URL}">
<script defer src="${SCRIPT_URL}"></script>
</head>
<body${attributes}>
${content}
</body>
</html>
`
}

function shellPage (publicOrigin: string, accessTokenTtl: number): string {
  return htmlDocument('Bazaar admin', { page: 'shell', 'public-origin': publicOrigin, 'access-ttl': String(accessTokenTtl) }, `<header>
  <strong>Bazaar admin</strong>
  <span id="who"></span>
  <button id="sign-out" type="button" hidden>Sign out</button>
</header>
<main>
<noscript><p>This page needs JavaScript.</p></noscript>
<p id="message" role="status" aria-live="polite"></p>
<form id="email-form" hidden>
  <h1>Sign in</h1>
  <label>Email <input name="email" type="email" autocomplete="username" required></label>
  <button type="submit">Email me a code</button>
</form>
<form id="code-form" hidden>
  <h1>Enter your code</h1>
  <p>A 6-digit code was sent to <b id="code-email"></b>. It works for 10 minutes.</p>
  <label>Code <input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required></label>
  <button type="submit">Sign in</button>
  <button id="other-email" type="button">Use another email</button>
</form>
<section id="refused" class="note" hidden>
  <h1>Platform admins only</h1>
  <p id="refused-text"></p>
</section>
<section id="wrong-origin" class="note" hidden>
  <h1>Open this page on the public address</h1>
  <p>Sign-in cookies are accepted only on the API's public address (PUBLIC_URL): <a id="public-link"></a></p>
</section>
<section id="dashboard" hidden>
  <p>Queue dashboard: <a href="/admin/queues" target="_blank" rel="noopener">open it in a tab of its own</a> (it stays signed in while this page is open).</p>
  <iframe id="dashboard-frame" title="Queue dashboard"></iframe>
</section>
</main>`)
}

/**
 * What /admin/queues answers a browser it refuses (same status): why, and the way to /admin.
 * On a 401 the script refreshes the session once and reloads.
 */
export function refusalPage (status: number, detail: string): string {
  const message = status === 401
    ? 'You are not signed in, or your sign-in has ended.'
    : status === 403 ? 'This account is not a platform admin: the queue dashboard is for platform admins only.' : detail
  return htmlDocument('Queue dashboard', { page: 'refused', status: String(status) }, `<main>
<section class="note">
  <h1>Queue dashboard</h1>
  <p id="message">${escapeHtml(message)}</p>
  <p><a href="/admin" target="_top">Sign in as a platform admin at /admin</a></p>
</section>
</main>`)
}

/** A fixed asset: revalidated by ETag, answered 304 when unchanged. */
function asset (type: string, text: string) {
  const etag = `"${version(text)}"`
  return async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-cache').header('etag', etag)
    if (request.headers['if-none-match'] === etag) return reply.code(304).send()
    return reply.type(type).send(text)
  }
}

export default async function adminPage (app: FastifyInstance): Promise<void> {
  const html = shellPage(new URL(app.config.publicUrl).origin, app.config.accessTokenTtl)
  const hide = { schema: { hide: true } }
  app.get('/admin', hide, async (_request, reply) => reply
    .header('content-security-policy', CSP)
    .header('cache-control', 'no-cache')
    .type('text/html; charset=utf-8')
    .send(html))
  app.get('/admin/assets/admin.js', hide, asset('text/javascript; charset=utf-8', ADMIN_SCRIPT))
  app.get('/admin/assets/admin.css', hide, asset('text/css; charset=utf-8', STYLES))
}
