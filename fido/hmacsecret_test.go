package fido_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	libfido2 "github.com/keys-pub/go-libfido2"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
)

// TestHMACSecretThroughLibfido2: libfido2 (fido_assert_set_hmac_salt, its
// own key agreement, saltEnc and saltAuth, and decryption of the answer)
// gets hmac-secret outputs from the virtual key with PIN/UV protocol one
// and two. They are HMAC-SHA-256 of the salt under the credential's secret
// (read back from the key's state file), the same each time for the same
// credential and salt, different for another salt, another credential or
// with uv, and two salts give both outputs at once. A credential made
// without hmac-secret gives none. WebAuthn's prf extension is this with
// salts SHA-256("WebAuthn PRF" ‖ 0x00 ‖ input) made by the client; the
// kiosk does not ask for prf itself.
func TestHMACSecretThroughLibfido2(t *testing.T) {
	for name, protocols := range map[string][]int{"protocol 1": {1}, "protocol 2": {2}} {
		t.Run(name, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "key.json")
			path, _ := plug(t, virtualkey.Options{PINProtocols: protocols, StatePath: state})
			if err := fido.SetPIN(path, "2468"); err != nil {
				t.Fatal(err)
			}
			dev, err := libfido2.NewDevice(path)
			if err != nil {
				t.Fatal(err)
			}
			cdh := sha256.Sum256([]byte("hmac-secret"))
			rp := libfido2.RelyingParty{ID: "example.com"}
			makeCred := func(user string, exts []libfido2.Extension) []byte {
				att, err := dev.MakeCredential(cdh[:], rp, libfido2.User{ID: []byte(user), Name: user}, libfido2.ES256, "2468",
					&libfido2.MakeCredentialOpts{Extensions: exts, RK: libfido2.False})
				if err != nil {
					t.Fatal(err)
				}
				return att.CredentialID
			}
			withSecret := []libfido2.Extension{libfido2.HMACSecretExtension}
			a, b, none := makeCred("a", withSecret), makeCred("b", withSecret), makeCred("none", nil)
			get := func(id []byte, pin string, salt []byte) []byte {
				t.Helper()
				as, err := dev.Assertion("example.com", cdh[:], [][]byte{id}, pin,
					&libfido2.AssertionOpts{Extensions: withSecret, UP: libfido2.True, HMACSalt: salt})
				if err != nil {
					t.Fatal(err)
				}
				return as.HMACSecret
			}
			salt1, salt2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
			out := get(a, "", salt1)
			if len(out) != 32 {
				t.Fatalf("output %x", out)
			}
			// What the key computed, checked against its secrets on disk.
			secrets := credRandoms(t, state, a)
			if want := hmacSHA256(secrets.without, salt1); !bytes.Equal(out, want) {
				t.Fatalf("output %x, HMAC(CredRandomWithoutUV, salt1) %x", out, want)
			}
			if again := get(a, "", salt1); !bytes.Equal(again, out) {
				t.Fatal("not deterministic per credential and salt")
			}
			if bytes.Equal(get(a, "", salt2), out) || bytes.Equal(get(b, "", salt1), out) {
				t.Fatal("the same output for another salt or credential")
			}
			both := get(a, "", append(append([]byte{}, salt1...), salt2...))
			if len(both) != 64 || !bytes.Equal(both[:32], out) || !bytes.Equal(both[32:], get(a, "", salt2)) {
				t.Fatalf("two salts: %x", both)
			}
			uv := get(a, "2468", salt1)
			if bytes.Equal(uv, out) || !bytes.Equal(uv, hmacSHA256(secrets.with, salt1)) {
				t.Fatalf("with uv %x, without %x: want HMAC(CredRandomWithUV, salt1)", uv, out)
			}
			if again := get(a, "2468", salt1); !bytes.Equal(again, uv) {
				t.Fatal("not deterministic with uv")
			}
			if o := get(none, "", salt1); len(o) != 0 {
				t.Fatalf("a credential without hmac-secret answered %x", o)
			}
		})
	}
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// credRandoms reads a credential's two hmac-secrets from the virtual
// key's state file.
func credRandoms(t *testing.T, statePath string, id []byte) (s struct{ with, without []byte }) {
	t.Helper()
	raw, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Creds []struct {
			ID           []byte `json:"id"`
			CredRandom   []byte `json:"credRandom"`
			CredRandomUV []byte `json:"credRandomUV"`
		} `json:"creds"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Creds {
		if bytes.Equal(c.ID, id) {
			s.with, s.without = c.CredRandomUV, c.CredRandom
			if len(s.with) != 32 || len(s.without) != 32 || bytes.Equal(s.with, s.without) {
				t.Fatalf("credRandoms %x %x", s.with, s.without)
			}
			return s
		}
	}
	t.Fatalf("credential %x not in the state file", id)
	return s
}
