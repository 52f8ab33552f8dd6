package flows

// A backup key in the same visit. Microsoft and the FIDO Alliance advise
// two keys a person, and Entra's own registration page lets a person add
// another at once: after the first key (registered and checked, or kept),
// Insert key asks for a second one, with its own PIN, name, touch and
// check, or the person goes on without it. Then clean-up and the pass, as
// with one key: the pass is deleted only at the end.

import (
	"errors"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/tap"
)

// KeyDone is a key this visit ends with: registered here, or kept as it
// was (Kept), and whether its key check passed.
type KeyDone struct {
	Method  api.FIDO2Method
	Checked bool
	Kept    bool
}

// BackupTime is the least session time left for which a backup key is
// offered. A PIN, a name and two touches take a person a minute or two;
// with less left the session would end midway, so the journey goes on to
// clean-up and the pass while there is time for them.
const BackupTime = 2 * time.Minute

// ErrBackupHoldsYours is a second key that already holds a passkey of the
// person's (the relying party's excludeCredentials): the key just
// registered plugged in again, or one registered before this visit.
var ErrBackupHoldsYours = errors.New("this key already holds a passkey of yours: use another key as the backup")

// keyDone records the key in use as done, then offers a backup key (once,
// with time for it) or goes on to clean-up.
func (j *Journey) keyDone() {
	j.Keys = append(j.Keys, KeyDone{Method: j.Method, Checked: j.Checked, Kept: j.KeptKnown})
	if j.backup || j.TimeLeft(j.now()) < BackupTime {
		j.toCleanup()
		return
	}
	// The first key stays in the port until it is taken out: it is set
	// aside, so Insert key waits for another key.
	j.setAside = j.Key.Path
	j.forgetKey()
	j.Method, j.Checked, j.KeptKnown, j.checkGone = api.FIDO2Method{}, false, false, false
	j.backup, j.Step, j.Problem = true, StepInsertKey, nil
}

// OnBackup reports whether the journey is on the backup key: Insert key
// is the offer, and the steps after it are the second key's.
func (j *Journey) OnBackup() bool { return j.backup }

// SkipBackup goes on without a (further) backup key, from the offer:
// to clean-up, holding nothing of any key in the port.
func (j *Journey) SkipBackup() {
	if j.Step != StepInsertKey || !j.backup {
		return
	}
	j.setAside, j.Problem = "", nil
	j.forgetKey()
	j.toCleanup()
}

// refuseBackup is the relying party's "already registered" for the second
// key: not a key to keep or register again, but the wrong key for a
// backup. Back to the offer, the key set aside until it is taken out.
func (j *Journey) refuseBackup() {
	j.setAside = j.Key.Path
	j.forgetKey()
	j.Problem, j.Step = ErrBackupHoldsYours, StepInsertKey
}

// defaultName is the key's default name: its model and the day. A backup
// key of the same model on the same day would get the first key's name,
// so it gets " (2)" after it, and the person's two keys can be told apart
// in every list of their methods.
func (j *Journey) defaultName() string {
	name := tap.DefaultKeyName(j.Key.Product, j.now())
	for _, k := range j.Keys {
		if n := name + " (2)"; k.Method.DisplayName == name && tap.ValidName(n) == nil {
			return n
		}
	}
	return name
}

// isNew reports a method this visit registered or kept, which clean-up
// never offers.
func (j *Journey) isNew(m api.AuthenticationMethod) bool {
	if m.ID == j.Method.ID || m.RegisteredThisSession {
		return true
	}
	for _, k := range j.Keys {
		if k.Method.ID == m.ID {
			return true
		}
	}
	return false
}

// backupUnplugged is what Insert key says on the offer with no key in the
// port: nothing, the offer says what to do (fido.ErrNoKey is hidden there
// as at the first Insert key), unless the last key was refused.
func (j *Journey) backupUnplugged() {
	if !errors.Is(j.Problem, ErrBackupHoldsYours) && !errors.Is(j.Problem, fido.ErrKeyRemoved) {
		j.Problem = fido.ErrNoKey
	}
}
