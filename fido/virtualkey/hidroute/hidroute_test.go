package hidroute

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

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

// TestAssertionCredMgmtReset drives getAssertion, credential management and
// reset through go-libfido2, with a PIN, and checks the assertion signature
// against the credential's public key.
func TestAssertionCredMgmtReset(t *testing.T) {
	k, err := virtualkey.New(virtualkey.Options{TouchDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	path := Plug("assert", k)
	defer Remove("assert")
	dev, _ := libfido2.NewDevice(path)
	if err := dev.SetPIN("2468", ""); err != nil {
		t.Fatal(err)
	}
	cdh := sha256.Sum256([]byte("register"))
	var ids [][]byte
	var adaPub []byte
	for _, name := range []string{"ada", "bob"} {
		att, err := dev.MakeCredential(cdh[:], libfido2.RelyingParty{ID: "example.com", Name: "Example"},
			libfido2.User{ID: []byte(name), Name: name, DisplayName: strings.ToUpper(name)}, libfido2.ES256, "2468", &libfido2.MakeCredentialOpts{RK: libfido2.True})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, att.CredentialID)
		if name == "ada" {
			adaPub = att.PubKey
		}
	}
	// Assertion with an allow list, user-verified with the PIN.
	ch := sha256.Sum256([]byte("login"))
	a, err := dev.Assertion("example.com", ch[:], [][]byte{ids[0]}, "2468", &libfido2.AssertionOpts{UP: libfido2.True})
	if err != nil {
		t.Fatal(err)
	}
	var authData []byte
	if err := cbor.Unmarshal(a.AuthDataCBOR, &authData); err != nil {
		t.Fatal(err)
	}
	if authData[32]&0x05 != 0x05 {
		t.Fatalf("flags %x: want UP and UV", authData[32])
	}
	x, y := adaPub[:32], adaPub[32:]
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
	digest := sha256.Sum256(append(append([]byte{}, authData...), ch[:]...))
	if !ecdsa.VerifyASN1(pub, digest[:], a.Sig) {
		t.Fatal("assertion signature does not verify")
	}
	// Credential management.
	info, err := dev.CredentialsInfo("2468")
	if err != nil || info.RKExisting != 2 || info.RKRemaining != 23 {
		t.Fatalf("metadata %+v %v", info, err)
	}
	rps, err := dev.RelyingParties("2468")
	if err != nil || len(rps) != 1 || rps[0].ID != "example.com" {
		t.Fatalf("rps %+v %v", rps, err)
	}
	creds, err := dev.Credentials("example.com", "2468")
	if err != nil || len(creds) != 2 {
		t.Fatalf("creds %+v %v", creds, err)
	}
	if err := dev.DeleteCredential(ids[1], "2468"); err != nil {
		t.Fatal(err)
	}
	if creds, _ = dev.Credentials("example.com", "2468"); len(creds) != 1 || creds[0].User.Name != "ada" {
		t.Fatalf("after delete %+v", creds)
	}
	// Reset wipes the PIN and the passkeys.
	if err := dev.Reset(); err != nil {
		t.Fatal(err)
	}
	if di, _ := dev.Info(); hasOption(di, "clientPin") {
		t.Fatal("PIN survived reset")
	}
	if _, err := dev.Assertion("example.com", ch[:], [][]byte{ids[0]}, "", nil); !errors.Is(err, libfido2.ErrNoCredentials) {
		t.Fatalf("credential survived reset: %v", err)
	}
}

func hasOption(di *libfido2.DeviceInfo, name string) bool {
	for _, o := range di.Options {
		if o.Name == name && o.Value == libfido2.True {
			return true
		}
	}
	return false
}
