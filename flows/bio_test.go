package flows

import (
	"errors"
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
)

// atFingers is a journey past the PIN of a fingerprint key with no finger.
func atFingers(t *testing.T, pinSet bool) *Journey {
	t.Helper()
	j := signedIn(t)
	j.KeysSeen([]fido.Key{key})
	info := fido.Info{ResidentKeys: true, MinPINLength: 4, RemainingResidentKeys: -1, Bio: true}
	if pinSet {
		j.KeyFacts(info, fido.PINState{Set: true, Retries: 8}, nil)
		if !j.EnterPIN("2468") {
			t.Fatal("EnterPIN asked no check")
		}
		j.PINChecked(nil)
	} else {
		j.KeyFacts(info, fido.PINState{Retries: -1}, nil)
		j.PINSet("2468", nil)
	}
	if j.Step != StepFingers {
		t.Fatalf("step %s, want fingers", j.Step)
	}
	return j
}

func good(n int) fido.Sample { return fido.Sample{Feedback: fido.FeedbackGood, Remaining: n} }

// TestFingerOffer: only a key with a sensor and no finger is offered
// fingers; one that has a finger, or none, goes straight to naming.
func TestFingerOffer(t *testing.T) {
	for name, tc := range map[string]struct {
		info fido.Info
		want Step
	}{
		"no sensor":        {fido.Info{}, StepNameKey},
		"sensor, no":       {fido.Info{Bio: true}, StepFingers},
		"sensor, a finger": {fido.Info{Bio: true, Fingers: true, BuiltInUV: true}, StepNameKey},
	} {
		t.Run(name, func(t *testing.T) {
			j := signedIn(t)
			j.KeysSeen([]fido.Key{key})
			tc.info.ResidentKeys, tc.info.MinPINLength = true, 4
			j.KeyFacts(tc.info, fido.PINState{Set: true, Retries: 8}, nil)
			j.EnterPIN("2468")
			j.PINChecked(nil)
			if j.Step != tc.want {
				t.Fatalf("step %s, want %s", j.Step, tc.want)
			}
		})
	}
	// A new PIN leads there too.
	atFingers(t, false)
}

// TestFingerSamples walks a finger's samples: feedback as it goes, a
// timeout that waits for the person and resumes the same enrolment, then
// a second finger, and naming; the key check uses the finger, no PIN.
func TestFingerSamples(t *testing.T) {
	j := atFingers(t, true)
	if j.FingerSampled(good(3), nil) {
		t.Fatal("a sample taken before StartFinger")
	}
	if !j.StartFinger() || !j.FingerBegins() || j.FingerPIN() != "2468" {
		t.Fatal("first finger does not begin with the PIN")
	}
	if j.StartFinger() {
		t.Fatal("StartFinger twice while capturing")
	}
	steps := []struct {
		s        fido.Sample
		err      error
		more     bool
		begins   bool
		problem  error
		enrolled int
	}{
		{good(3), nil, true, false, nil, 0},
		{fido.Sample{Feedback: fido.FeedbackPoorQuality, Remaining: 3}, nil, true, false, nil, 0},
		{fido.Sample{}, fido.ErrTouchTimeout, false, false, fido.ErrTouchTimeout, 0},
	}
	for i, s := range steps {
		if more := j.FingerSampled(s.s, s.err); more != s.more || j.FingerBegins() != s.begins || !errors.Is(j.Problem, s.problem) || j.Fingers.Enrolled != s.enrolled {
			t.Fatalf("step %d: more %v begins %v problem %v enrolled %d", i, more, j.FingerBegins(), j.Problem, j.Fingers.Enrolled)
		}
	}
	if j.Fingers.Last != fido.FeedbackPoorQuality || j.Fingers.Remaining != 3 {
		t.Fatalf("after the timeout: %+v", j.Fingers)
	}
	// Try again: the same enrolment goes on, with no PIN.
	if !j.StartFinger() || j.FingerBegins() || j.FingerPIN() != "" || j.Problem != nil {
		t.Fatal("retry after a timeout does not resume")
	}
	for n := 2; n >= 0; n-- {
		if more := j.FingerSampled(good(n), nil); more != (n > 0) {
			t.Fatalf("remaining %d: more %v", n, more)
		}
	}
	if j.Fingers.Enrolled != 1 || j.Step != StepFingers || j.Fingers.Capturing {
		t.Fatalf("after the first finger: %s %+v", j.Step, j.Fingers)
	}
	// The second finger begins afresh (a new token from the PIN).
	if !j.StartFinger() || !j.FingerBegins() || j.FingerPIN() != "2468" || j.Fingers.HasSample {
		t.Fatal("second finger")
	}
	j.FingerSampled(good(1), nil)
	j.FingerSampled(good(0), nil)
	if j.Step != StepNameKey || j.Fingers.Enrolled != 2 || j.StartFinger() {
		t.Fatalf("after two fingers: %s %+v", j.Step, j.Fingers)
	}
	if !j.FingerCheck() || j.PINForCheck() != "" || j.PINForTouch() != "2468" {
		t.Fatal("the check does not use the finger, or registration lost the PIN")
	}
}

// TestFingerSkipAndFailures: skip goes to naming and is not offered again
// for the same key; a pulled key goes back to Insert key with the PIN
// dropped; another failure begins afresh on the next try.
func TestFingerSkipAndFailures(t *testing.T) {
	j := atFingers(t, true)
	j.StartFinger()
	j.FingerSampled(good(2), nil)
	if !j.FingerOpen() {
		t.Fatal("an enrolment under way is not open")
	}
	j.FingerSampled(fido.Sample{}, errors.New("key said no"))
	if j.FingerOpen() || !j.FingerBegins() || j.Problem == nil {
		t.Fatal("a failed enrolment is resumed")
	}
	j.StartFinger()
	j.FingerSampled(fido.Sample{}, fido.ErrCancelled)
	if j.Problem != nil || j.Fingers.Capturing || j.Step != StepFingers {
		t.Fatalf("cancel: %v %+v", j.Problem, j.Fingers)
	}
	j.SkipFingers()
	if j.Step != StepNameKey || j.FingerCheck() || j.PINForCheck() != "2468" {
		t.Fatalf("skip: %s", j.Step)
	}
	// A wrong PIN at the touch comes back through the PIN: no second offer.
	j.NameKey("Blue")
	j.Registered(api.FIDO2Method{}, &fido.PINWrongError{RetriesLeft: 7})
	j.EnterPIN("2468")
	j.PINChecked(nil)
	if j.Step != StepNameKey {
		t.Fatalf("after a skip and a PIN again: %s", j.Step)
	}

	j = atFingers(t, true)
	j.StartFinger()
	j.FingerSampled(fido.Sample{}, fido.ErrKeyRemoved)
	if j.Step != StepInsertKey || j.PINForTouch() != "" || j.Fingers != (Fingers{}) {
		t.Fatalf("pulled key: %s %+v", j.Step, j.Fingers)
	}
}
