package flows

// The key check after registering: the key signs in once.

import (
	"errors"

	"github.com/tapkiosk/tapkiosk/fido"
)

// KeyChecked reports the key check; SkipCheck skips it. A key pulled
// during the check is waited for (CheckKeyGone): KeysSeen takes it back
// when it is plugged in again, and the check runs again with the PIN the
// journey still holds; the person may skip instead.
func (j *Journey) KeyChecked(err error) {
	if j.Step != StepCheckKey {
		return
	}
	if errors.Is(err, fido.ErrKeyRemoved) {
		j.checkGone, j.Key.Path, j.Problem = true, "", err
		return
	}
	if err != nil {
		j.Problem = err
		return
	}
	j.Checked, j.Problem = true, nil
	j.keyDone()
}

// CheckKeyGone reports that the key check waits for the key to be
// plugged in again.
func (j *Journey) CheckKeyGone() bool { return j.Step == StepCheckKey && j.checkGone }

// ErrNotTheRegisteredKey is a key plugged in during the key check that is
// not the model just registered: its PIN is not the one the journey holds.
var ErrNotTheRegisteredKey = errors.New("this is not the key that was just registered")

// keyBackForCheck takes back the key pulled during the key check: one
// key, of the model just registered (the check would send it the PIN
// the journey holds, which another key would count as a wrong try).
func (j *Journey) keyBackForCheck(keys []fido.Key) (pick bool) {
	switch len(keys) {
	case 0:
		if !errors.Is(j.Problem, fido.ErrKeyRemoved) {
			j.Problem = fido.ErrKeyRemoved
		}
		return false
	case 1:
		if keys[0].Product != j.Key.Product {
			j.Problem = ErrNotTheRegisteredKey
			return false
		}
		j.Key, j.checkGone, j.Problem = keys[0], false, nil
		return true
	}
	j.Problem = fido.ErrSeveralKeys
	return false
}

// SkipCheck moves on without the key check.
func (j *Journey) SkipCheck() {
	if j.Step == StepCheckKey {
		j.Problem, j.checkGone = nil, false
		j.keyDone()
	}
}
