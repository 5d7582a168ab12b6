// The page's script: calls the JSON endpoints of the same origin and shows the state.
// No framework and no inline code, so the page runs under `default-src 'self'`.
'use strict';

const $ = (id) => document.getElementById(id);

// On a multi-user server the page is at /users/{id}/ and the endpoints under it.
const BASE = (location.pathname.match(/^\/users\/[^/]+/) || [''])[0];

async function api(method, path, body) {
  const options = { method, credentials: 'same-origin', headers: {} };
  if (method !== 'GET') {
    // The server requires the JSON content type on every state-changing request.
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body || {});
  }
  const response = await fetch(BASE + path, options);
  let data = {};
  try {
    data = await response.json();
  } catch (e) {
    data = { message: 'The server sent no JSON (' + response.status + ').' };
  }
  return { ok: response.ok, status: response.status, data };
}

function say(text, ok) {
  const m = $('message');
  m.textContent = text || '';
  m.className = ok ? 'ok' : 'error';
}

function showRules(violations, id) {
  const list = $(id || 'rules');
  list.replaceChildren();
  for (const v of violations || []) {
    const li = document.createElement('li');
    li.textContent = v.message;
    li.dataset.code = v.code;
    list.appendChild(li);
  }
}

function show(section, visible) {
  $(section).hidden = !visible;
}

// Whether this page's login is waiting for a passphrase: the server says so in its answer
// to the login, and never to a client that is not signed in.
let pendingLogin = false;

async function refresh() {
  const { data } = await api('GET', '/auth/status');
  const signedIn = data.authenticated === true;
  const label = signedIn
    ? ({ no_credentials: 'No credentials stored', locked: 'Locked', unlocked: 'Unlocked' }[data.state]
      || String(data.state))
    : 'Signed out';
  $('state').textContent = label;
  $('state').dataset.state = data.state;
  // Signed out, the page offers both ways in: unlock stored credentials, or store them.
  show('unlock-section', !signedIn && !pendingLogin);
  show('login-section', !signedIn && !pendingLogin);
  show('recover-section', !signedIn && !pendingLogin);
  show('passphrase-section', !signedIn && pendingLogin);
  show('unlocked-section', signedIn);
  if (signedIn) {
    pendingLogin = false;
    await Promise.all([loadTotp(), loadSessions(), loadSlots()]);
  }
  await loadSecurity();
}

async function loadTotp() {
  const { ok, data } = await api('GET', '/auth/totp');
  $('totp-code').textContent = ok ? data.code : '—';
  $('totp-left').textContent = ok
    ? '(' + data.seconds_left + ' s left)'
    : '(' + (data.message || 'unavailable') + ')';
}

async function loadSessions() {
  const { ok, data } = await api('GET', '/auth/sessions');
  const list = $('sessions');
  list.replaceChildren();
  if (!ok) return;
  for (const s of data.sessions) {
    const li = document.createElement('li');
    const kind = s.kind === 'api_token' ? 'API token (' + s.scopes.join(', ') + '): ' : '';
    li.textContent = kind + s.label + (s.current ? ' (this browser) ' : ' ');
    li.dataset.id = s.id;
    const revoke = document.createElement('button');
    revoke.type = 'button';
    revoke.textContent = 'Revoke';
    revoke.className = 'revoke';
    revoke.addEventListener('click', async () => {
      const r = await api('DELETE', '/auth/sessions/' + encodeURIComponent(s.id));
      say(r.ok ? 'Session revoked.' : r.data.message, r.ok);
      await refresh();
    });
    li.appendChild(revoke);
    list.appendChild(li);
  }
}

// A recovery key, shown once: the server keeps no copy.
function showKey(key, notice) {
  $('recovery-key').textContent = key;
  $('recovery-key-notice').textContent = notice;
  show('recovery-key-section', true);
}

function forgetKey() {
  $('recovery-key').textContent = '';
  $('recovery-key-notice').textContent = '';
  show('recovery-key-section', false);
}

function when(secs) {
  return secs ? new Date(secs * 1000).toLocaleString() : 'never';
}

async function loadSlots() {
  const { ok, data } = await api('GET', '/auth/slots');
  const list = $('slots');
  list.replaceChildren();
  if (!ok) return;
  const kinds = { passphrase: 'Passphrase', recovery_key: 'Recovery key', secret: 'Device secret' };
  for (const s of data.slots) {
    const li = document.createElement('li');
    li.dataset.id = s.id;
    li.dataset.kind = s.kind;
    li.textContent = (kinds[s.kind] || s.kind) + ': ' + s.label + ', created ' + when(s.created_at)
      + ', last used ' + when(s.last_used_at) + ' ';
    if (s.kind !== 'passphrase') {
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = 'Remove';
      remove.className = 'remove-slot';
      remove.addEventListener('click', async () => {
        const r = await api('DELETE', '/auth/slots/' + encodeURIComponent(s.id));
        say(r.ok ? 'Removed: it opens nothing from now on.' : r.data.message, r.ok);
        await refresh();
      });
      li.appendChild(remove);
    }
    list.appendChild(li);
  }
}

async function loadSecurity() {
  const { ok, data } = await api('GET', '/security/status');
  const dl = $('security');
  dl.replaceChildren();
  if (!ok) return;
  // Signed out, the report holds the configuration only.
  const rows = [
    ['Key derivation', data.key_derivation],
    ['Encryption', data.encryption_algorithm || (data.authenticated ? 'nothing stored yet' : 'Fernet')],
    ['File permissions', data.file_permissions || '—'],
    ['Failed attempts', data.report ? String(data.report.failed_attempts) : '—'],
    ['Lockout', data.lockout
      ? 'after ' + data.lockout.max_attempts + ' failures, ' + data.lockout.base_delay_secs + ' s and more'
      : 'off'],
    ['Per-client limit', data.rate_limiting.passphrase_attempts_per_client],
    ['Key provider', data.key_provider || 'none'],
  ];
  for (const [k, v] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    dl.append(dt, dd);
  }
}

function onSubmit(form, handler) {
  $(form).addEventListener('submit', async (event) => {
    event.preventDefault();
    await handler();
  });
}

onSubmit('login-form', async () => {
  const r = await api('POST', '/auth/login', {
    email: $('login-email').value,
    password: $('login-password').value,
    mfa_secret: $('login-mfa').value,
    mfa_mode: 'secret',
  });
  $('login-password').value = '';
  $('login-mfa').value = '';
  pendingLogin = r.ok;
  say(r.data.message, r.ok);
  await refresh();
});

onSubmit('passphrase-form', async () => {
  const r = await api('POST', '/auth/set-passphrase', { passphrase: $('new-passphrase').value });
  showRules(r.ok ? [] : r.data.violations);
  if (r.ok) $('new-passphrase').value = '';
  say(r.data.message, r.ok);
  await refresh();
});

onSubmit('unlock-form', async () => {
  const r = await api('POST', '/auth/unlock', { passphrase: $('unlock-passphrase').value });
  $('unlock-passphrase').value = '';
  say(r.data.message, r.ok);
  await refresh();
});

onSubmit('recover-form', async () => {
  const r = await api('POST', '/auth/recover', {
    recovery_key: $('recover-key').value,
    passphrase: $('recover-passphrase').value,
  });
  showRules(r.ok ? [] : r.data.violations, 'recover-rules');
  if (r.ok) {
    $('recover-key').value = '';
    $('recover-passphrase').value = '';
    showKey(r.data.recovery_key, r.data.message);
  }
  say(r.ok ? 'Passphrase changed: signed in.' : r.data.message, r.ok);
  await refresh();
});

onSubmit('recovery-key-form', async () => {
  const r = await api('POST', '/auth/recovery-key', { label: $('recovery-key-label').value });
  if (r.ok) {
    $('recovery-key-label').value = '';
    showKey(r.data.recovery_key, r.data.message);
  }
  say(r.ok ? 'Recovery key created.' : r.data.message, r.ok);
  await refresh();
});

$('recovery-key-done').addEventListener('click', forgetKey);

$('lock-button').addEventListener('click', async () => {
  forgetKey();
  const r = await api('POST', '/auth/lock');
  say(r.ok ? 'Locked.' : r.data.message, r.ok);
  await refresh();
});

$('logout-button').addEventListener('click', async () => {
  forgetKey();
  const r = await api('POST', '/auth/logout');
  say(r.ok ? 'Logged out: the credentials are deleted.' : r.data.message, r.ok);
  await refresh();
});

refresh();
