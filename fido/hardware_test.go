//go:build hwtest

package fido_test

import (
	"os"
	"strings"
	"testing"

	libfido2 "github.com/keys-pub/go-libfido2"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey/hidroute"
)

// TestHardwareRegistration runs the registration suite's core against a
// real key (make hwtest). It needs exactly one key plugged in, its PIN in
// TAPKIOSK_HW_PIN if it has one, and a person to touch it. It registers a
// passkey for example.com and deletes it again when the key allows.
func TestHardwareRegistration(t *testing.T) {
	keys, err := fido.Keys()
	if err != nil {
		t.Fatal(err)
	}
	var real []fido.Key
	for _, k := range keys {
		if !strings.HasPrefix(k.Path, hidroute.Prefix) {
			real = append(real, k)
		}
	}
	switch len(real) {
	case 0:
		t.Skip("No security key is plugged in. Plug in one FIDO2 key and run `make hwtest` again.")
	case 1:
	default:
		t.Fatalf("%d keys are plugged in; leave only one.", len(real))
	}
	k := real[0]
	info, err := fido.GetInfo(k.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("key: %s (%s), versions %v, AAGUID %x, PIN set %v, min PIN %d, free passkey slots %d",
		k.Product, k.Path, info.Versions, info.AAGUID, info.PINSet, info.MinPINLength, info.RemainingResidentKeys)
	pin := os.Getenv("TAPKIOSK_HW_PIN")
	if !info.PINSet {
		t.Skip("This key has no PIN. Set one first (for example `fido2-token -S` from Debian's fido2-tools), then run with TAPKIOSK_HW_PIN=... make hwtest.")
	}
	if pin == "" {
		t.Skip("This key has a PIN: run TAPKIOSK_HW_PIN=... make hwtest.")
	}
	t.Log("Touch the key when it blinks.")
	reg, cred := registerAndVerify(t, k.Path, pin)
	t.Logf("registered: format %s, credential %s, AAGUID %x", reg.Format, reg.ID, cred.Authenticator.AAGUID)
	if info.CredMgmt {
		dev, _ := libfido2.NewDevice(k.Path)
		if err := dev.DeleteCredential(cred.ID, pin); err != nil {
			t.Logf("could not delete the test passkey (%v); remove example.com's passkey with your key's manager", err)
		}
	}
}
