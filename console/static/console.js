// The helpdesk console's only script: the WebAuthn ceremonies (enrolling
// a passkey, signing in) and the print button. No inline script anywhere:
// the Content-Security-Policy forbids it.
"use strict";

function say(text) {
  const s = document.getElementById("status");
  if (s) s.textContent = text;
}

async function post(path, body, csrf) {
  const headers = { "Content-Type": "application/json" };
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const r = await fetch(path, {
    method: "POST",
    headers: headers,
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  const out = await r.json();
  if (!r.ok) throw new Error(out.error || "The console refused the request.");
  return out;
}

async function enrol(form) {
  const token = form.dataset.token;
  const name = document.getElementById("keyname").value;
  say("Follow your browser's prompt to create the passkey…");
  const opts = await post("/console/enrol/options", { token: token, name: name });
  const cred = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(opts.publicKey),
  });
  const out = await post("/console/enrol/finish", { token: token, name: name, credential: cred.toJSON() });
  location.assign(out.next);
}

// addPasskey adds another passkey for the signed-in staff member.
async function addPasskey(form) {
  const csrf = form.querySelector("input[name=csrf]").value;
  const name = document.getElementById("keyname").value;
  say("Follow your browser's prompt to create the passkey…");
  const opts = await post("/console/passkeys/options", {}, csrf);
  const cred = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(opts.publicKey),
  });
  const out = await post("/console/passkeys/finish", { name: name, credential: cred.toJSON() }, csrf);
  location.assign(out.next);
}

async function signIn() {
  say("Follow your browser's prompt to use your passkey…");
  const opts = await post("/console/signin/options", {});
  const cred = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(opts.publicKey),
  });
  const out = await post("/console/signin/finish", cred.toJSON());
  location.assign(out.next);
}

document.addEventListener("DOMContentLoaded", function () {
  const form = document.getElementById("enrol");
  if (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      enrol(form).catch(function (err) { say(err.message); });
    });
  }
  const add = document.getElementById("addkey");
  if (add) {
    add.addEventListener("submit", function (e) {
      e.preventDefault();
      addPasskey(add).catch(function (err) { say(err.message); });
    });
  }
  const btn = document.getElementById("signin");
  if (btn) {
    btn.addEventListener("click", function () {
      signIn().catch(function (err) { say(err.message); });
    });
  }
  const pr = document.getElementById("print");
  if (pr) pr.addEventListener("click", function () { window.print(); });
});
