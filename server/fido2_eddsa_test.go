package server

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
)

// TestFIDO2EdDSA: the kiosk's EdDSA path end to end. A key that makes
// EdDSA only gets tapd's options (ES256, EdDSA, RS256); the kiosk asks it
// for EdDSA, the first of tapd's algorithms it lists, through libfido2;
// tapd's go-webauthn verifies the packed attestation and stores an
// Ed25519 key; the key check's assertion, signed with it, verifies.
func TestFIDO2EdDSA(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		path, _ := plugKey(t, virtualkey.Options{Algorithms: []int{int(webauthncose.AlgEdDSA)}})
		upn := "ada@example.com"
		k := e.signIn(upn)
		m := register(t, k, path)
		if m.AttestationLevel != "attested" {
			t.Fatalf("method %+v", m)
		}
		stored, err := e.st.GetMethod(bg, upn, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		key, err := webauthncose.ParsePublicKey(stored.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if okp, ok := key.(webauthncose.OKPPublicKeyData); !ok || okp.Algorithm != int64(webauthncose.AlgEdDSA) {
			t.Fatalf("stored key %T %+v, want an EdDSA OKP key", key, key)
		}
		ao, err := k.AssertionOptions(bg, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		as, err := fido.Assert(context.Background(), path, fido.AssertRequest{Options: ao.PublicKey, Origin: "https://" + testRPID, PIN: "2468"})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(as)
		kc, err := k.CheckKey(bg, m.ID, raw)
		if err != nil || !kc.Verified || !kc.UserVerified {
			t.Fatalf("check %+v %v", kc, err)
		}
	})
}
