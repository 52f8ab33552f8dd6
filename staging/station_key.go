package staging

// The station's key: the key watch, the key's facts, its PIN, the run of
// Stage, and the wipe.

import (
	"errors"
	"slices"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
)

// KeysSeen reports a look at the keys plugged in now (err: the look
// failed, and the watch goes on). Each step that watches the keys says
// what a key plugged or pulled means there.
func (s *Station) KeysSeen(keys []fido.Key, err error) Effect {
	if err != nil {
		return DoWatchKeys
	}
	switch s.Step {
	case StepPlug:
		if len(keys) != 1 || s.Busy != NotBusy {
			if len(keys) > 1 {
				s.Problem = fido.ErrSeveralKeys
			} else if errors.Is(s.Problem, fido.ErrSeveralKeys) {
				s.Problem = nil
			}
			return DoWatchKeys
		}
		s.Key, s.Busy = keys[0], BusyReading
		return DoReadFacts
	case StepStaged, StepNotEmpty, StepElsewhere:
		// The staged key (or one the operator will not wipe) must leave
		// before the next person's is taken.
		if slices.ContainsFunc(keys, func(k fido.Key) bool { return k.Path == s.Key.Path }) {
			return DoWatchKeys
		}
		if s.Step == StepNotEmpty {
			s.Step, s.Problem = StepPlug, nil
			return DoWatchKeys
		}
		if s.Step == StepElsewhere {
			s.Notice = s.Problem
		}
		s.endRow()
		return s.Reload()
	case StepResetPlug:
		// Gone is no key at all, back is one key, whatever its path: a
		// key plugged in again may come back as another hidraw node.
		if len(keys) == 0 {
			s.keyGone = true
			return DoWatchKeys
		}
		if !s.keyGone || len(keys) != 1 {
			return DoWatchKeys
		}
		// Back in: reset at once, inside the key's first seconds.
		s.Key, s.keyGone = keys[0], false
		s.Step, s.Problem = StepResetTouch, nil
		return DoWipe
	}
	return DoNothing
}

// FactsRead reports what the key said about itself.
func (s *Station) FactsRead(info fido.Info, err error) Effect {
	if s.Quitting {
		return DoNothing // a late answer: the run has stopped
	}
	s.Busy = NotBusy
	if err != nil {
		s.Step, s.Problem = StepFailed, err
		return DoNothing
	}
	s.Info = info
	switch {
	case info.PINSet && s.pin != "":
		// Most likely this person's key, back after it was pulled: their
		// PIN is on it already. DoCheckPIN tells (and costs one try if
		// not).
		s.Busy = BusyCheckingPIN
		return DoCheckPIN
	case info.PINSet:
		return s.notEmpty(nil)
	}
	return s.choosePIN()
}

// notEmpty asks whether to wipe the key, and looks for it among the keys
// already staged: a key staged for someone is theirs, and the wipe is
// not offered (OwnerFound).
func (s *Station) notEmpty(problem error) Effect {
	s.Step, s.Problem, s.Owner = StepNotEmpty, problem, nil
	return DoFindOwner
}

// OwnerFound reports whom the key at path was staged for (nil: nobody).
// An answer about a key that has left since, or a failed look, changes
// nothing.
func (s *Station) OwnerFound(path string, o *Owner, err error) {
	if s.Step == StepNotEmpty && path == s.Key.Path && err == nil {
		s.Owner = o
	}
}

// choosePIN draws the person's PIN, or asks the operator for it, unless
// it is chosen already (a key plugged back in).
func (s *Station) choosePIN() Effect {
	if s.pin != "" {
		return s.startStage(false)
	}
	if s.typed {
		s.Step = StepTypePIN
		return DoAskPIN
	}
	return DoDrawPIN
}

// PINDrawn reports the random PIN drawn for the person.
func (s *Station) PINDrawn(pin string, err error) Effect {
	if s.Quitting {
		return DoNothing
	}
	if err != nil {
		s.Step, s.Problem = StepFailed, err
		return DoNothing
	}
	s.pin = pin
	return s.startStage(false)
}

// WeakPINError is a typed PIN that Weak finds easy to guess; Why is
// Weak's reason.
type WeakPINError struct{ Why string }

func (e *WeakPINError) Error() string { return "weak PIN: " + e.Why }

// PINTyped is the operator's Enter on the second PIN field. A PIN Weak
// finds easy to guess is refused once with the reason; Enter again takes
// it (the operator may know better). On DoStage the front end empties its
// fields; on ErrPINsDiffer, the second one.
func (s *Station) PINTyped(first, second string) Effect {
	if s.Step != StepTypePIN {
		return DoNothing
	}
	weak := Weak(first)
	switch err := fido.CheckNewPIN(first, second, s.MinPINLength()); {
	case err != nil:
		s.Problem = err
	case weak != "" && !s.weakOK:
		s.Problem, s.weakOK = &WeakPINError{weak}, true
	default:
		s.pin = first
		return s.startStage(false)
	}
	return DoNothing
}

// PINEdited reports a change in a PIN field: the last judgement no longer
// applies.
func (s *Station) PINEdited() { s.Problem, s.weakOK = nil, false }

// PINChecked reports whether the key took the person's PIN (DoCheckPIN).
func (s *Station) PINChecked(err error) Effect {
	if s.Quitting {
		return DoNothing
	}
	s.Busy = NotBusy
	var wrong *fido.PINWrongError
	switch {
	case err == nil:
		s.PINOnKey = true
		return s.startStage(true)
	case errors.As(err, &wrong), errors.Is(err, fido.ErrPINBlocked), errors.Is(err, fido.ErrPINAuthBlocked):
		// Not this person's PIN after all (another key): the key must be
		// wiped to be staged.
		return s.notEmpty(nil)
	case errors.Is(err, fido.ErrKeyRemoved):
		s.Step, s.Problem = StepPlug, err
		return DoWatchKeys
	}
	s.Step, s.Problem = StepFailed, err
	return DoNothing
}

// startStage runs Stage for the person's key.
func (s *Station) startStage(pinSet bool) Effect {
	s.Step, s.Problem, s.Phase = StepWork, nil, PhaseOptions
	if pinSet {
		return DoStageOnKey
	}
	return DoStage
}

// PhaseReached reports the running Stage's progress. Past the PIN phase
// the key holds the person's PIN.
func (s *Station) PhaseReached(p Phase) {
	s.Phase = p
	if p > PhasePIN {
		s.PINOnKey = true
	}
}

// Staged reports Stage's end.
func (s *Station) Staged(res Result, err error) Effect {
	var ae *api.Error
	switch {
	case err == nil:
		s.Result, s.StagedCount, s.Step = res, s.StagedCount+1, StepStaged
		s.Batch.RegisteredCount++ // tapd's count says so too; the header need not wait for it
		s.Batch.PendingCount = max(s.Batch.PendingCount-1, 0)
		s.pin = "" // on the key and in the letter; not needed any more
		return DoWatchKeys
	case errors.Is(err, ErrNotEmpty):
		return s.notEmpty(err)
	case errors.Is(err, fido.ErrKeyRemoved):
		// Pulled out: plugged back in, it goes on (its PIN is checked).
		s.Step, s.Problem = StepPlug, err
		return DoWatchKeys
	case errors.As(err, &ae) && (ae.Code == api.CodeStagingRowRegistered || ae.Code == api.CodeStagingRowBusy):
		// Done or being done elsewhere (another station, an earlier
		// run): say so, and go on once this key is out, so that it is
		// not taken for the next person's.
		if ae.Code == api.CodeStagingRowBusy {
			s.skipped[s.Row.ID] = true
		}
		s.Step, s.Problem = StepElsewhere, err
		return DoWatchKeys
	}
	s.Step, s.Problem = StepFailed, err
	return DoNothing
}

// MayWipe reports whether the operator may wipe the key at StepNotEmpty:
// not one still registered for the person it was staged for.
func (s *Station) MayWipe() bool { return s.Step == StepNotEmpty && !s.Owner.Holds() }

// Wipe is the operator's wipe key at StepNotEmpty: unplug, plug back
// in, touch.
func (s *Station) Wipe() Effect {
	if !s.MayWipe() {
		return DoNothing
	}
	s.Step, s.Problem, s.keyGone = StepResetPlug, nil, false
	return DoWatchKeys
}

// OtherKey is the operator's choice not to wipe the key: the key watch
// waits for it to leave.
func (s *Station) OtherKey() {
	if s.Step == StepNotEmpty {
		s.Problem = ErrOtherKey
	}
}

// CancelWipe is Esc during the wipe: a skip's wipe waits for the
// operator again, a wipe waiting for its touch is cancelled (ResetDone
// then asks again), and one waiting for the replug goes back to the
// question.
func (s *Station) CancelWipe() Effect {
	s.SkipWipe = false
	switch s.Step {
	case StepResetTouch:
		return DoCancel
	case StepResetPlug:
		return s.notEmpty(nil)
	}
	return DoNothing
}

// ResetDone reports the wipe's end.
func (s *Station) ResetDone(err error) Effect {
	switch {
	case err == nil && s.SkipWipe:
		// The skipped person's key is empty again: now the row is marked
		// and the letter deleted. If marking fails, the skip asks again.
		s.SkipWipe, s.PINOnKey, s.Step = false, false, StepFailed
		return s.markSkipped(s.SkipReason)
	case err == nil:
		s.Step, s.Busy = StepPlug, BusyReading
		return DoReadFacts
	case errors.Is(err, fido.ErrResetNotAllowed), errors.Is(err, fido.ErrKeyRemoved):
		s.Step, s.Problem, s.keyGone = StepResetPlug, err, false
		return DoWatchKeys
	}
	// Refused on the key, no touch, cancelled: ask again.
	return s.notEmpty(err)
}
