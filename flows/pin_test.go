package flows

import (
	"errors"
	"testing"

	"github.com/tapkiosk/tapkiosk/fido"
)

// Issue 23 item 1: a PIN the key cannot hold is refused before it is sent,
// by the key's own minimum (4 when it does not say one).
func TestEnterPINShorterThanTheKeysMinimumIsNotSent(t *testing.T) {
	for _, c := range []struct {
		min     int
		short   string
		wantMin int
	}{{0, "123", 4}, {4, "22", 4}, {6, "12345", 6}} {
		j := signedIn(t)
		j.KeysSeen([]fido.Key{key})
		j.KeyFacts(fido.Info{ResidentKeys: true, MinPINLength: c.min, RemainingResidentKeys: -1}, fido.PINState{Set: true, Retries: 8}, nil)
		if j.EnterPIN(c.short) || j.PINToCheck() != "" {
			t.Fatalf("min %d: %q went to the key", c.min, c.short)
		}
		var nk *NotKeysPINError
		if !errors.As(j.Problem, &nk) || nk.Policy.Rule != fido.RuleTooShort || nk.Policy.MinLen != c.wantMin {
			t.Fatalf("min %d: problem %v", c.min, j.Problem)
		}
		if j.Step != StepEnterPIN || j.PIN.Retries != 8 {
			t.Fatalf("min %d: %s, %d tries", c.min, j.Step, j.PIN.Retries)
		}
		long := make([]byte, 64)
		for i := range long {
			long[i] = '7'
		}
		if j.EnterPIN(string(long)) || !errors.As(j.Problem, &nk) || nk.Policy.Rule != fido.RuleTooLong {
			t.Fatalf("a 64-byte PIN: %v", j.Problem)
		}
		if !j.EnterPIN("24681012") || j.Problem != nil {
			t.Fatalf("min %d: a PIN long enough was refused: %v", c.min, j.Problem)
		}
	}
}

// The current PIN at a forced change may be shorter than a minimum raised
// since (that is what asks for the change), never shorter than CTAP's 4.
func TestChangePINOldPINKeepsCTAPsFloorOnly(t *testing.T) {
	j := signedIn(t)
	j.KeysSeen([]fido.Key{key})
	j.KeyFacts(fido.Info{ResidentKeys: true, MinPINLength: 8, RemainingResidentKeys: -1, ForcePINChange: true}, fido.PINState{Set: true, Retries: 8}, nil)
	var nk *NotKeysPINError
	if err := j.CheckChangePIN("123", "13579024", "13579024"); !errors.As(err, &nk) || nk.Policy.MinLen != 4 {
		t.Fatalf("old PIN of 3: %v", err)
	}
	if err := j.CheckChangePIN("2468", "13579024", "13579024"); err != nil {
		t.Fatalf("old PIN of 4 under a minimum of 8: %v", err)
	}
}

// Issue 23 item 3: a key pulled at a PIN step is said at once, and the
// journey holds nothing of it.
func TestKeyPulledAtAPINStep(t *testing.T) {
	for _, f := range []struct {
		info fido.Info
		pin  fido.PINState
		step Step
	}{
		{fido.Info{ResidentKeys: true, RemainingResidentKeys: -1}, fido.PINState{Retries: -1}, StepNewPIN},
		{fido.Info{ResidentKeys: true, RemainingResidentKeys: -1}, fido.PINState{Set: true, Retries: 8}, StepEnterPIN},
		{fido.Info{ResidentKeys: true, RemainingResidentKeys: -1, ForcePINChange: true}, fido.PINState{Set: true, Retries: 8}, StepChangePIN},
	} {
		j := signedIn(t)
		j.KeysSeen([]fido.Key{key})
		j.KeyFacts(f.info, f.pin, nil)
		if j.Step != f.step {
			t.Fatal(j.Step)
		}
		j.KeysSeen([]fido.Key{key})
		if j.Step != f.step {
			t.Fatalf("%s: the key still in the port moved to %s", f.step, j.Step)
		}
		j.KeysSeen(nil)
		if j.Step != StepInsertKey || !errors.Is(j.Problem, fido.ErrKeyRemoved) || j.Key.Path != "" {
			t.Fatalf("%s: pulled: %s %v", f.step, j.Step, j.Problem)
		}
		if !j.KeysSeen([]fido.Key{key}) {
			t.Fatalf("%s: the key back was not taken", f.step)
		}
	}
}
