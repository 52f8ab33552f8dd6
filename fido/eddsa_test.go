package fido_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
)

// TestEdDSA: a relying party that prefers EdDSA gets an Ed25519 credential
// (COSE -8) through libfido2, go-webauthn verifies its attestation (packed
// with x5c, and packed self, where the statement is signed by the Ed25519
// key itself) and then an assertion signed with it; one that prefers
// ES256 gets ES256 from the same key. The relying party's algorithm list
// is the one tapd sends (ES256, EdDSA, RS256), reordered.
func TestEdDSA(t *testing.T) {
	ctx := context.Background()
	param := func(a webauthncose.COSEAlgorithmIdentifier) protocol.CredentialParameter {
		return protocol.CredentialParameter{Type: protocol.PublicKeyCredentialType, Algorithm: a}
	}
	tapd := []protocol.CredentialParameter{param(webauthncose.AlgES256), param(webauthncose.AlgEdDSA), param(webauthncose.AlgRS256)}
	for _, tc := range []struct {
		name    string
		format  string
		keyAlgs []int // what the key lists in getInfo; nil for ES256 and EdDSA
		params  []protocol.CredentialParameter
		want    webauthncose.COSEAlgorithmIdentifier
	}{
		{"EdDSA first, packed", "packed", nil, []protocol.CredentialParameter{param(webauthncose.AlgEdDSA), param(webauthncose.AlgES256), param(webauthncose.AlgRS256)}, webauthncose.AlgEdDSA},
		{"EdDSA first, self", "self", nil, []protocol.CredentialParameter{param(webauthncose.AlgEdDSA), param(webauthncose.AlgES256)}, webauthncose.AlgEdDSA},
		{"ES256 first", "packed", nil, tapd, webauthncose.AlgES256},
		// The relying party's first choice the key can make: a key
		// without ES256 gets EdDSA from tapd's list, not a refusal.
		{"EdDSA-only key, tapd's list", "packed", []int{-8}, tapd, webauthncose.AlgEdDSA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, _ := plug(t, virtualkey.Options{Attestation: tc.format, Algorithms: tc.keyAlgs})
			if err := fido.SetPIN(path, "2468"); err != nil {
				t.Fatal(err)
			}
			rp, u := newRP(t), &rpUser{id: []byte("eddsa-" + tc.format)}
			opts, session := begin(t, rp, u, webauthn.WithCredentialParameters(tc.params))
			reg, err := fido.Register(ctx, path, fido.RegisterRequest{Options: opts, Origin: "https://example.com", PIN: "2468"})
			if err != nil {
				t.Fatal(err)
			}
			cred := finish(t, rp, u, session, reg)
			if alg := fido.COSEAlg(t, cred.PublicKey); alg != int(tc.want) {
				t.Fatalf("credential key alg %d, want %d", alg, tc.want)
			}
			u.creds = append(u.creds, *cred)
			ro, ls := beginLogin(t, rp, u)
			as, err := fido.Assert(ctx, path, fido.AssertRequest{Options: ro, Origin: "https://example.com", PIN: "2468"})
			if err != nil {
				t.Fatal(err)
			}
			// The signature is checked: one bit changed fails.
			sig, _ := base64.RawURLEncoding.DecodeString(as.Response.Signature)
			good := as.Response.Signature
			sig[len(sig)-1] ^= 1
			as.Response.Signature = base64.RawURLEncoding.EncodeToString(sig)
			if err := validate(rp, u, ls, as); err == nil {
				t.Fatal("an assertion with a changed signature passed")
			}
			as.Response.Signature = good
			if err := validate(rp, u, ls, as); err != nil {
				t.Fatalf("the relying party refused the assertion: %v", err)
			}
		})
	}
}

// validate has the relying party check an assertion, as tapd does.
func validate(rp *webauthn.WebAuthn, u *rpUser, s *webauthn.SessionData, as *fido.Assertion) error {
	raw, _ := json.Marshal(as)
	pa, err := protocol.ParseCredentialRequestResponseBytes(raw)
	if err != nil {
		return err
	}
	_, err = rp.ValidateLogin(u, *s, pa)
	return err
}

// beginLogin makes request options (UV required) as a relying party would,
// sent through JSON as the kiosk receives them.
func beginLogin(t *testing.T, rp *webauthn.WebAuthn, u *rpUser) (protocol.PublicKeyCredentialRequestOptions, *webauthn.SessionData) {
	t.Helper()
	login, ls, err := rp.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(login.Response)
	var ro protocol.PublicKeyCredentialRequestOptions
	if err := json.Unmarshal(raw, &ro); err != nil {
		t.Fatal(err)
	}
	return ro, ls
}
