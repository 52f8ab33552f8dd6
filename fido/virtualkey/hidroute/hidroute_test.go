package hidroute

import (
	"crypto/sha256"
	"testing"

	libfido2 "github.com/keys-pub/go-libfido2"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
)

// TestLibfido2SeesAFIDO2Key is the smoke test of the whole route: real
// libfido2 finds the key in its manifest, opens it, speaks CTAP2 (not the
// U2F fallback), and makes a credential.
func TestLibfido2SeesAFIDO2Key(t *testing.T) {
	k, err := virtualkey.New(virtualkey.Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := Plug("smoke", k)
	defer Remove("smoke")
	locs, err := libfido2.DeviceLocations()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range locs {
		found = found || (l.Path == path && l.Product == "tapkiosk virtual key")
	}
	if !found {
		t.Fatalf("manifest: %+v", locs)
	}
	dev, err := libfido2.NewDevice(path)
	if err != nil {
		t.Fatal(err)
	}
	typ, err := dev.Type()
	if err != nil || typ != libfido2.FIDO2 {
		t.Fatalf("type %q %v: libfido2 fell back to U2F", typ, err)
	}
	info, err := dev.Info()
	if err != nil || len(info.Versions) != 2 || info.Versions[1] != "FIDO_2_1" {
		t.Fatalf("info %+v %v", info, err)
	}
	cdh := sha256.Sum256([]byte("client data"))
	att, err := dev.MakeCredential(cdh[:], libfido2.RelyingParty{ID: "example.com", Name: "Example"},
		libfido2.User{ID: []byte{1, 2, 3}, Name: "ada"}, libfido2.ES256, "", &libfido2.MakeCredentialOpts{RK: libfido2.True})
	if err != nil {
		t.Fatal(err)
	}
	if att.Format != "packed" || len(att.Cert) == 0 || len(att.CredentialID) != 32 {
		t.Fatalf("attestation %+v", att)
	}
}
