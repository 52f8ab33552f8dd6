package flows

// Fingerprints: after the PIN, a key that can enrol fingers and has none
// offers to enrol one or two (skippable), with the sensor's word after
// each touch; the key check then uses the finger instead of the PIN.

import (
	"errors"

	"github.com/tapkiosk/tapkiosk/fido"
)

// MaxFingers is how many fingers the kiosk offers to enrol: one, and a
// second for when the first is hurt or gloved.
const MaxFingers = 2

// Fingers is where StepFingers stands.
type Fingers struct {
	// Enrolled counts the fingers enrolled at this visit.
	Enrolled int
	// Capturing: the sensor is waiting for a touch (a sample call runs).
	Capturing bool
	// Started: the key has begun this finger's enrolment, so the next
	// sample continues it; a timeout leaves it started.
	Started bool
	// Remaining is how many more good touches the finger needs, once the
	// key has said (HasSample).
	Remaining int
	// Last is the sensor's word on the last touch.
	Last      fido.Feedback
	HasSample bool
	// skipped: the person went on without (more) fingers.
	skipped bool
}

// offersFingers reports whether the key can enrol fingers and has none,
// and the person has not passed the offer by.
func (j *Journey) offersFingers() bool {
	f := j.Fingers
	return j.Info.Bio && !j.Info.Fingers && f.Enrolled == 0 && !f.skipped && j.pin != ""
}

// StartFinger begins (or, after a timeout, resumes) a finger at
// StepFingers and reports whether a sample call should run now: the TUI
// then calls FingerSample with FingerBegins and FingerPIN.
func (j *Journey) StartFinger() bool {
	f := &j.Fingers
	if j.Step != StepFingers || f.Capturing || f.Enrolled >= MaxFingers {
		return false
	}
	if !f.Started {
		f.HasSample, f.Remaining = false, 0
	}
	f.Capturing, j.Problem = true, nil
	return true
}

// FingerBegins reports whether the next sample begins a finger (and so
// needs the PIN for the key's token) rather than continuing one.
func (j *Journey) FingerBegins() bool { return !j.Fingers.Started }

// FingerPIN is the PIN for a finger's first sample; later samples use the
// token the key gave then.
func (j *Journey) FingerPIN() string {
	if j.Step != StepFingers || j.Fingers.Started {
		return ""
	}
	return j.pin
}

// FingerSampled reports one touch of the sensor and whether the next
// sample should be taken at once (the finger needs more). A finger done
// counts; after MaxFingers the journey goes on to naming. A timeout
// waits for the person to try again (the enrolment stays open on the
// key); a pulled key goes back to Insert key; a cancel just stops.
func (j *Journey) FingerSampled(s fido.Sample, err error) (more bool) {
	f := &j.Fingers
	if j.Step != StepFingers || !f.Capturing {
		return false
	}
	switch {
	case err == nil:
		f.Started, f.HasSample, f.Last, f.Remaining, j.Problem = true, true, s.Feedback, s.Remaining, nil
		if s.Remaining > 0 {
			return true
		}
		f.Capturing, f.Started = false, false
		f.Enrolled++
		if f.Enrolled >= MaxFingers {
			j.toName()
		}
		return false
	case errors.Is(err, fido.ErrTouchTimeout):
		f.Capturing, j.Problem = false, err
	case errors.Is(err, fido.ErrCancelled):
		f.Capturing, j.Problem = false, nil
	case errors.Is(err, fido.ErrKeyRemoved), refusesPIN(err), errors.Is(err, fido.ErrPINChangeRequired):
		*f = Fingers{}
		j.pinRefused(j.pin, err)
	default:
		// The key dropped the enrolment (or never began it): the next
		// try begins the finger afresh.
		f.Capturing, f.Started, f.HasSample, j.Problem = false, false, false, err
	}
	return false
}

// FingerOpen reports whether the key holds a finger's enrolment begun
// and not finished, which SkipFingers leaves: the TUI tells the key to
// cancel it.
func (j *Journey) FingerOpen() bool { return j.Step == StepFingers && j.Fingers.Started }

// SkipFingers goes on to naming without (more) fingers. The TUI cancels a
// sample call that still waits first.
func (j *Journey) SkipFingers() {
	if j.Step != StepFingers {
		return
	}
	j.Fingers.skipped, j.Fingers.Capturing, j.Fingers.Started, j.Problem = true, false, false, nil
	j.toName()
}

// PINForCheck is the PIN for the key check: none when the key has a
// finger enrolled (now or before), which then verifies the person.
func (j *Journey) PINForCheck() string {
	if j.FingerCheck() {
		return ""
	}
	return j.pin
}

// FingerCheck reports whether the key check uses a finger.
func (j *Journey) FingerCheck() bool { return j.Fingers.Enrolled > 0 || j.Info.Fingers }
