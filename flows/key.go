package flows

// Insert key: which key, and what it says about itself.

import (
	"errors"
	"slices"

	"github.com/tapkiosk/tapkiosk/fido"
)

// KeysSeen reports the keys plugged in now. At Insert key it picks the
// one key, or says why it cannot.
func (j *Journey) KeysSeen(keys []fido.Key) (pick bool) {
	if j.CheckKeyGone() {
		return j.keyBackForCheck(keys)
	}
	if j.Step == StepKnownKey {
		// The key watch: a key that leaves is done with here. The one
		// plugged in next may be another key, whose PIN the journey does
		// not hold, so Insert key reads it afresh.
		if !plugged(keys, j.Key.Path) {
			j.leaveKnownKey(fido.ErrKeyRemoved)
		}
		return false
	}
	if j.Step == StepNewPIN || j.Step == StepEnterPIN || j.Step == StepChangePIN {
		// The key watch at a PIN step: a key pulled is said at once, and
		// everything of it (a PIN held for a change) is dropped.
		if !plugged(keys, j.Key.Path) {
			j.forgetKey()
			j.Problem, j.Step = fido.ErrKeyRemoved, StepInsertKey
		}
		return false
	}
	if j.Step == StepReplugKey {
		// Wait for the key to leave; then Insert key takes it (or another
		// key) when it comes back, and asks its PIN afresh.
		if !plugged(keys, j.Key.Path) {
			j.Key, j.pin, j.pending, j.Problem, j.Step = fido.Key{}, "", "", nil, StepInsertKey
		}
		return false
	}
	if j.Step != StepInsertKey {
		return false
	}
	if j.refused != "" {
		switch {
		case !plugged(keys, j.refused):
			j.refused = ""
		case len(keys) == 1:
			return false
		}
	}
	if j.setAside != "" {
		if plugged(keys, j.setAside) {
			if !j.backup {
				// On the backup offer the key set aside is the first
				// (or a refused one): the offer says to take it out.
				j.Problem = ErrSwapKey
			}
			return false
		}
		j.setAside = ""
	}
	switch len(keys) {
	case 0:
		if j.backup {
			j.backupUnplugged()
			return false
		}
		// Keep "the key was removed" on screen until a key arrives.
		if !errors.Is(j.Problem, fido.ErrKeyRemoved) {
			j.Problem = fido.ErrNoKey
		}
		return false
	case 1:
		if j.Key.Path != keys[0].Path {
			j.Key, j.Problem = keys[0], nil
			return true
		}
		return false
	}
	j.Key, j.Problem = fido.Key{}, fido.ErrSeveralKeys
	return false
}

// plugged reports whether the key at path is among keys.
func plugged(keys []fido.Key, path string) bool {
	return slices.ContainsFunc(keys, func(k fido.Key) bool { return k.Path == path })
}

// UseSetAside takes back the key set aside: the person pressed Esc at a
// PIN step by mistake and wants the key in the port after all.
func (j *Journey) UseSetAside() {
	if j.Step == StepInsertKey && !j.backup { // on the offer it is a key done with
		j.setAside, j.Problem = "", nil
	}
}

// ErrSwapKey asks for the key the person set aside to be taken out.
var ErrSwapKey = errors.New("take out this key to use another one")

// KeyFacts reports what the key said about itself and its PIN.
func (j *Journey) KeyFacts(info fido.Info, pin fido.PINState, err error) {
	if j.Step != StepInsertKey {
		return
	}
	if err == nil && !info.ResidentKeys {
		err = &fido.UnsupportedKeyError{Reason: fido.ReasonNoResidentKeys}
	}
	if err != nil {
		if _, ok := errors.AsType[*fido.UnsupportedKeyError](err); ok {
			j.refused = j.Key.Path
		}
		j.Key, j.Problem = fido.Key{}, err
		return
	}
	j.Info, j.PIN, j.Problem = info, pin, nil
	// A full key that can list its passkeys: once the PIN is known, see
	// whether one of them is this account's. One that cannot goes on
	// anyway: re-registering this account overwrites its passkey in place
	// and needs no free slot, and only the key knows whether it holds one.
	j.full = info.RemainingResidentKeys == 0 && info.CredMgmt
	j.FullUnlisted = info.RemainingResidentKeys == 0 && !info.CredMgmt
	switch {
	case pin.Blocked:
		j.Step = StepPINBlocked
	case pin.Set && info.ForcePINChange:
		j.Step = StepChangePIN
	case pin.Set:
		j.Step = StepEnterPIN
	default:
		j.Step = StepNewPIN
	}
}
