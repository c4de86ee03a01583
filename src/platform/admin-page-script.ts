// The script of the admin pages (platform/admin-page.ts), sent as /admin/assets/admin.js: plain
// browser JavaScript kept as text, because the build compiles TypeScript only and copies no
// other file. It signs in with an emailed code in cookie mode (the tokens stay in HttpOnly
// cookies), refreshes before the access token expires, and on a 401 refreshes once and retries.
// Two pages use it: the /admin shell (body data-page="shell") and the refusal page of
// /admin/queues (data-page="refused"), which after a 401 refreshes once and reloads, so a
// dashboard tab outliving its access token recovers by itself. No template literals below.

export const ADMIN_SCRIPT = String.raw`'use strict'
;(function () {
  var body = document.body
  var byId = function (id) { return document.getElementById(id) }

  function csrfToken () {
    var match = /(?:^|;\s*)csrf_token=([^;]*)/.exec(document.cookie)
    return match ? decodeURIComponent(match[1]) : ''
  }

  // One request; never throws: a network failure is status 0.
  function call (method, path, payload) {
    var headers = { accept: 'application/json' }
    // Browsers send Origin on a POST; the header is the fallback the CSRF check also accepts.
    if (method !== 'GET') headers['x-csrf-token'] = csrfToken()
    if (payload) headers['content-type'] = 'application/json'
    return fetch(path, { method: method, headers: headers, credentials: 'same-origin', body: payload ? JSON.stringify(payload) : undefined })
      .then(function (res) {
        return res.text().then(function (text) {
          var data = null
          try { data = text ? JSON.parse(text) : null } catch (e) {}
          return { status: res.status, data: data }
        })
      }, function () { return { status: 0, data: null } })
  }

  var refreshTimer = null
  var refreshDue = Infinity

  // Refreshes the cookies; schedules the next refresh when it worked.
  function refresh () {
    return call('POST', '/auth/refresh').then(function (res) {
      if (res.status === 200) schedule(res.data.expiresIn)
      return res
    })
  }

  // A signed-in request: on a 401 (an access token that expired while no timer could run, a
  // laptop asleep), one refresh and one retry.
  function signedInCall (method, path, payload) {
    return call(method, path, payload).then(function (res) {
      if (res.status !== 401) return res
      return refresh().then(function (refreshed) {
        return refreshed.status === 200 ? call(method, path, payload) : res
      })
    })
  }

  function problemText (res, fallback) {
    if (res.status === 0) return 'The server could not be reached; try again.'
    return (res.data && res.data.detail) || fallback
  }

  if (body.dataset.page === 'refused') {
    // Refused with 401: maybe only the access token expired. Refresh once, then load again;
    // the stamp keeps a refresh that does not help from reloading forever.
    var key = 'bazaar-admin-retried'
    var last = Number(sessionStorage.getItem(key) || 0)
    if (body.dataset.status === '401' && csrfToken() && Date.now() - last > 10000) {
      sessionStorage.setItem(key, String(Date.now()))
      byId('message').textContent = 'Renewing your sign-in...'
      refresh().then(function (res) {
        if (res.status === 200) return location.reload()
        byId('message').textContent = 'You are not signed in, or your sign-in has ended.'
      })
    }
    return
  }

  var views = ['email-form', 'code-form', 'refused', 'wrong-origin', 'dashboard']
  function show (view, message, isError) {
    for (var i = 0; i < views.length; i++) byId(views[i]).hidden = views[i] !== view
    var line = byId('message')
    line.textContent = message || ''
    line.className = isError ? 'error' : ''
  }

  function schedule (expiresIn) {
    clearTimeout(refreshTimer)
    // Well before expiry: a background tab's timers may run up to a minute late.
    var seconds = Math.max(expiresIn - 60, expiresIn * 0.8)
    refreshDue = Date.now() + seconds * 1000
    refreshTimer = setTimeout(keepAlive, seconds * 1000)
  }

  function stopRefreshing () {
    clearTimeout(refreshTimer)
    refreshDue = Infinity
  }

  function keepAlive () {
    refresh().then(function (res) {
      if (res.status === 200) return
      if (res.status === 401 || res.status === 403) return signedOut('Your session has ended; sign in again.', true)
      // The server is unreachable or busy: try again shortly, the session may still live.
      refreshDue = Date.now() + 15000
      refreshTimer = setTimeout(keepAlive, 15000)
    })
  }

  // A hidden tab's timers are throttled: catch up as soon as it is seen again.
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible' && Date.now() >= refreshDue) {
      clearTimeout(refreshTimer)
      keepAlive()
    }
  })

  function signedOut (message, isError) {
    stopRefreshing()
    var frame = byId('dashboard-frame')
    frame.removeAttribute('src')
    byId('who').textContent = ''
    byId('sign-out').hidden = true
    show('email-form', message, isError)
  }

  function enter (user) {
    byId('who').textContent = user.email
    byId('sign-out').hidden = false
    if (user.type !== 'admin') {
      stopRefreshing()
      byId('refused-text').textContent = 'You are signed in as ' + user.email + ', a ' + user.type +
        ' account. The queue dashboard is for platform admins only; sign out to use another account.'
      return show('refused', '')
    }
    var frame = byId('dashboard-frame')
    if (!frame.getAttribute('src')) frame.setAttribute('src', '/admin/queues')
    show('dashboard', '')
  }

  function loadSignedInUser () {
    return signedInCall('GET', '/auth/me').then(function (res) {
      if (res.status === 200) return enter(res.data.user)
      signedOut(res.status === 401 ? '' : problemText(res, 'Could not load your account.'), true)
    })
  }

  var email = ''
  byId('email-form').addEventListener('submit', function (event) {
    event.preventDefault()
    email = event.target.elements.email.value.trim()
    call('POST', '/auth/otp/send', { email: email }).then(function (res) {
      if (res.status !== 202) return show('email-form', problemText(res, 'The code could not be sent.'), true)
      byId('code-email').textContent = email
      byId('code-form').reset()
      show('code-form', '')
      byId('code-form').elements.code.focus()
    })
  })

  byId('code-form').addEventListener('submit', function (event) {
    event.preventDefault()
    var code = event.target.elements.code.value.trim()
    call('POST', '/auth/otp/verify', { email: email, code: code, mode: 'cookie' }).then(function (res) {
      if (res.status !== 200) return show('code-form', problemText(res, 'That code did not work.'), true)
      schedule(Number(body.dataset.accessTtl))
      enter(res.data.user)
    })
  })

  byId('other-email').addEventListener('click', function () { show('email-form', '') })

  byId('sign-out').addEventListener('click', function () {
    signedInCall('POST', '/auth/logout').then(function () { signedOut('You are signed out.') })
  })

  // The cookies are only sent back, and the CSRF check only passes, on PUBLIC_URL's origin.
  if (location.origin !== body.dataset.publicOrigin) {
    var link = byId('public-link')
    link.href = body.dataset.publicOrigin + '/admin'
    link.textContent = link.href
    return show('wrong-origin', '')
  }
  // No csrf_token cookie: never signed in here (it lives as long as the refresh cookie).
  if (!csrfToken()) return show('email-form', '')
  refresh().then(function (res) {
    if (res.status === 200) return loadSignedInUser()
    show('email-form', '')
  })
})()
`
