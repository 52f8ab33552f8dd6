package fido

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	libfido2 "github.com/keys-pub/go-libfido2"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey/hidroute"
)

// TestKeyRefusalsMap sends requests straight through go-libfido2 so that
// the virtual key itself refuses (Register's own checks would catch these
// first), and checks each CTAP status becomes the right typed error.
func TestKeyRefusalsMap(t *testing.T) {
	cdh := sha256.Sum256([]byte("cd"))
	rp := libfido2.RelyingParty{ID: "example.com"}
	mk := func(t *testing.T, o virtualkey.Options) (*libfido2.Device, string) {
		o.TouchDelay = 10 * time.Millisecond
		path, _ := hidroute.PlugNew(t, o)
		dev, _ := libfido2.NewDevice(path)
		return dev, path
	}
	makeCred := func(dev *libfido2.Device, user, pin string, o *libfido2.MakeCredentialOpts) error {
		_, err := dev.MakeCredential(cdh[:], rp, libfido2.User{ID: []byte(user), Name: user}, libfido2.ES256, pin, o)
		return err
	}
	check := func(t *testing.T, err error, want error) {
		t.Helper()
		op := "test"
		if _, ok := want.(*PINPolicyError); ok {
			op = opSetPIN // a policy violation names a new PIN only when one is being set
		}
		got := mapErr(op, err, "")
		ok := errors.Is(got, want)
		switch want.(type) {
		case *UnsupportedKeyError, *PINPolicyError: // typed errors: same type is enough
			ok = fmt.Sprintf("%T", got) == fmt.Sprintf("%T", want)
		}
		if !ok {
			t.Fatalf("libfido2 said %v; mapped to %v, want %v", err, got, want)
		}
	}
	t.Run("PUAT required", func(t *testing.T) {
		dev, _ := mk(t, virtualkey.Options{})
		dev.SetPIN("2468", "")
		check(t, makeCred(dev, "u", "", &libfido2.MakeCredentialOpts{RK: libfido2.True}), ErrPINRequired)
	})
	t.Run("key store full", func(t *testing.T) {
		dev, _ := mk(t, virtualkey.Options{MaxResident: 1})
		if err := makeCred(dev, "a", "", &libfido2.MakeCredentialOpts{RK: libfido2.True}); err != nil {
			t.Fatal(err)
		}
		check(t, makeCred(dev, "b", "", &libfido2.MakeCredentialOpts{RK: libfido2.True}), ErrKeyFull)
	})
	t.Run("unsupported rk", func(t *testing.T) {
		dev, _ := mk(t, virtualkey.Options{NoResidentKeys: true})
		check(t, makeCred(dev, "u", "", &libfido2.MakeCredentialOpts{RK: libfido2.True}), &UnsupportedKeyError{})
	})
	t.Run("uv without PIN, token key", func(t *testing.T) {
		// libfido2 refuses locally with PIN_REQUIRED before asking a key
		// that offers pinUvAuthToken; Register checks getInfo first and
		// says ErrPINNotSet instead.
		dev, _ := mk(t, virtualkey.Options{})
		check(t, makeCred(dev, "u", "", &libfido2.MakeCredentialOpts{UV: libfido2.True}), ErrPINRequired)
	})
	t.Run("uv without PIN, legacy key", func(t *testing.T) {
		// A key without pinUvAuthToken gets the uv option and answers
		// CTAP2_ERR_INVALID_OPTION itself.
		dev, _ := mk(t, virtualkey.Options{LegacyPINToken: true})
		check(t, makeCred(dev, "u", "", &libfido2.MakeCredentialOpts{UV: libfido2.True}), ErrPINNotSet)
	})
	t.Run("key PIN policy", func(t *testing.T) {
		dev, _ := mk(t, virtualkey.Options{MinPINLength: 6})
		check(t, dev.SetPIN("1234", ""), &PINPolicyError{})
	})
	t.Run("user action timeout", func(t *testing.T) {
		o := virtualkey.Options{UPTimeout: 100 * time.Millisecond}
		k, _ := virtualkey.New(o)
		k.SetPresence(virtualkey.TouchNever)
		path := hidroute.Plug("internal-timeout", k)
		defer hidroute.Remove("internal-timeout")
		dev, _ := libfido2.NewDevice(path)
		check(t, makeCred(dev, "u", "", nil), ErrTouchTimeout)
	})
	t.Run("PIN blocked", func(t *testing.T) {
		o := virtualkey.Options{TouchDelay: 10 * time.Millisecond}
		path, k := hidroute.PlugNew(t, o)
		dev, _ := libfido2.NewDevice(path)
		dev.SetPIN("2468", "")
		var last error
		for i := 0; i < 9; i++ {
			last = dev.SetPIN("9999", "0000")
			if i%3 == 2 {
				k.PowerCycle() // past the 3-per-boot limit
			}
		}
		check(t, last, ErrPINBlocked)
	})
	t.Run("not FIDO2", func(t *testing.T) {
		dev, _ := mk(t, virtualkey.Options{U2FOnly: true})
		_, err := dev.Info()
		check(t, err, &UnsupportedKeyError{})
	})
	t.Run("unknown code stays generic", func(t *testing.T) {
		got := mapErr("x", libfido2.Error{Code: 0x7e}, "")
		var ke *KeyError
		if !errors.As(got, &ke) || ke.Code != 0x7e {
			t.Fatalf("%v", got)
		}
		if r, _ := Explain(got); r != ReasonOther {
			t.Fatalf("reason %q", r)
		}
	})
}
