package server

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
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
	return keyResponseFrom(t, k.CreationOptions, path, tweak)
}

// keyResponseFrom is keyResponse with the options from anywhere (the session's,
// or an operator's for someone).
func keyResponseFrom(t testing.TB, options func(context.Context) (api.CreationOptions, error), path string, tweak func(*api.CreationOptions) string) (json.RawMessage, api.CreationOptions) {
	t.Helper()
	opts, err := options(bg)
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
