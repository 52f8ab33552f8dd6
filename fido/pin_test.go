package fido_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey/hidroute"
)

// retries reads the key's PIN tries left.
func retries(t *testing.T, path string) int {
	t.Helper()
	st, err := fido.GetPINState(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Retries
}

// TestVerifyPIN checks a PIN as it is typed, through each way libfido2
// can get a PIN token: credential management's metadata call (protocol 2
// and the legacy getPinToken) and, on a key without credential
// management, an assertion nobody can satisfy.
func TestVerifyPIN(t *testing.T) {
	ctx := context.Background()
	for name, o := range map[string]virtualkey.Options{
		"credMgmt":    {},
		"getPinToken": {LegacyPINToken: true},
		"noCredMgmt":  {NoCredMgmt: true},
	} {
		t.Run(name, func(t *testing.T) {
			path, _ := plug(t, o)
			if err := fido.VerifyPIN(ctx, path, "2468"); !errors.Is(err, fido.ErrPINNotSet) {
				t.Fatalf("no PIN yet: %v", err)
			}
			if err := fido.SetPIN(path, "2468"); err != nil {
				t.Fatal(err)
			}
			if err := fido.VerifyPIN(ctx, path, ""); !errors.Is(err, fido.ErrPINRequired) {
				t.Fatalf("empty: %v", err)
			}
			if err := fido.VerifyPIN(ctx, path, "2468"); err != nil {
				t.Fatalf("right PIN: %v", err)
			}
			if n := retries(t, path); n != 8 {
				t.Fatalf("a right PIN spent a try: %d left", n)
			}
			// Each wrong PIN costs exactly one try, and says how many are left.
			for want := 7; want >= 6; want-- {
				var pw *fido.PINWrongError
				if err := fido.VerifyPIN(ctx, path, "0000"); !errors.As(err, &pw) || pw.RetriesLeft != want {
					t.Fatalf("wrong PIN: %v, want %d left", err, want)
				}
				if n := retries(t, path); n != want {
					t.Fatalf("key has %d left, want %d", n, want)
				}
			}
			// The third wrong in a row blocks PIN use until a power cycle,
			// and cost a try like the others: the error says what is left.
			var ab *fido.PINAuthBlockedError
			if err := fido.VerifyPIN(ctx, path, "0000"); !errors.Is(err, fido.ErrPINAuthBlocked) || !errors.As(err, &ab) || ab.RetriesLeft != 5 {
				t.Fatalf("third wrong: %v %+v", err, ab)
			}
			if n := retries(t, path); n != 5 {
				t.Fatalf("after the third wrong: %d left", n)
			}
			// Blocked: refused at once, right or wrong, and no try is spent.
			for _, pin := range []string{"2468", "0000"} {
				if err := fido.VerifyPIN(ctx, path, pin); !errors.Is(err, fido.ErrPINAuthBlocked) {
					t.Fatalf("auth blocked, %s: %v", pin, err)
				}
			}
			if n := retries(t, path); n != 5 {
				t.Fatalf("a refusal while blocked spent a try: %d left", n)
			}
			if r, _ := fido.Explain(fido.VerifyPIN(ctx, path, "2468")); r != "pinAuthBlocked" {
				t.Fatalf("reason %q", r)
			}
			hidroute.Replug(strings.TrimPrefix(path, hidroute.Prefix))
			if err := fido.VerifyPIN(ctx, path, "2468"); err != nil {
				t.Fatalf("after replugging: %v", err)
			}
			if n := retries(t, path); n != 8 {
				t.Fatalf("a right PIN restores the tries: %d", n)
			}
			// Eight wrong in all block the PIN for good.
			var err error
			for i := 0; i < 8; i++ {
				if i%3 == 0 {
					hidroute.Replug(strings.TrimPrefix(path, hidroute.Prefix))
				}
				err = fido.VerifyPIN(ctx, path, "0000")
			}
			if !errors.Is(err, fido.ErrPINBlocked) {
				t.Fatalf("8th wrong: %v", err)
			}
			if err := fido.VerifyPIN(ctx, path, "2468"); !errors.Is(err, fido.ErrPINBlocked) {
				t.Fatalf("right PIN on a blocked key: %v", err)
			}
		})
	}
}

func TestForcePINChange(t *testing.T) {
	ctx := context.Background()
	path, k := plug(t, virtualkey.Options{})
	if err := fido.SetPIN(path, "2468"); err != nil {
		t.Fatal(err)
	}
	if info, _ := fido.GetInfo(path); info.ForcePINChange {
		t.Fatal("a fresh PIN is not forced to change")
	}
	k.ForcePINChange() // as an administrator's setMinPINLength(forceChangePin) does
	info, err := fido.GetInfo(path)
	if err != nil || !info.ForcePINChange || info.MinPINLength != 4 {
		t.Fatalf("info %+v %v", info, err)
	}
	rp, u := newRP(t), &rpUser{id: []byte("forced")}
	opts, _ := begin(t, rp, u)
	_, err = fido.Register(ctx, path, fido.RegisterRequest{Options: opts, Origin: "https://example.com", PIN: "2468"})
	var pe *fido.PINPolicyError
	if !errors.Is(err, fido.ErrPINChangeRequired) || errors.As(err, &pe) {
		t.Fatalf("register with a PIN that must change: %v", err)
	}
	if r, _ := fido.Explain(err); r != "pinChangeRequired" {
		t.Fatalf("reason %q", r)
	}
	if err := fido.VerifyPIN(ctx, path, "2468"); !errors.Is(err, fido.ErrPINChangeRequired) {
		t.Fatalf("verify: %v", err)
	}
	// A wrong PIN is still a wrong PIN, with its try spent.
	var pw *fido.PINWrongError
	if err := fido.VerifyPIN(ctx, path, "1111"); !errors.As(err, &pw) || pw.RetriesLeft != 7 {
		t.Fatalf("wrong PIN while forced: %v", err)
	}
	// The key wants a different PIN, not the same one again.
	if err := fido.ChangePIN(path, "2468", "2468"); !errors.As(err, &pe) || pe.Rule != fido.RuleKeyPolicy {
		t.Fatalf("same PIN again: %v", err)
	}
	if err := fido.ChangePIN(path, "2468", "135790"); err != nil {
		t.Fatal(err)
	}
	if info, _ := fido.GetInfo(path); info.ForcePINChange {
		t.Fatal("ChangePIN did not clear forcePINChange")
	}
	registerAndVerify(t, path, "135790")

	// A key that arrives with the demand (Options) reports it too.
	path2, _ := plug(t, virtualkey.Options{ForcePINChange: true, MinPINLength: 6})
	if info, _ := fido.GetInfo(path2); !info.ForcePINChange || info.MinPINLength != 6 {
		t.Fatalf("info %+v", info)
	}
}
