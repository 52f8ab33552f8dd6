// The helpdesk console's only script: the WebAuthn ceremonies (enrolling
// a passkey, signing in) and the print button. No inline script anywhere:
// the Content-Security-Policy forbids it.
"use strict";

function say(text) {
  const s = document.getElementById("status");
  if (s) s.textContent = text;
}

async function post(path, body) {
  const r = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
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
  const btn = document.getElementById("signin");
  if (btn) {
    btn.addEventListener("click", function () {
      signIn().catch(function (err) { say(err.message); });
    });
  }
  const pr = document.getElementById("print");
  if (pr) pr.addEventListener("click", function () { window.print(); });
});
