package flows

// A key already registered to the person: keep it, or register it again.

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
)

// ChooseKnownKey records the choice at StepKnownKey: keep the key as it
// is (again false) or register it anew. Either way the key check finds
// which of the person's methods the key holds first.
func (j *Journey) ChooseKnownKey(again bool) {
	if j.Step == StepKnownKey {
		j.again, j.Problem = again, nil
	}
}

// KnownKeyAgain reports the choice made at StepKnownKey.
func (j *Journey) KnownKeyAgain() bool { return j.again }

// KnownKeyCandidates takes the person's methods and returns the ones the
// key may hold, most likely first: their FIDO2 keys from before this
// visit, those of the key's model (AAGUID) first, newest first. The key
// check tries them in this order; a key that holds none of them answers
// at once, without a touch.
func (j *Journey) KnownKeyCandidates(ms []api.AuthenticationMethod) []api.AuthenticationMethod {
	j.PassLoaded(ms)
	aaguid := ""
	if j.Info.AAGUID != ([16]byte{}) {
		aaguid = fmt.Sprintf("%x-%x-%x-%x-%x", j.Info.AAGUID[0:4], j.Info.AAGUID[4:6], j.Info.AAGUID[6:8], j.Info.AAGUID[8:10], j.Info.AAGUID[10:])
	}
	var same, other []api.AuthenticationMethod
	for _, m := range ms {
		if m.Type != api.TypeFIDO2 || m.RegisteredThisSession {
			continue
		}
		if aaguid != "" && strings.EqualFold(m.AAGUID, aaguid) {
			same = append(same, m)
		} else {
			other = append(other, m)
		}
	}
	newest := func(a []api.AuthenticationMethod) {
		sort.SliceStable(a, func(i, k int) bool { return a[i].CreatedDateTime.After(a[k].CreatedDateTime) })
	}
	newest(same)
	newest(other)
	j.candidates = append(same, other...)
	return j.candidates
}

// KnownKeyChecked reports the key check of candidate id. It returns the
// next candidate to try when the key does not hold this one. When the key
// holds it, the journey keeps that method (and goes to clean-up) or, if
// the person chose to register again, waits for ReplacedKnownKey.
func (j *Journey) KnownKeyChecked(id string, err error) (next string) {
	if j.Step != StepKnownKey {
		return ""
	}
	idx := -1
	for i, m := range j.candidates {
		if m.ID == id {
			idx = i
		}
	}
	if errors.Is(err, fido.ErrNotRegisteredOnKey) && idx >= 0 && idx+1 < len(j.candidates) {
		return j.candidates[idx+1].ID
	}
	if otherKey(err) {
		j.leaveKnownKey(err)
		return ""
	}
	if err != nil || idx < 0 {
		if err == nil {
			err = fido.ErrNotRegisteredOnKey
		}
		j.Problem = err
		return ""
	}
	m := j.candidates[idx]
	if j.again {
		j.replacing = m
		return ""
	}
	j.Method = api.FIDO2Method{ID: m.ID, DisplayName: m.DisplayName, AAGUID: m.AAGUID, Model: m.Model, CreatedDateTime: m.CreatedDateTime}
	j.Checked, j.KeptKnown, j.Problem = true, true, nil
	j.keyDone()
	return ""
}

// otherKey reports a key check's answer that says the key in the port is
// not the one whose PIN the journey holds: it left, or another key took
// its place faster than the key watch looks (it has no PIN, or refuses
// the one the key in the port judged right a moment ago).
func otherKey(err error) bool { return refusesPIN(err) || errors.Is(err, fido.ErrPINNotSet) }

// refusesPIN reports an answer of the key's that ends the use of the PIN
// the journey holds: wrong, blocked, refused until a replug, or the key
// gone. pinRefused says where each leads.
func refusesPIN(err error) bool {
	var pw *fido.PINWrongError
	return errors.As(err, &pw) || errors.Is(err, fido.ErrPINBlocked) || errors.Is(err, fido.ErrPINAuthBlocked) ||
		errors.Is(err, fido.ErrKeyRemoved)
}

// leaveKnownKey goes back to Insert key from StepKnownKey, holding
// nothing of the key: its PIN, its name, the choice, the candidates.
// "The key was removed" stays until a key is back; a key swapped
// unseen is simply read afresh.
func (j *Journey) leaveKnownKey(err error) {
	j.forgetKey()
	j.Problem = nil
	if errors.Is(err, fido.ErrKeyRemoved) {
		j.Problem = err
	}
	j.Step = StepInsertKey
}

// Replacing is the old registration to remove before registering the
// key again, once the key check has found it.
func (j *Journey) Replacing() (api.AuthenticationMethod, bool) {
	return j.replacing, j.replacing.ID != ""
}

// ReplacedKnownKey reports the removal of the key's old registration;
// then the key is named and registered as a new one.
func (j *Journey) ReplacedKnownKey(err error) {
	if j.Step != StepKnownKey || j.replacing.ID == "" {
		return
	}
	if err != nil {
		j.Problem = err
		return
	}
	j.Removed = append(j.Removed, j.replacing)
	j.replacing, j.Problem = api.AuthenticationMethod{}, nil
	j.toName()
}
