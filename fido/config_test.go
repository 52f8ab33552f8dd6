package fido_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	libfido2 "github.com/keys-pub/go-libfido2"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey/hidroute"
)

// info reads the key's getInfo or fails the test.
func info(t *testing.T, path string) fido.Info {
	t.Helper()
	i, err := fido.GetInfo(path)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// TestSetMinPINLength stages a key as IT would: a longer minimum than the
// user's 4-digit PIN makes the key demand a new PIN of the new length.
func TestSetMinPINLength(t *testing.T) {
	ctx := context.Background()
	path, _ := plug(t, virtualkey.Options{})
	if err := fido.SetPIN(path, "2468"); err != nil {
		t.Fatal(err)
	}
	if i := info(t, path); !i.AuthnrCfg || i.MinPINLength != 4 || i.ForcePINChange {
		t.Fatalf("fresh key %+v", i)
	}
	if err := fido.SetMinPINLength(ctx, path, "2468", 8); err != nil {
		t.Fatal(err)
	}
	if i := info(t, path); i.MinPINLength != 8 || !i.ForcePINChange {
		t.Fatalf("after setMinPINLength(8): min %d force %v", i.MinPINLength, i.ForcePINChange)
	}
	if n := retries(t, path); n != 8 {
		t.Fatalf("a right PIN spent a try: %d", n)
	}
	rp, u := newRP(t), &rpUser{id: []byte("staged")}
	opts, _ := begin(t, rp, u)
	if _, err := fido.Register(ctx, path, fido.RegisterRequest{Options: opts, Origin: "https://example.com", PIN: "2468"}); !errors.Is(err, fido.ErrPINChangeRequired) {
		t.Fatalf("register before the change: %v", err)
	}
	// A 6-digit PIN is short for the key: the kiosk says so before
	// sending (the key's new minimum, from getInfo) ...
	var pe *fido.PINPolicyError
	if err := fido.ChangePIN(path, "2468", "135790"); !errors.As(err, &pe) || pe.Rule != fido.RuleTooShort || pe.MinLen != 8 {
		t.Fatalf("6-digit PIN: %v", err)
	}
	// ... and the key itself refuses it when sent anyway.
	dev, _ := libfido2.NewDevice(path)
	if err := dev.SetPIN("135790", "2468"); !errors.Is(err, libfido2.ErrPinPolicyViolation) {
		t.Fatalf("key took a 6-digit PIN: %v", err)
	}
	if err := fido.ChangePIN(path, "2468", "13579024"); err != nil {
		t.Fatal(err)
	}
	if i := info(t, path); i.ForcePINChange || i.MinPINLength != 8 {
		t.Fatalf("after the change %+v", i)
	}
	registerAndVerify(t, path, "13579024")

	// The minimum only goes up: refused before anything is sent.
	var ml *fido.MinPINLengthError
	for _, n := range []int{6, 64} {
		if err := fido.SetMinPINLength(ctx, path, "13579024", n); !errors.As(err, &ml) || ml.Current != 8 || ml.Asked != n {
			t.Fatalf("min %d: %v", n, err)
		}
	}
	if r, args := fido.Explain(ml); r != "minPINLength" || len(args) != 1 || args[0] != 8 {
		t.Fatalf("explain %q %v", r, args)
	}
	// The same minimum again is fine, and a PIN already long enough is
	// not forced to change.
	if err := fido.SetMinPINLength(ctx, path, "13579024", 8); err != nil {
		t.Fatal(err)
	}
	if i := info(t, path); i.ForcePINChange {
		t.Fatal("a PIN of the minimum length was forced to change")
	}
}

// TestSetMinPINLengthNoPIN: a key without a PIN takes the minimum without
// one, and its first PIN must meet it.
func TestSetMinPINLengthNoPIN(t *testing.T) {
	ctx := context.Background()
	path, _ := plug(t, virtualkey.Options{})
	if err := fido.SetMinPINLength(ctx, path, "", 6); err != nil {
		t.Fatal(err)
	}
	if i := info(t, path); i.MinPINLength != 6 || i.ForcePINChange || i.PINSet {
		t.Fatalf("%+v", i)
	}
	var pe *fido.PINPolicyError
	if err := fido.SetPIN(path, "2468"); !errors.As(err, &pe) || pe.Rule != fido.RuleTooShort || pe.MinLen != 6 {
		t.Fatalf("4-digit first PIN: %v", err)
	}
	if err := fido.ForcePINChange(ctx, path, ""); !errors.Is(err, fido.ErrPINNotSet) {
		t.Fatalf("force change without a PIN: %v", err)
	}
	if err := fido.SetPIN(path, "246810"); err != nil {
		t.Fatal(err)
	}
	// With a PIN set, the config calls need it.
	if err := fido.SetMinPINLength(ctx, path, "", 7); !errors.Is(err, fido.ErrPINRequired) {
		t.Fatalf("no PIN given: %v", err)
	}
}

func TestForcePINChangeCall(t *testing.T) {
	ctx := context.Background()
	path, _ := plug(t, virtualkey.Options{})
	if err := fido.SetPIN(path, "246810"); err != nil {
		t.Fatal(err)
	}
	if err := fido.ForcePINChange(ctx, path, "246810"); err != nil {
		t.Fatal(err)
	}
	if i := info(t, path); !i.ForcePINChange || i.MinPINLength != 4 {
		t.Fatalf("%+v", i)
	}
	if err := fido.VerifyPIN(ctx, path, "246810"); !errors.Is(err, fido.ErrPINChangeRequired) {
		t.Fatalf("verify: %v", err)
	}
	// A second config call with the PIN that must change is refused too.
	if err := fido.ToggleAlwaysUV(ctx, path, "246810"); !errors.Is(err, fido.ErrPINChangeRequired) {
		t.Fatalf("config while forced: %v", err)
	}
	if err := fido.ChangePIN(path, "246810", "1357"); err != nil {
		t.Fatal(err)
	}
	if i := info(t, path); i.ForcePINChange {
		t.Fatal("ChangePIN did not clear it")
	}
	registerAndVerify(t, path, "1357")
}

func TestToggleAlwaysUV(t *testing.T) {
	ctx := context.Background()
	path, _ := plug(t, virtualkey.Options{})
	if err := fido.SetPIN(path, "2468"); err != nil {
		t.Fatal(err)
	}
	if info(t, path).AlwaysUV {
		t.Fatal("alwaysUv on a fresh key")
	}
	if err := fido.ToggleAlwaysUV(ctx, path, "2468"); err != nil {
		t.Fatal(err)
	}
	if !info(t, path).AlwaysUV {
		t.Fatal("alwaysUv did not turn on")
	}
	// With alwaysUv, a sign-in the relying party did not ask to verify
	// still needs the PIN; with it, registration works as before.
	registerAndVerify(t, path, "2468")
	dev, _ := libfido2.NewDevice(path)
	cdh := sha256.Sum256([]byte("challenge"))
	if _, err := dev.Assertion("example.com", cdh[:], nil, "", &libfido2.AssertionOpts{UP: libfido2.True}); !errors.Is(err, libfido2.ErrPinRequired) {
		t.Fatalf("assertion without UV under alwaysUv: %v", err)
	}
	if err := fido.ToggleAlwaysUV(ctx, path, "2468"); err != nil {
		t.Fatal(err)
	}
	if info(t, path).AlwaysUV {
		t.Fatal("alwaysUv did not turn off")
	}
}

// TestConfigWrongPIN: each config call checks the PIN with one try, says
// how many are left, and changes nothing.
func TestConfigWrongPIN(t *testing.T) {
	ctx := context.Background()
	path, _ := plug(t, virtualkey.Options{})
	if err := fido.SetPIN(path, "2468"); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func(pin string) error{
		"setMinPINLength": func(pin string) error { return fido.SetMinPINLength(ctx, path, pin, 6) },
		"forcePINChange":  func(pin string) error { return fido.ForcePINChange(ctx, path, pin) },
		"toggleAlwaysUv":  func(pin string) error { return fido.ToggleAlwaysUV(ctx, path, pin) },
	}
	for name, call := range calls {
		var pw *fido.PINWrongError
		if err := call("0000"); !errors.As(err, &pw) || pw.RetriesLeft != 7 {
			t.Fatalf("%s, wrong PIN: %v", name, err)
		}
		if n := retries(t, path); n != 7 {
			t.Fatalf("%s: %d tries left", name, n)
		}
		if i := info(t, path); i.MinPINLength != 4 || i.ForcePINChange || i.AlwaysUV {
			t.Fatalf("%s with a wrong PIN changed the key: %+v", name, i)
		}
		if err := fido.VerifyPIN(ctx, path, "2468"); err != nil { // back to 8 tries
			t.Fatal(err)
		}
	}
}

func TestConfigUnsupported(t *testing.T) {
	ctx := context.Background()
	for name, o := range map[string]virtualkey.Options{"noAuthnrCfg": {NoAuthnrCfg: true}, "ctap20": {LegacyPINToken: true}} {
		t.Run(name, func(t *testing.T) {
			path, _ := plug(t, o)
			if err := fido.SetPIN(path, "2468"); err != nil {
				t.Fatal(err)
			}
			if info(t, path).AuthnrCfg {
				t.Fatal("authnrCfg listed")
			}
			for _, err := range []error{
				fido.SetMinPINLength(ctx, path, "2468", 6), fido.ForcePINChange(ctx, path, "2468"), fido.ToggleAlwaysUV(ctx, path, "2468"),
			} {
				var uk *fido.UnsupportedKeyError
				if !errors.As(err, &uk) || uk.Reason != fido.ReasonNoAuthnrCfg {
					t.Fatalf("got %v", err)
				}
			}
			if n := retries(t, path); n != 8 {
				t.Fatalf("a refused call spent a try: %d", n)
			}
		})
	}
	path, _ := plug(t, virtualkey.Options{U2FOnly: true})
	var uk *fido.UnsupportedKeyError
	if err := fido.ToggleAlwaysUV(ctx, path, ""); !errors.As(err, &uk) || uk.Reason != fido.ReasonU2FOnly {
		t.Fatalf("U2F key: %v", err)
	}
}

// clock is a virtual key's clock that a test moves on.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestReset(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	path, k := plug(t, virtualkey.Options{Now: clk.Now})
	name := strings.TrimPrefix(path, hidroute.Prefix)
	if err := fido.SetPIN(path, "246810"); err != nil {
		t.Fatal(err)
	}
	registerAndVerify(t, path, "246810")
	if err := fido.SetMinPINLength(ctx, path, "246810", 6); err != nil {
		t.Fatal(err)
	}
	if err := fido.ToggleAlwaysUV(ctx, path, "246810"); err != nil {
		t.Fatal(err)
	}
	full := info(t, path).RemainingResidentKeys + 1

	// Eleven seconds after plug-in the key refuses, and nothing is lost.
	clk.advance(11 * time.Second)
	err := fido.Reset(ctx, path)
	if !errors.Is(err, fido.ErrResetNotAllowed) {
		t.Fatalf("late reset: %v", err)
	}
	if r, _ := fido.Explain(err); r != "resetNotAllowed" {
		t.Fatalf("reason %q", r)
	}
	if st, _ := fido.GetPINState(path); !st.Set {
		t.Fatal("a refused reset wiped the PIN")
	}

	// Replugged, the person does not touch, then says no on the key.
	hidroute.Replug(name)
	k.SetPresence(virtualkey.TouchNever)
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := fido.Reset(tctx, path); !errors.Is(err, fido.ErrTouchTimeout) {
		t.Fatalf("no touch: %v", err)
	}
	k.SetPresence(virtualkey.TouchDeny)
	if err := fido.Reset(ctx, path); !errors.Is(err, fido.ErrOperationDenied) {
		t.Fatalf("denied: %v", err)
	}

	// Then touches, within the window: the key is as new.
	k.SetPresence(virtualkey.TouchAuto)
	clk.advance(9 * time.Second)
	if err := fido.Reset(ctx, path); err != nil {
		t.Fatal(err)
	}
	if st, err := fido.GetPINState(path); err != nil || st.Set {
		t.Fatalf("PIN after reset: %+v %v", st, err)
	}
	i := info(t, path)
	if i.RemainingResidentKeys != full || i.MinPINLength != 4 || i.AlwaysUV || i.ForcePINChange {
		t.Fatalf("after reset %+v, want %d free slots", i, full)
	}
	if err := fido.SetPIN(path, "1357"); err != nil {
		t.Fatal(err)
	}
	registerAndVerify(t, path, "1357")
}

func TestResetU2FOnly(t *testing.T) {
	path, _ := plug(t, virtualkey.Options{U2FOnly: true})
	var uk *fido.UnsupportedKeyError
	if err := fido.Reset(context.Background(), path); !errors.As(err, &uk) || uk.Reason != fido.ReasonU2FOnly {
		t.Fatalf("got %v", err)
	}
}
