package flows

// The PIN steps: a new PIN, the PIN of a key that has one, a forced change.

import (
	"errors"
	"strings"

	"github.com/tapkiosk/tapkiosk/fido"
)

// CheckFirstPIN applies the key's PIN rules to a new PIN typed once, so
// a PIN the key would refuse (too short) is said at the first field,
// before it is typed again.
func (j *Journey) CheckFirstPIN(pin string) error { return fido.CheckPIN(pin, j.Info.MinPINLength) }

// WeakNewPIN reports a new PIN that keeps the key's rules but is easy to
// guess (WeakPIN). One that breaks a rule is not called weak: the rule
// is what to say first.
func (j *Journey) WeakNewPIN(pin string) bool { return j.CheckFirstPIN(pin) == nil && WeakPIN(pin) }

// CheckNewPIN applies the key's PIN rules to a new PIN typed twice.
func (j *Journey) CheckNewPIN(pin, again string) error {
	return fido.CheckNewPIN(pin, again, j.Info.MinPINLength)
}

// ErrPINsDiffer is a new PIN typed differently the second time.
var ErrPINsDiffer = fido.ErrPINsDiffer

// WeakPIN reports PINs a person should not pick: one digit repeated or a
// run like 123456. It is a warning, not a rule.
func WeakPIN(pin string) bool {
	if len(pin) < 2 {
		return false
	}
	same, up, down := true, true, true
	for i := 1; i < len(pin); i++ {
		same = same && pin[i] == pin[0]
		up = up && pin[i] == pin[i-1]+1
		down = down && pin[i] == pin[i-1]-1
	}
	common := map[string]bool{"1234": true, "123456": true, "12345678": true, "0000": true, "1111": true, "password": true, "qwerty": true}
	return same || up || down || common[strings.ToLower(pin)]
}

// PINSet reports that a new PIN was stored on the key.
func (j *Journey) PINSet(pin string, err error) {
	if j.Step != StepNewPIN {
		return
	}
	if errors.Is(err, fido.ErrKeyRemoved) {
		// Pulled while the PIN was being set: whether it took is unknown,
		// so start again from the key, which will say.
		j.pin, j.Key, j.Problem, j.Step = "", fido.Key{}, err, StepInsertKey
		return
	}
	if err != nil {
		j.Problem = err
		return
	}
	j.pin, j.PIN, j.Problem = pin, fido.PINState{Set: true, Retries: 8}, nil
	j.pinKnown()
}

// EnterPIN takes the PIN typed at StepEnterPIN and reports whether the
// key should judge it now (fido.VerifyPIN on PINToCheck); PINChecked
// reports its answer. The journey stays at StepEnterPIN until then.
//
// A PIN the key cannot hold (shorter than its own minPINLength, 4 when it
// does not say; longer than 63 bytes) is refused here with a
// *NotKeysPINError and never sent: a try sent to the key costs one of its
// retries and counts towards its three-in-a-row block.
func (j *Journey) EnterPIN(pin string) (check bool) {
	if j.Step != StepEnterPIN || pin == "" {
		return false
	}
	if err := fido.CheckPIN(pin, j.Info.MinPINLength); err != nil {
		j.Problem = notKeysPIN(err)
		return false
	}
	j.pending, j.Problem = pin, nil
	return true
}

// NotKeysPINError is a PIN typed as the key's current one that cannot be
// it: it breaks a rule the key's PIN keeps (Policy says which). It was not
// sent, so no try was used.
type NotKeysPINError struct{ Policy *fido.PINPolicyError }

func (e *NotKeysPINError) Error() string { return "not the key's PIN: " + e.Policy.Error() }

func notKeysPIN(err error) error {
	var pp *fido.PINPolicyError
	if errors.As(err, &pp) {
		return &NotKeysPINError{Policy: pp}
	}
	return err
}

// PINToCheck is the PIN EnterPIN took, until the key has judged it.
func (j *Journey) PINToCheck() string { return j.pending }

// PINChecked reports the key's verdict on the PIN EnterPIN took. A right
// PIN is kept for the touch and the journey goes on to naming (or to a
// full key's passkeys); a refused PIN is dropped, so it is never sent
// again: a wrong one goes back to the PIN with the tries left, a blocked
// one to StepPINBlocked, too many wrong in a row to StepReplugKey, a PIN
// the key wants changed to StepChangePIN.
func (j *Journey) PINChecked(err error) {
	if j.Step != StepEnterPIN || j.pending == "" {
		return
	}
	pin := j.pending
	j.pending = ""
	if err != nil {
		j.pinRefused(pin, err)
		return
	}
	j.pin, j.Problem = pin, nil
	j.pinKnown()
}

// pinRefused moves on from a PIN operation the key refused, wherever
// the PIN was used (its check, a change, a full key's passkeys, the
// touch); the PIN is dropped in every case. A wrong one goes back to
// StepEnterPIN with the tries left. judged is the PIN the key was given:
// one it judged right before it asked for a change is held for
// StepChangePIN, so it is not asked again.
func (j *Journey) pinRefused(judged string, err error) {
	j.pin, j.pending, j.old = "", "", ""
	var pw *fido.PINWrongError
	switch {
	case errors.As(err, &pw):
		j.PIN.Retries, j.Problem, j.Step = pw.RetriesLeft, err, StepEnterPIN
	case errors.Is(err, fido.ErrPINBlocked):
		j.PIN.Blocked, j.Problem, j.Step = true, err, StepPINBlocked
	case errors.Is(err, fido.ErrPINAuthBlocked):
		j.Problem, j.Step = err, StepReplugKey
	case errors.Is(err, fido.ErrPINChangeRequired):
		j.old, j.Info.ForcePINChange, j.Problem, j.Step = judged, true, nil, StepChangePIN
	case errors.Is(err, fido.ErrKeyRemoved):
		j.Key, j.Problem, j.Step = fido.Key{}, err, StepInsertKey
	default:
		j.Problem = err
	}
}

// pinKnown goes on once the key's PIN is known: to a full key's
// passkeys, to the offer of fingerprints, or to naming.
func (j *Journey) pinKnown() {
	if j.full {
		j.Step, j.Own = StepKeyFull, nil
		return
	}
	if j.offersFingers() {
		j.Step = StepFingers
		return
	}
	j.toName()
}

// ErrPINSame is a new PIN equal to the old one, which a key that wants
// its PIN changed refuses.
var ErrPINSame = errors.New("the new PIN must differ from the old one")

// KnowsOldPIN reports whether StepChangePIN already holds the current
// PIN (the key judged it right, then asked for a change), so only the new
// one is asked, twice.
func (j *Journey) KnowsOldPIN() bool { return j.Step == StepChangePIN && j.old != "" }

// OldPIN is the current PIN for the change: the one the key just judged
// right if the journey holds it, else what the person typed.
func (j *Journey) OldPIN(typed string) string {
	if j.KnowsOldPIN() {
		return j.old
	}
	return typed
}

// CheckChangePIN checks a PIN change before the key is asked: the old PIN
// given (or held, OldPIN), the new one typed twice by the key's rules and
// not the old one.
func (j *Journey) CheckChangePIN(old, pin, again string) error {
	held := j.KnowsOldPIN()
	old = j.OldPIN(old)
	if old == "" {
		return fido.ErrPINRequired
	}
	// The current PIN may be shorter than the key's minimum (a minimum
	// raised by setMinPINLength is what asks for this change), never
	// shorter than CTAP's 4.
	if err := fido.CheckPIN(old, 4); err != nil && !held {
		return notKeysPIN(err)
	}
	if err := j.CheckNewPIN(pin, again); err != nil {
		return err
	}
	if pin == old {
		return ErrPINSame
	}
	return nil
}

// PINChanged reports fido.ChangePIN at StepChangePIN. The new PIN is kept
// for the touch and the journey goes on; a wrong old PIN stays here with
// the tries left, other refusals lead where EnterPIN's would.
func (j *Journey) PINChanged(pin string, err error) {
	if j.Step != StepChangePIN {
		return
	}
	if err != nil {
		var pp *fido.PINPolicyError
		if errors.As(err, &pp) || errors.Is(err, fido.ErrPINChangeRequired) {
			j.Problem = err // the new PIN broke a rule of the key's: another one
			return
		}
		j.pinRefused("", err)       // drops a held old PIN too: a wrong one is asked
		if j.Step == StepEnterPIN { // wrong old PIN: try the change again
			j.Step = StepChangePIN
		}
		return
	}
	j.old = ""
	j.Info.ForcePINChange = false
	j.pin, j.PIN, j.Problem = pin, fido.PINState{Set: true, Retries: 8}, nil
	j.pinKnown()
}
