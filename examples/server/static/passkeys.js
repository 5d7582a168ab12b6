// Passkeys on the page: add one (signed in), unlock with one (signed out), list and remove
// them. Uses `api`, `say` and `refresh` from app.js. The server's options are WebAuthn
// Level 3 JSON; what is posted is `credential.toJSON()` with the PRF results (unpadded
// base64url) under `clientExtensionResults.prf`.
'use strict';

function base64url(buffer) {
  let text = '';
  for (const b of new Uint8Array(buffer)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// What `toJSON()` gives, built by hand (for a browser whose `toJSON()` throws on an
// extension result).
function byHand(credential) {
  const r = credential.response;
  const response = { clientDataJSON: base64url(r.clientDataJSON) };
  if (r.attestationObject) response.attestationObject = base64url(r.attestationObject);
  if (r.authenticatorData) response.authenticatorData = base64url(r.authenticatorData);
  if (r.signature) response.signature = base64url(r.signature);
  if (r.userHandle) response.userHandle = base64url(r.userHandle);
  return { id: credential.id, rawId: base64url(credential.rawId), type: credential.type, response };
}

// The credential as JSON, the PRF extension's outputs included (encoded here, whatever
// `toJSON()` does with them), and whether it carried PRF results.
function credentialJson(credential) {
  let json;
  try {
    json = credential.toJSON();
  } catch (e) {
    json = byHand(credential);
  }
  const prf = credential.getClientExtensionResults().prf;
  json.clientExtensionResults = json.clientExtensionResults || {};
  if (prf) {
    const out = {};
    if (prf.enabled !== undefined) out.enabled = prf.enabled;
    if (prf.results) {
      out.results = { first: base64url(prf.results.first) };
      if (prf.results.second) out.results.second = base64url(prf.results.second);
    }
    json.clientExtensionResults.prf = out;
  }
  $('passkeys-section').dataset.prf = prf && (prf.enabled || prf.results) ? 'yes' : 'no';
  return json;
}

function passkeysSupported() {
  return window.PublicKeyCredential
    && typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function'
    && typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function';
}

async function create(options) {
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options);
  return credentialJson(await navigator.credentials.create({ publicKey }));
}

async function get(options) {
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options);
  return credentialJson(await navigator.credentials.get({ publicKey }));
}

// Runs the steps of a ceremony; the first failure is shown.
async function ceremony(steps) {
  if (!passkeysSupported()) {
    say('This browser cannot use passkeys here.', false);
    return null;
  }
  try {
    return await steps();
  } catch (e) {
    say('The passkey ceremony failed: ' + (e && e.name ? e.name : e), false);
    return null;
  }
}

function when(ms) {
  return ms ? new Date(ms).toLocaleString() : 'never';
}

async function loadPasskeys() {
  const { ok, data } = await api('GET', '/auth/passkeys');
  const list = $('passkeys');
  list.replaceChildren();
  if (!ok) return;
  for (const p of data.passkeys) {
    const li = document.createElement('li');
    li.dataset.id = p.id;
    li.textContent = p.label + ' (last used: ' + when(p.last_used_at_ms) + ') ';
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'remove';
    remove.textContent = 'Remove';
    remove.addEventListener('click', async () => {
      const r = await api('DELETE', '/auth/passkeys/' + encodeURIComponent(p.id));
      say(r.ok ? 'Passkey removed; the vault\'s key was rotated.' : r.data.message, r.ok);
      await refresh();
      await loadPasskeys();
    });
    li.appendChild(remove);
    list.appendChild(li);
  }
  list.dataset.count = String(data.passkeys.length);
}

$('passkey-add').addEventListener('click', () => ceremony(async () => {
  const label = $('passkey-label').value.trim();
  if (!label) return say('A label is required.', false);
  let r = await api('POST', '/auth/passkeys/register/options', {});
  if (!r.ok) return say(r.data.message, false);
  const created = await create(r.data.publicKey);
  r = await api('POST', '/auth/passkeys/register', { ceremony: r.data.ceremony, credential: created });
  if (!r.ok) return say(r.data.message, false);
  const asserted = await get(r.data.publicKey);
  r = await api('POST', '/auth/passkeys/enrol', { ceremony: r.data.ceremony, credential: asserted, label });
  say(r.ok ? 'Passkey added.' : r.data.message, r.ok);
  if (r.ok) $('passkey-label').value = '';
  await loadPasskeys();
}));

$('passkey-unlock').addEventListener('click', () => ceremony(async () => {
  let r = await api('POST', '/auth/passkeys/unlock/options', {});
  if (!r.ok) return say(r.data.message, false);
  const asserted = await get(r.data.publicKey);
  r = await api('POST', '/auth/passkeys/unlock', { ceremony: r.data.ceremony, credential: asserted });
  say(r.data.message, r.ok);
  await refresh();
}));

// Follows the state app.js shows: the unlock button when signed out, the list when unlocked.
function follow() {
  const state = $('state').dataset.state;
  $('passkeys-section').hidden = state !== 'signed_out' && state !== 'unlocked';
  $('passkey-unlock-part').hidden = state !== 'signed_out';
  $('passkey-manage-part').hidden = state !== 'unlocked';
  if (state === 'unlocked') loadPasskeys();
}

new MutationObserver(follow).observe($('state'), { attributes: true, attributeFilter: ['data-state'] });
follow();
