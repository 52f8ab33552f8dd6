package server

import (
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory/entra/graphsim"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
)

// Tests of what Microsoft's v1.0 reference leaves open or requires, at
// the HTTP level, against the simulator.

// TestEntraPassWithoutStartInAnswer: a create answer without startDateTime
// (optional on create, not promised back) starts the pass at its creation,
// so the first sign-in works instead of answering passExpired.
func TestEntraPassWithoutStartInAnswer(t *testing.T) {
	e := newEntraEnv(t, "sqlite")
	e.sim.AddUser("ann@contoso.com", "Ann", "Member", false)
	e.sim.OmitCreateStart = true
	p := e.newPass("ann@contoso.com", api.CreatePassRequest{})
	if p.StartDateTime.IsZero() || !p.StartDateTime.Equal(p.CreatedDateTime) {
		t.Fatalf("start %v, created %v", p.StartDateTime, p.CreatedDateTime)
	}
	sp, err := e.st.GetPass(bg, "ann@contoso.com")
	if err != nil || !sp.StartAt.Equal(sp.CreatedAt) {
		t.Fatalf("stored pass %+v %v", sp, err)
	}
	k := e.fresh(e.kiosk)
	if _, err := k.OpenSession(bg, "ann@contoso.com", *p.TemporaryAccessPass); err != nil {
		t.Fatalf("sign-in with a pass whose start Entra did not repeat: %v", err)
	}
}

// TestEntraCreationOptionsShape: Graph's documented options carry
// @odata.type on every nested object, "platform" and "direct"; the kiosk
// gets them without annotations, without the "platform" hint, and with
// the real extensions, which reach the key through libfido2.
func TestEntraCreationOptionsShape(t *testing.T) {
	e := newEntraEnv(t, "sqlite")
	e.sim.AddUser("bea@contoso.com", "Bea", "Member", false)
	e.sim.Extensions = map[string]any{"credentialProtectionPolicy": "userVerificationRequired", "enforceCredentialProtectionPolicy": true,
		"hmacCreateSecret": true}
	k := e.signInEntra("bea@contoso.com")
	path, _ := plugKey(t, virtualkey.Options{})
	raw, opts := keyResponse(t, k, path, nil)
	pk := opts.PublicKey
	if js := mustJSON(opts); strings.Contains(js, "@odata") || strings.Contains(js, "platform") {
		t.Fatalf("annotations or the platform hint reached the kiosk: %s", js)
	}
	if pk.RelyingParty.ID != graphsim.RPID || pk.Attestation != "direct" || len(pk.Extensions.Extra) != 0 ||
		pk.Extensions.CredentialProtectionPolicy != protocol.CredentialProtectionPolicyUserVerificationRequired ||
		!pk.Extensions.EnforceCredentialProtectionPolicy || !pk.Extensions.HMACCreateSecret {
		t.Fatalf("options %s", mustJSON(opts))
	}
	if !strings.Contains(string(raw), `"hmacCreateSecret":true`) {
		t.Fatalf("the key made no hmac-secret: %s", raw)
	}
	if _, err := k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw}); err != nil {
		t.Fatal(err)
	}
}
