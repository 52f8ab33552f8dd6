package flows

// Naming the key and the touch that registers it.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/tap"
)

func (j *Journey) toName() {
	j.Step = StepNameKey
	if j.KeyName == "" {
		j.KeyName = j.defaultName()
	}
}

// NameKey takes the key's name and goes to the touch.
func (j *Journey) NameKey(name string) error {
	if j.Step != StepNameKey {
		return errWrongStep
	}
	name = strings.TrimSpace(name)
	if err := tap.ValidName(name); err != nil {
		j.Problem = ErrKeyName
		return j.Problem
	}
	j.KeyName, j.Step, j.Problem = name, StepTouch, nil
	return nil
}

// ErrKeyName is a name tapd would refuse.
var ErrKeyName = fmt.Errorf("the name must be 1 to %d characters, without control characters", tap.MaxNameLength)

// PINForTouch hands the PIN to the touch step.
func (j *Journey) PINForTouch() string { return j.pin }

// Registered reports the end of the touch step. A wrong PIN goes back to
// the PIN step, a pulled key to Insert key, a cancel to naming; other
// problems stay on the touch step to try again.
func (j *Journey) Registered(m api.FIDO2Method, err error) {
	if j.Step != StepTouch {
		return
	}
	switch {
	case err == nil:
		j.Method, j.Step, j.Problem = m, StepCheckKey, nil
	case refusesPIN(err) || errors.Is(err, fido.ErrPINChangeRequired):
		j.pinRefused(j.pin, err)
	case errors.Is(err, fido.ErrKeyFull) && !j.Info.CredMgmt:
		// The key holds no passkey of this account to overwrite, and
		// cannot show or remove the others: only another key helps.
		j.pin, j.full, j.Own, j.Problem, j.Step = "", false, nil, ErrFullNoCleanup, StepKeyFull
	case errors.Is(err, fido.ErrKeyFull):
		// The key judged the PIN right: keep it to look for room.
		j.full, j.Own, j.Problem, j.Step = true, nil, nil, StepKeyFull
	case errors.Is(err, fido.ErrCancelled):
		j.Problem, j.Step = nil, StepNameKey
	case errors.Is(err, fido.ErrAlreadyRegistered) && j.backup:
		j.refuseBackup()
	case errors.Is(err, fido.ErrAlreadyRegistered):
		// The key holds a passkey of the person's already: not an error
		// to retry, a choice to make.
		j.Problem, j.Step, j.again = nil, StepKnownKey, false
	default:
		j.Problem = err
	}
}
