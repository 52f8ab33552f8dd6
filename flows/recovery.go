// Package flows holds the kiosk's journeys as plain state machines. A
// Journey knows the steps, what each step needs, and where each outcome
// leads; it does no I/O and knows nothing of Bubble Tea, so every
// transition can be tested without a terminal and another front end could
// drive the same journey. The TUI performs the I/O (tapd, the key) and
// reports the results back as method calls.
//
// One file a part of the journey, as tui/ has one a step: recovery.go
// (the steps, the Journey, going back), signin.go, key.go, pin.go,
// register.go, known.go, check.go, cleanup.go, full.go, bio.go and
// backup.go.
package flows

import (
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
)

// Step is where the person is in the recovery journey.
type Step int

// The steps, in journey order.
const (
	StepWelcome Step = iota
	StepUPN
	StepPass
	StepInsertKey
	StepNewPIN
	StepEnterPIN
	StepPINBlocked
	StepNameKey
	StepTouch
	// StepKnownKey: the key is already registered to the person. They
	// may keep it as it is (a key check finds its method) or register it
	// again.
	StepKnownKey
	StepCheckKey
	StepCleanup
	StepDeletePass
	StepDone
	// StepReplugKey: the key refuses PINs until it is unplugged and
	// plugged in again (fido.ErrPINAuthBlocked); the key watch waits for
	// it to leave, then Insert key takes it back.
	StepReplugKey
	// StepChangePIN: the key wants its PIN changed (forcePINChange)
	// before it does anything else.
	StepChangePIN
	// StepKeyFull: the key has no room for another passkey. If it holds
	// one of this account, the person may remove it; else another key.
	StepKeyFull
	// StepFingers: the key can enrol fingerprints and has none; after
	// its PIN, the person may enrol one or two (bio.go), or skip.
	StepFingers
)

var stepNames = [...]string{"welcome", "upn", "pass", "insertKey", "newPIN", "enterPIN", "pinBlocked", "nameKey", "touch",
	"knownKey", "checkKey", "cleanup", "deletePass", "done", "replugKey", "changePIN", "keyFull", "fingers"}

func (s Step) String() string { return stepNames[s] }

// Journey is one person's recovery: their sign-in, their key, what they
// changed. Secrets (the pass, the PIN) are held only as long as a step needs
// them and wiped after.
type Journey struct {
	Step Step
	// Problem is the last thing to explain to the person, if any.
	Problem error

	UPN     string
	Session api.Session
	Key     fido.Key
	Info    fido.Info
	PIN     fido.PINState
	pin     string
	// pending is a PIN typed at StepEnterPIN that the key has not yet
	// judged (PINChecked); a refused one is dropped, never resent.
	pending string
	// full: the key has no room for another passkey (Info, or Register's
	// ErrKeyFull); once the PIN is known the journey goes to StepKeyFull.
	full bool
	// Own are the passkeys of this account on a full key (StepKeyFull).
	Own []fido.Credential
	// FullUnlisted: the key is full and cannot show its passkeys (no
	// credential management). It is not refused: a key overwrites the
	// passkey of the same account in place, so registering may still
	// work; if the key holds none of this account, Register says
	// ErrKeyFull and StepKeyFull explains ErrFullNoCleanup.
	FullUnlisted bool
	// old is the PIN the key judged right just before it asked for a
	// change (ErrPINChangeRequired), held for StepChangePIN only, so the
	// person is not asked for it again.
	old string
	// checkGone: the key was pulled during the key check; KeysSeen at
	// StepCheckKey waits for it to come back, then the check runs again.
	checkGone bool

	// Fingers is the fingerprint step's state (StepFingers).
	Fingers Fingers

	KeyName string
	// Method is the key in use's registration (or the known key kept).
	Method  api.FIDO2Method
	Checked bool
	// KeptKnown: the key was registered before this visit and kept as it
	// was (Method is that registration).
	KeptKnown bool
	// Keys are the keys done this visit, in order: the first, then the
	// backup key if the person added one (backup.go).
	Keys []KeyDone
	// backup: the first key is done; Insert key offers a second one.
	backup bool
	// Methods are the person's other methods, shown at clean-up.
	Methods []api.AuthenticationMethod
	Removed []api.AuthenticationMethod
	// Failed are the removals tapd refused, with its answer.
	Failed []Removal
	marked map[string]bool
	// PassDeleted or PassKept says how the journey ended.
	PassDeleted bool
	PassKept    bool
	// PassEnds is when the pass stops working, and PassOnce whether it
	// is a one-time pass, from the methods list (tapd's session answer
	// says neither).
	PassEnds time.Time
	PassOnce bool
	// WrongPasses counts this person's wrong passes for UPN since their
	// last lock; AfterLock is set once they have met a lock.
	WrongPasses int
	AfterLock   bool

	// setAside is a key the person chose not to use (Esc at a PIN
	// step): Insert key waits for it to leave.
	setAside string
	// refused is a key that cannot hold a passkey: its refusal stays on
	// screen, and it is not read again, until it is taken out.
	refused string
	// again: at StepKnownKey, register the key anew rather than keep it.
	again      bool
	candidates []api.AuthenticationMethod
	replacing  api.AuthenticationMethod

	now func() time.Time
}

// Removal is one method clean-up could not remove, and why.
type Removal struct {
	Method api.AuthenticationMethod
	Err    error
}

// New starts a journey at Welcome. now is the clock (the day goes into a
// key's default name); nil is time.Now.
func New(now func() time.Time) *Journey {
	if now == nil {
		now = time.Now
	}
	return &Journey{now: now}
}

// Reset wipes everything but the clock: the next person starts clean.
func (j *Journey) Reset() { *j = Journey{now: j.now} }

// SignedIn reports whether a session is open.
func (j *Journey) SignedIn() bool { return j.Session.UserPrincipalName != "" }

// TimeLeft is the session's remaining time at now.
func (j *Journey) TimeLeft(now time.Time) time.Duration {
	if !j.SignedIn() {
		return 0
	}
	return j.Session.ExpiresDateTime.Sub(now)
}

// IdleCounts reports whether the idle clock runs: on every step but
// Welcome (nobody to protect yet), error screens included. While the key
// waits for a touch (touching) the key's own timeout applies instead.
func (j *Journey) IdleCounts(touching bool) bool { return j.Step != StepWelcome && !touching }

// CanSignOut reports whether a person can sign out on purpose now.
func (j *Journey) CanSignOut() bool { return j.SignedIn() && j.Step != StepDone }

// Start leaves Welcome.
func (j *Journey) Start() {
	if j.Step == StepWelcome {
		j.Step, j.Problem = StepUPN, nil
	}
}

// Back goes one step back where that makes sense, and reports whether it
// moved. Steps after the key is registered have no way back. From the
// touch step it goes back to naming; the caller cancels a touch that is
// still waiting first. From a PIN step or naming it goes to Insert key to
// use another key: the one in the port is set aside until it is taken
// out, or Insert key would pick it again at once.
func (j *Journey) Back() bool {
	prev := map[Step]Step{StepUPN: StepWelcome, StepPass: StepUPN, StepNewPIN: StepInsertKey, StepEnterPIN: StepInsertKey,
		StepPINBlocked: StepInsertKey, StepNameKey: StepInsertKey, StepTouch: StepNameKey, StepChangePIN: StepInsertKey,
		StepKeyFull: StepInsertKey}
	p, ok := prev[j.Step]
	if !ok || (j.SignedIn() && p < StepInsertKey) {
		return false
	}
	if p == StepInsertKey {
		j.setAside = j.Key.Path
		j.forgetKey()
	}
	j.Step, j.Problem = p, nil
	return true
}

// forgetKey drops everything the journey holds of the key in use, before
// Insert key takes the next one: its PIN, its name, what it holds.
func (j *Journey) forgetKey() {
	j.Key, j.pin, j.pending, j.old, j.KeyName = fido.Key{}, "", "", "", ""
	j.full, j.Own, j.FullUnlisted = false, nil, false
	j.Fingers = Fingers{}
	j.again, j.candidates, j.replacing = false, nil, api.AuthenticationMethod{}
}
