package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey/hidroute"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
)

const testRPID = "tapkiosk.test"

var aaguid = uuid.UUID(virtualkey.DefaultAAGUID).String()

// testTrust trusts the virtual keys' test CA through a PEM bundle, as an
// admin would configure --attestation-roots.
func testTrust(t testing.TB) *recovery.Trust {
	t.Helper()
	ca, err := virtualkey.TestCA()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "roots.pem")
	os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o600)
	tr, err := recovery.LoadTrust(p, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

var keySeq atomic.Int64

// plugKey routes real libfido2 to a fresh virtual key with a PIN.
func plugKey(t testing.TB, o virtualkey.Options) (string, *virtualkey.Key) {
	t.Helper()
	o.TouchDelay = time.Millisecond
	path, k := hidroute.PlugNew(t, o)
	if err := fido.SetPIN(path, "2468"); err != nil {
		t.Fatal(err)
	}
	return path, k
}

// signIn gives upn a pass and opens a session at the kiosk.
func (e *env) signIn(upn string) *api.Client {
	e.t.Helper()
	if _, err := e.admin.GetUser(bg, upn); err != nil {
		e.addUser(api.User{UserPrincipalName: upn, DisplayName: "Person " + upn})
	}
	e.enablePolicy()
	p := e.newPass(upn, api.CreatePassRequest{})
	k := e.fresh(e.kiosk)
	if _, err := k.OpenSession(bg, upn, *p.TemporaryAccessPass); err != nil {
		e.t.Fatal(err)
	}
	return k
}

// keyResponse runs the kiosk's half: options from tapd, a registration
// from the key through libfido2.
func keyResponse(t testing.TB, k *api.Client, path string, tweak func(*api.CreationOptions) string) (json.RawMessage, api.CreationOptions) {
	t.Helper()
	opts, err := k.CreationOptions(bg)
	if err != nil {
		t.Fatal(err)
	}
	origin := "https://" + opts.PublicKey.RelyingParty.ID
	if tweak != nil {
		if o := tweak(&opts); o != "" {
			origin = o
		}
	}
	reg, err := fido.Register(context.Background(), path, fido.RegisterRequest{Options: opts.PublicKey, Origin: origin, PIN: "2468"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(reg)
	return raw, opts
}

func register(t testing.TB, k *api.Client, path string) api.FIDO2Method {
	t.Helper()
	raw, _ := keyResponse(t, k, path, nil)
	m, err := k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw, KeyModel: "Virtual Key 5"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFIDO2Journey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		path, _ := plugKey(t, virtualkey.Options{})
		upn := "ada@example.com"
		k := e.signIn(upn)
		u, _ := e.st.GetUser(bg, upn)
		if err := e.st.CreateMethod(bg, store.Method{ID: "old-key", UPN: upn, Kind: "fido2", DisplayName: "Lost key", CreatedAt: e.clock.Now().Add(-48 * time.Hour),
			CredentialID: []byte("lost-credential"), PublicKey: []byte{1}, AAGUID: aaguid}); err != nil {
			t.Fatal(err)
		}

		// Options: Graph's shape and the rules.
		opts, err := k.CreationOptions(bg)
		if err != nil {
			t.Fatal(err)
		}
		pk := opts.PublicKey
		uh, _ := json.Marshal(pk.User.ID)
		if pk.RelyingParty.ID != testRPID || strings.Contains(string(uh), "ada") || pk.User.Name != u.UPN ||
			pk.AuthenticatorSelection.ResidentKey != protocol.ResidentKeyRequirementRequired ||
			pk.AuthenticatorSelection.UserVerification != protocol.VerificationRequired || pk.Attestation != protocol.PreferDirectAttestation ||
			len(pk.Parameters) != 3 || pk.Parameters[0].Algorithm != -7 || pk.Parameters[1].Algorithm != -8 || pk.Parameters[2].Algorithm != -257 ||
			len(pk.CredentialExcludeList) != 1 || !opts.ChallengeTimeoutDateTime.Equal(e.clock.Now().Add(5*time.Minute).Truncate(time.Millisecond)) {
			t.Fatalf("options %s", mustJSON(opts))
		}

		m := register(t, k, path)
		if m.AAGUID != aaguid || m.Model != "Virtual Key 5" || m.AttestationLevel != "attested" || m.DisplayName != "Virtual Key 5 2026-11-23" {
			t.Fatalf("method %+v", m)
		}
		// The user handle stays the same across ceremonies.
		opts2, _ := k.CreationOptions(bg)
		if uh2, _ := json.Marshal(opts2.PublicKey.User.ID); string(uh2) != string(uh) || len(opts2.PublicKey.CredentialExcludeList) != 2 {
			t.Fatalf("second options: handle %s vs %s, exclude %d", uh2, uh, len(opts2.PublicKey.CredentialExcludeList))
		}

		ms, err := k.SessionMethods(bg)
		if err != nil || len(ms) != 3 {
			t.Fatalf("methods %s %v", mustJSON(ms), err)
		}
		types := map[string]int{}
		for _, x := range ms {
			types[x.Type]++
			if x.ID == m.ID && !x.RegisteredThisSession {
				t.Fatal("the new key is not marked")
			}
			if x.Type == api.TypeTAP && (x.IsUsable == nil || x.StartDateTime == nil) {
				t.Fatalf("pass entry %+v", x)
			}
		}
		if types[api.TypeFIDO2] != 2 || types[api.TypeTAP] != 1 {
			t.Fatalf("types %v", types)
		}

		// The key check.
		ao, err := k.AssertionOptions(bg, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ao.PublicKey.RelyingPartyID != testRPID || len(ao.PublicKey.AllowedCredentials) != 1 {
			t.Fatalf("assertion options %s", mustJSON(ao))
		}
		as, err := fido.Assert(context.Background(), path, fido.AssertRequest{Options: ao.PublicKey, Origin: "https://" + testRPID, PIN: "2468"})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(as)
		kc, err := k.CheckKey(bg, m.ID, raw)
		if err != nil || !kc.Verified || !kc.UserVerified || kc.SignCount == 0 {
			t.Fatalf("check %+v %v", kc, err)
		}
		if _, err := k.CheckKey(bg, m.ID, raw); codeOf(err) != api.CodeChallengeInvalid {
			t.Fatalf("replayed assertion: %v", err)
		}
		stored, _ := e.st.GetMethod(bg, upn, m.ID)
		if stored.SignCount != kc.SignCount || stored.LastUsedAt == nil {
			t.Fatalf("sign count not stored: %+v", stored)
		}

		// Clean-up: the new key cannot go here; the lost one can.
		code(t, k.DeleteSessionMethod(bg, m.ID), 409, api.CodeMethodInUse)
		if err := k.DeleteSessionMethod(bg, "old-key"); err != nil {
			t.Fatal(err)
		}
		code(t, k.DeleteSessionMethod(bg, "old-key"), 404, api.CodeNotFound)
		list, _ := e.admin.ListPasses(bg, upn)
		code(t, k.DeleteSessionMethod(bg, list[0].ID), 409, api.CodeMethodInUse)

		// Deleting the pass ends the session at once.
		tok := k.SessionToken
		if err := k.DeleteSessionPass(bg); err != nil {
			t.Fatal(err)
		}
		k.SessionToken = tok
		_, err = k.CreationOptions(bg)
		code(t, err, 401, api.CodeInvalidSession)

		// What tapd stored and audited.
		am, _ := e.admin.UserMethods(bg, upn)
		if len(am) != 1 || am[0].ID != m.ID || am[0].RegisteredThisSession {
			t.Fatalf("admin view %s", mustJSON(am))
		}
		es, _ := e.admin.Audit(bg, api.AuditQuery{User: upn, Top: 100})
		seen := map[string]string{}
		for _, a := range es {
			if a.Result == "success" {
				seen[a.Action] = a.Details["aaGuid"]
			}
		}
		for _, a := range []string{api.ActionRegisterFIDO2, api.ActionCheckKey, api.ActionDeleteMethod} {
			if seen[a] != aaguid {
				t.Errorf("audit %s lacks the AAGUID (%v)", a, seen)
			}
		}
	})
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func codeOf(err error) api.Code {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return api.Code(fmt.Sprint(err))
}

func TestAttestationFormatsAndEnforcement(t *testing.T) {
	e := newEnv(t, "sqlite")
	for _, tc := range []struct{ format, level string }{{"packed", "attested"}, {"self", "notAttested"}, {"fido-u2f", "attested"}, {"none", "notAttested"}} {
		t.Run(tc.format, func(t *testing.T) {
			path, _ := plugKey(t, virtualkey.Options{Attestation: tc.format})
			k := e.signIn(tc.format + "@example.com")
			m := register(t, k, path)
			if m.AttestationLevel != tc.level {
				t.Fatalf("level %s", m.AttestationLevel)
			}
			// Enforced: only attested keys are accepted.
			enforced := true
			e.admin.UpdateFIDO2Policy(bg, api.FIDO2PolicyPatch{IsAttestationEnforced: &enforced})
			defer func() { off := false; e.admin.UpdateFIDO2Policy(bg, api.FIDO2PolicyPatch{IsAttestationEnforced: &off}) }()
			path2, _ := plugKey(t, virtualkey.Options{Attestation: tc.format})
			raw, _ := keyResponse(t, k, path2, nil)
			_, err := k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
			if tc.level == "attested" && err != nil {
				t.Fatalf("attested key refused: %v", err)
			}
			if tc.level != "attested" {
				code(t, err, 403, api.CodeAttestationNotTrusted)
			}
		})
	}
	t.Run("enforced without trusted roots", func(t *testing.T) {
		e.reconfigure(func(c *recovery.Config) { c.Trust = nil })
		defer e.reconfigure(func(c *recovery.Config) { c.Trust = testTrust(t) })
		enforced := true
		e.admin.UpdateFIDO2Policy(bg, api.FIDO2PolicyPatch{IsAttestationEnforced: &enforced})
		path, _ := plugKey(t, virtualkey.Options{})
		k := e.signIn("noroots@example.com")
		raw, _ := keyResponse(t, k, path, nil)
		_, err := k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
		code(t, err, 403, api.CodeAttestationNotTrusted)
		es, _ := e.admin.Audit(bg, api.AuditQuery{User: "noroots@example.com", Action: api.ActionRegisterFIDO2})
		if len(es) == 0 || es[0].ResultReason != "attestationNotTrusted" || es[0].Details["aaGuid"] != aaguid {
			t.Fatalf("audit %s", mustJSON(es))
		}
	})
}

func TestKeyRestrictions(t *testing.T) {
	e := newEnv(t, "sqlite")
	other := "cb69481e-8ff7-4039-93ec-0a2729a154a8"
	for _, tc := range []struct {
		kind  string
		list  []string
		allow bool
	}{{"allow", []string{other}, false}, {"allow", []string{other, strings.ToUpper(aaguid)}, true}, {"block", []string{aaguid}, false}, {"block", []string{other}, true}} {
		t.Run(fmt.Sprintf("%s %v", tc.kind, tc.allow), func(t *testing.T) {
			p, err := e.admin.UpdateFIDO2Policy(bg, api.FIDO2PolicyPatch{KeyRestrictions: &api.KeyRestrictions{IsEnforced: true, EnforcementType: tc.kind, AAGUIDs: tc.list}})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range p.KeyRestrictions.AAGUIDs {
				if a != strings.ToLower(a) {
					t.Fatal("AAGUIDs not normalised")
				}
			}
			path, _ := plugKey(t, virtualkey.Options{})
			k := e.signIn(fmt.Sprintf("kr-%d@example.com", keySeq.Add(1)))
			raw, _ := keyResponse(t, k, path, nil)
			_, err = k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
			if tc.allow && err != nil {
				t.Fatal(err)
			}
			if !tc.allow {
				code(t, err, 403, api.CodeKeyRestricted)
			}
		})
	}
}

func TestRegistrationRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		path, _ := plugKey(t, virtualkey.Options{})
		k := e.signIn("bad@example.com")
		send := func(raw json.RawMessage) error {
			_, err := k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
			return err
		}
		edit := func(raw json.RawMessage, fn func(m map[string]any)) json.RawMessage {
			var m map[string]any
			json.Unmarshal(raw, &m)
			fn(m)
			out, _ := json.Marshal(m)
			return out
		}
		resp := func(m map[string]any) map[string]any { return m["response"].(map[string]any) }
		cases := []struct {
			name  string
			make  func() json.RawMessage
			code  api.Code
			again bool // a retry of the same response is then a consumed challenge
		}{
			{"wrong origin", func() json.RawMessage {
				raw, _ := keyResponse(t, k, path, func(*api.CreationOptions) string { return "https://evil.example" })
				return raw
			}, api.CodeRegistrationRejected, true},
			{"wrong rp id", func() json.RawMessage {
				raw, _ := keyResponse(t, k, path, func(o *api.CreationOptions) string {
					o.PublicKey.RelyingParty.ID = "evil.example"
					return "https://" + testRPID
				})
				return raw
			}, api.CodeRegistrationRejected, true},
			{"tampered clientDataJSON", func() json.RawMessage {
				raw, _ := keyResponse(t, k, path, nil)
				return edit(raw, func(m map[string]any) {
					cd, _ := base64.RawURLEncoding.DecodeString(resp(m)["clientDataJSON"].(string))
					cd = []byte(strings.Replace(string(cd), `"crossOrigin":false`, `"crossOrigin":false,"x":1`, 1))
					resp(m)["clientDataJSON"] = base64.RawURLEncoding.EncodeToString(cd)
				})
			}, api.CodeRegistrationRejected, true},
			{"truncated CBOR", func() json.RawMessage {
				raw, _ := keyResponse(t, k, path, nil)
				return edit(raw, func(m map[string]any) {
					ao := resp(m)["attestationObject"].(string)
					resp(m)["attestationObject"] = ao[:len(ao)/2]
				})
			}, api.CodeRegistrationRejected, true},
			{"garbage CBOR", func() json.RawMessage {
				raw, _ := keyResponse(t, k, path, nil)
				return edit(raw, func(m map[string]any) {
					resp(m)["attestationObject"] = base64.RawURLEncoding.EncodeToString([]byte("\xff\x00garbage"))
				})
			}, api.CodeRegistrationRejected, true},
			{"unknown challenge", func() json.RawMessage {
				raw, _ := keyResponse(t, k, path, nil)
				return edit(raw, func(m map[string]any) {
					cd, _ := base64.RawURLEncoding.DecodeString(resp(m)["clientDataJSON"].(string))
					var c map[string]any
					json.Unmarshal(cd, &c)
					c["challenge"] = base64.RawURLEncoding.EncodeToString([]byte("never issued"))
					cd, _ = json.Marshal(c)
					resp(m)["clientDataJSON"] = base64.RawURLEncoding.EncodeToString(cd)
				})
			}, api.CodeChallengeInvalid, false},
			{"not JSON", func() json.RawMessage { return json.RawMessage(`"just a string"`) }, api.CodeChallengeInvalid, false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				raw := c.make()
				if got := codeOf(send(raw)); got != c.code {
					t.Fatalf("got %s, want %s", got, c.code)
				}
				if c.again {
					if got := codeOf(send(raw)); got != api.CodeChallengeInvalid {
						t.Fatalf("the challenge was not consumed: %s", got)
					}
				}
			})
		}
		t.Run("UV missing", func(t *testing.T) {
			k2, _ := virtualkey.New(virtualkey.Options{TouchDelay: time.Millisecond})
			p2 := hidroute.Plug("srv-nouv", k2)
			defer hidroute.Remove("srv-nouv")
			opts, _ := k.CreationOptions(bg)
			opts.PublicKey.AuthenticatorSelection.UserVerification = protocol.VerificationDiscouraged
			reg, err := fido.Register(bg, p2, fido.RegisterRequest{Options: opts.PublicKey, Origin: "https://" + testRPID})
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(reg)
			code(t, send(raw), 400, api.CodeRegistrationRejected)
		})
		t.Run("expired challenge", func(t *testing.T) {
			raw, _ := keyResponse(t, k, path, nil)
			e.clock.Advance(5*time.Minute + time.Second)
			code(t, send(raw), 400, api.CodeChallengeExpired)
			e.clock.Advance(-5*time.Minute - time.Second)
		})
		t.Run("foreign challenge", func(t *testing.T) {
			raw, _ := keyResponse(t, k, path, nil)
			other := e.signIn("other@example.com")
			_, err := other.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
			code(t, err, 400, api.CodeChallengeInvalid)
			code(t, send(raw), 400, api.CodeChallengeInvalid) // consumed by the attempt
		})
		t.Run("display name", func(t *testing.T) {
			for _, name := range []string{"Evil\x1b]0;pwned\x07", strings.Repeat("x", 65), "line\nbreak"} {
				raw, _ := keyResponse(t, k, path, nil)
				_, err := k.RegisterFIDO2(bg, api.RegisterFIDO2Request{DisplayName: name, PublicKeyCredential: raw})
				if ae := code(t, err, 400, api.CodeInvalidValue); ae.Target != "displayName" {
					t.Fatal(ae)
				}
			}
			raw, _ := keyResponse(t, k, path, nil)
			m, err := k.RegisterFIDO2(bg, api.RegisterFIDO2Request{DisplayName: "  Blue key  ", PublicKeyCredential: raw, KeyModel: "Bad\x1bModel"})
			if err != nil || m.DisplayName != "Blue key" || m.Model != "Security key" {
				t.Fatalf("%+v %v", m, err)
			}
		})
		t.Run("after the session ended", func(t *testing.T) {
			k3 := e.signIn("late@example.com")
			raw, _ := keyResponse(t, k3, path, nil)
			k3.SignOut(bg)
			k3.SessionToken = "taps_gone"
			_, err := k3.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
			code(t, err, 401, api.CodeInvalidSession)
			if ms, _ := e.st.ListMethods(bg, "late@example.com"); len(ms) != 0 {
				t.Fatal("a registration after sign-out was stored")
			}
		})
		if ms, _ := e.st.ListMethods(bg, "bad@example.com"); len(ms) != 1 {
			t.Fatalf("refused registrations were stored: %d methods", len(ms))
		}
	})
}

func TestSameKeyTwice(t *testing.T) {
	e := newEnv(t, "sqlite")
	path, _ := plugKey(t, virtualkey.Options{})
	k := e.signIn("twice@example.com")
	register(t, k, path)
	// The kiosk sees the key in excludeCredentials and, through credential
	// management, stops before the key makes a second credential.
	opts, _ := k.CreationOptions(bg)
	_, err := fido.Register(bg, path, fido.RegisterRequest{Options: opts.PublicKey, Origin: "https://" + testRPID, PIN: "2468"})
	if !errors.Is(err, fido.ErrAlreadyRegistered) {
		t.Fatalf("kiosk side: %v", err)
	}
	// A credential id already held by anyone is refused by tapd. A key
	// without credential management gets past the kiosk's own check.
	path2, _ := plugKey(t, virtualkey.Options{NoCredMgmt: true})
	raw, _ := keyResponse(t, k, path2, nil)
	var reg struct{ RawID string }
	json.Unmarshal(raw, &reg)
	id, _ := base64.RawURLEncoding.DecodeString(reg.RawID)
	e.addUser(api.User{UserPrincipalName: "holder@example.com"})
	if err := e.st.CreateMethod(bg, store.Method{ID: "held", UPN: "holder@example.com", Kind: "fido2", DisplayName: "x",
		CreatedAt: e.clock.Now(), CredentialID: id, PublicKey: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	_, err = k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
	code(t, err, 409, api.CodeAlreadyRegistered)
}

// TestCeremonyAcrossInstances begins a registration on one tapd and
// finishes it on another sharing the PostgreSQL database.
func TestCeremonyAcrossInstances(t *testing.T) {
	st := openStore(t, "postgres")
	clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	a := newEnvOn(t, st, clk)
	st2, err := store.Open(bg, strings.Replace(pgURLOf(t, st), "", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	b := newEnvOn(t, st2, clk)
	path, _ := plugKey(t, virtualkey.Options{})
	ka := a.signIn("multi@example.com")
	raw, _ := keyResponse(t, ka, path, nil)
	kb := api.NewClient(b.http.URL, ka.Token)
	kb.SessionToken = ka.SessionToken
	m, err := kb.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
	if err != nil {
		t.Fatalf("finish on the other instance: %v", err)
	}
	if _, err := ka.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw}); codeOf(err) != api.CodeChallengeInvalid {
		t.Fatalf("the first instance reused the challenge: %v", err)
	}
	if ms, _ := ka.SessionMethods(bg); len(ms) != 2 || ms[0].ID != m.ID {
		t.Fatalf("methods %s", mustJSON(ms))
	}
}

func pgURLOf(t testing.TB, st *store.SQL) string {
	t.Helper()
	var db string
	if err := st.DB().QueryRow("SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	return strings.Replace(pg.URL, "/postgres?", "/"+db+"?", 1)
}

func TestFIDO2PolicyAndAdminMethods(t *testing.T) {
	e := newEnv(t, "sqlite")
	p, err := e.admin.GetFIDO2Policy(bg)
	if err != nil || p.IsAttestationEnforced || p.KeyRestrictions.IsEnforced || len(p.TrustedRootSources) != 1 ||
		!strings.Contains(p.TrustedRootSources[0], "tapkiosk test attestation root") {
		t.Fatalf("default %s %v", mustJSON(p), err)
	}
	for _, bad := range []api.KeyRestrictions{{EnforcementType: "deny"}, {EnforcementType: "allow", AAGUIDs: []string{"not-a-guid"}}} {
		_, err := e.admin.UpdateFIDO2Policy(bg, api.FIDO2PolicyPatch{KeyRestrictions: &bad})
		code(t, err, 400, api.CodeInvalidValue)
	}
	_, err = e.tokenClient("ro", api.RoleReader).UpdateFIDO2Policy(bg, api.FIDO2PolicyPatch{})
	code(t, err, 403, api.CodeForbidden)
	status, ae, _ := e.raw("PATCH", "/v1/policies/fido2", e.admin.Token, "application/json", []byte(`{"isAttestationEnforced":"yes"}`))
	if status != 400 || ae.Target != "isAttestationEnforced" {
		t.Fatalf("%d %+v", status, ae)
	}

	path, _ := plugKey(t, virtualkey.Options{})
	e.addUser(api.User{UserPrincipalName: "boss@example.com", AdminRole: api.RoleGlobalAdministrator})
	k := e.signIn("boss@example.com")
	m := register(t, k, path)
	auth := e.tokenClient("helpdesk", api.RoleAuthenticationAdministrator)
	code(t, auth.DeleteUserMethod(bg, "boss@example.com", m.ID), 403, api.CodeForbidden)
	code(t, e.admin.DeleteUserMethod(bg, "boss@example.com", "nope"), 404, api.CodeNotFound)
	if err := e.admin.DeleteUserMethod(bg, "boss@example.com", m.ID); err != nil {
		t.Fatal(err)
	}
	if ms, _ := e.admin.UserMethods(bg, "boss@example.com"); len(ms) != 1 || ms[0].Type != api.TypeTAP {
		t.Fatalf("%s", mustJSON(ms))
	}
}

// mdsFixture signs an MDS3 blob with a throwaway root, as the FIDO
// Alliance signs the real one, naming the virtual key's model.
func mdsFixture(t *testing.T, status string) (blobPath, rootPath string) {
	t.Helper()
	dir := t.TempDir()
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test MDS Root"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour * 24 * 365), KeyUsage: x509.KeyUsageCertSign}
	rootDER, _ := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	root, _ := x509.ParseCertificate(rootDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Test MDS Signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour * 24 * 365), KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, _ := x509.CreateCertificate(rand.Reader, leafTmpl, root, &leafKey.PublicKey, rootKey)
	ca, _ := virtualkey.TestCA()
	b64 := base64.StdEncoding.EncodeToString
	claims := jwt.MapClaims{"legalHeader": "test", "no": 42, "nextUpdate": "2027-01-01", "entries": []any{map[string]any{
		"aaguid": aaguid, "timeOfLastStatusChange": "2026-01-01",
		"statusReports":     []any{map[string]any{"status": status, "effectiveDate": "2026-01-01"}},
		"metadataStatement": map[string]any{"aaguid": aaguid, "description": "Tapkiosk Virtual Key (MDS)", "attestationRootCertificates": []string{b64(ca.Cert.Raw)}},
	}}}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["x5c"] = []string{b64(leafDER), b64(rootDER)}
	signed, err := tok.SignedString(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	blobPath, rootPath = filepath.Join(dir, "blob.jwt"), filepath.Join(dir, "mds-root.pem")
	os.WriteFile(blobPath, []byte(signed), 0o600)
	os.WriteFile(rootPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}), 0o600)
	return blobPath, rootPath
}

func TestMDSBlob(t *testing.T) {
	blob, root := mdsFixture(t, "FIDO_CERTIFIED")
	tr, err := recovery.LoadTrust("", blob, root)
	if err != nil {
		t.Fatal(err)
	}
	if src := tr.Sources(); len(src) != 1 || !strings.Contains(src[0], "no. 42") || !strings.Contains(src[0], "Test MDS Root") {
		t.Fatalf("sources %v", src)
	}
	// A blob is checked against the production FIDO root by default: ours fails.
	if _, err := recovery.LoadTrust("", blob, ""); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("unverified blob loaded: %v", err)
	}
	// A tampered blob fails.
	raw, _ := os.ReadFile(blob)
	parts := strings.Split(string(raw), ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"no":43,"nextUpdate":"2027-01-01","entries":[]}`))
	tampered := filepath.Join(t.TempDir(), "bad.jwt")
	os.WriteFile(tampered, []byte(strings.Join(parts, ".")), 0o600)
	if _, err := recovery.LoadTrust("", tampered, root); err == nil {
		t.Fatal("a tampered blob loaded")
	}

	e := newEnv(t, "sqlite")
	e.reconfigure(func(c *recovery.Config) { c.Trust = tr })
	enforced := true
	e.admin.UpdateFIDO2Policy(bg, api.FIDO2PolicyPatch{IsAttestationEnforced: &enforced})
	path, _ := plugKey(t, virtualkey.Options{})
	k := e.signIn("mds@example.com")
	m := register(t, k, path)
	if m.Model != "Tapkiosk Virtual Key (MDS)" || m.AttestationLevel != "attested" {
		t.Fatalf("%+v", m)
	}
	// A model the metadata marks revoked is refused.
	blob2, root2 := mdsFixture(t, "REVOKED")
	tr2, err := recovery.LoadTrust("", blob2, root2)
	if err != nil {
		t.Fatal(err)
	}
	e.reconfigure(func(c *recovery.Config) { c.Trust = tr2 })
	path2, _ := plugKey(t, virtualkey.Options{})
	raw2, _ := keyResponse(t, k, path2, nil)
	_, err = k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw2})
	code(t, err, 403, api.CodeAttestationNotTrusted)
}
