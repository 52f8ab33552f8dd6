package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey/hidroute"
	"github.com/tapkiosk/tapkiosk/store"
)

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
