// Package flows holds the kiosk's journeys as plain state machines. A
// Journey knows the steps, what each step needs, and where each outcome
// leads; it does no I/O and knows nothing of Bubble Tea, so every
// transition can be tested without a terminal and another front end could
// drive the same journey. The TUI performs the I/O (tapd, the key) and
// reports the results back as method calls.
package flows

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/tap"
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
)

var stepNames = [...]string{"welcome", "upn", "pass", "insertKey", "newPIN", "enterPIN", "pinBlocked", "nameKey", "touch",
	"knownKey", "checkKey", "cleanup", "deletePass", "done", "replugKey", "changePIN", "keyFull"}

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

	KeyName string
	Method  api.FIDO2Method
	Checked bool
	// KeptKnown: the key was registered before this visit and kept as it
	// was (Method is that registration).
	KeptKnown bool
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

// ErrUPN is a UPN that cannot be sent. Reason is one of the UPN*
// reasons, for the kiosk's catalogue; Detail is tap's English sentence,
// for logs.
type ErrUPN struct{ Reason, Detail string }

func (e *ErrUPN) Error() string { return "your sign-in name " + e.Detail }

// Why a UPN is refused. tap.NormalizeUPN is the judge; these name its
// verdict so that each language can say it.
const (
	UPNEmpty   = "empty"
	UPNLong    = "long"
	UPNControl = "control"
	UPNSpace   = "space"
	UPNForm    = "form"
	UPNDomain  = "domain"
)

// CheckUPN validates as the person types.
func CheckUPN(s string) error {
	if _, err := tap.NormalizeUPN(s); err != nil {
		return &ErrUPN{Reason: upnReason(s), Detail: err.Error()}
	}
	return nil
}

// upnReason names why tap refused s, in the order tap checks.
func upnReason(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return UPNEmpty
	case !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0:
		return UPNControl
	case utf8.RuneCountInString(s) > tap.MaxUPNLength:
		return UPNLong
	case strings.IndexFunc(s, unicode.IsSpace) >= 0:
		return UPNSpace
	case strings.Count(s, "@") != 1 || strings.HasPrefix(s, "@") || strings.HasSuffix(s, "@"):
		return UPNForm
	}
	return UPNDomain
}

// SubmitUPN moves to the pass step when the UPN is well formed.
func (j *Journey) SubmitUPN(s string) error {
	if j.Step != StepUPN {
		return errWrongStep
	}
	if err := CheckUPN(s); err != nil {
		j.Problem = err
		return err
	}
	upn, _ := tap.NormalizeUPN(s)
	if tap.UPNKey(upn) != tap.UPNKey(j.UPN) {
		j.WrongPasses, j.AfterLock = 0, false // another account's count
	}
	j.UPN, j.Step, j.Problem = upn, StepPass, nil
	return nil
}

var errWrongStep = errors.New("not at that step")

// SignInResult reports tapd's answer to the pass.
func (j *Journey) SignInResult(s api.Session, err error) {
	if j.Step != StepPass {
		return
	}
	if err != nil {
		j.Problem = err // the TUI explains tapd's code: wrong, expired, locked...
		var ae *api.Error
		if errors.As(err, &ae) {
			switch {
			case ae.Code == api.CodeInvalidCredentials && j.AfterLock:
				// After a lock tapd allows one guess per round, and a wrong
				// one locks again (429). A plain "wrong" means tapd no
				// longer holds the lock (an admin's unlock, a new pass):
				// tapd is the truth, so count afresh.
				j.WrongPasses, j.AfterLock = 1, false
			case ae.Code == api.CodeInvalidCredentials:
				j.WrongPasses++
			case ae.Code == api.CodeTooManyAttempts:
				j.WrongPasses, j.AfterLock = 0, true
			}
		}
		return
	}
	j.Session, j.Step, j.Problem = s, StepInsertKey, nil
	j.WrongPasses, j.AfterLock = 0, false // a right pass clears tapd's count
}

// LockThreshold is tapd's published number of wrong passes that lock an
// account's pass sign-in (recovery.DefaultLockout): 10, then a minute.
const LockThreshold = 10

// TriesBeforeLock says how many more wrong passes may lock the account's
// pass sign-in. tapd does not say how many it has counted (that would
// tell whether the account exists), so the kiosk counts this person's own
// wrong tries: others may have tried too, so before a lock the figure is
// an upper bound (exact false). After a lock tapd allows one guess per
// round, so the next wrong try locks again for certain (exact true).
func (j *Journey) TriesBeforeLock() (n int, exact bool) {
	if j.AfterLock {
		return 1, true
	}
	return max(LockThreshold-j.WrongPasses, 0), false
}

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
	if j.setAside != "" {
		if plugged(keys, j.setAside) {
			j.Problem = ErrSwapKey
			return false
		}
		j.setAside = ""
	}
	switch len(keys) {
	case 0:
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
	if j.Step == StepInsertKey {
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
	if err != nil {
		j.Key, j.Problem = fido.Key{}, err
		return
	}
	if !info.ResidentKeys {
		j.Key, j.Problem = fido.Key{}, &fido.UnsupportedKeyError{Reason: fido.ReasonNoResidentKeys}
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
	if err := j.CheckFirstPIN(pin); err != nil {
		return err
	}
	if pin != again {
		return ErrPINsDiffer
	}
	return nil
}

// ErrPINsDiffer is a new PIN typed differently the second time.
var ErrPINsDiffer = errors.New("the two PINs differ")

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
// passkeys, or to naming.
func (j *Journey) pinKnown() {
	if j.full {
		j.Step, j.Own = StepKeyFull, nil
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

func (j *Journey) toName() {
	j.Step = StepNameKey
	if j.KeyName == "" {
		j.KeyName = tap.DefaultKeyName(j.Key.Product, j.now())
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
	case errors.Is(err, fido.ErrAlreadyRegistered):
		// The key holds a passkey of the person's already: not an error
		// to retry, a choice to make.
		j.Problem, j.Step, j.again = nil, StepKnownKey, false
	default:
		j.Problem = err
	}
}

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
	j.toCleanup()
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
	j.toCleanup()
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
		j.toCleanup()
	}
}

func (j *Journey) toCleanup() {
	j.pin = "" // the PIN's last use was the key check
	j.Step = StepCleanup
}

// MethodsLoaded lists the person's methods for clean-up, leaving out the
// new key and the pass, which clean-up does not offer.
func (j *Journey) MethodsLoaded(ms []api.AuthenticationMethod, err error) {
	if j.Step != StepCleanup {
		return
	}
	if err != nil {
		j.Problem = err
		return
	}
	j.PassLoaded(ms)
	j.Methods = nil
	for _, m := range ms {
		if m.ID == j.Method.ID || m.RegisteredThisSession || m.Type == api.TypeTAP {
			continue
		}
		j.Methods = append(j.Methods, m)
	}
}

// PassLoaded notes what the methods list says of the pass: when it ends
// and whether it is one-time.
func (j *Journey) PassLoaded(ms []api.AuthenticationMethod) {
	for _, m := range ms {
		if m.Type != api.TypeTAP {
			continue
		}
		if m.StartDateTime != nil {
			j.PassEnds = m.StartDateTime.Add(time.Duration(m.LifetimeInMinutes) * time.Minute)
		}
		j.PassOnce = m.IsUsableOnce != nil && *m.IsUsableOnce
	}
}

// Mark marks or unmarks a method for removal at clean-up.
func (j *Journey) Mark(id string) {
	if j.Step != StepCleanup {
		return
	}
	if j.marked == nil {
		j.marked = map[string]bool{}
	}
	j.marked[id] = !j.marked[id]
}

// IsMarked reports whether the method is marked for removal.
func (j *Journey) IsMarked(id string) bool { return j.marked[id] }

// Marked lists the marked methods, in list order.
func (j *Journey) Marked() []api.AuthenticationMethod {
	var out []api.AuthenticationMethod
	for _, m := range j.Methods {
		if j.marked[m.ID] {
			out = append(out, m)
		}
	}
	return out
}

// MethodRemoved reports one removal. A refusal is kept with the method,
// so each result can be shown; the method stays in the list to try again.
func (j *Journey) MethodRemoved(id string, err error) {
	if j.Step != StepCleanup {
		return
	}
	delete(j.marked, id)
	for i, m := range j.Methods {
		if m.ID != id {
			continue
		}
		j.Failed = slices.DeleteFunc(j.Failed, func(r Removal) bool { return r.Method.ID == id })
		if err != nil {
			j.Failed = append(j.Failed, Removal{m, err})
			return
		}
		j.Removed = append(j.Removed, m)
		j.Methods = append(j.Methods[:i], j.Methods[i+1:]...)
		return
	}
}

// CleanupDone moves to the pass question. Marks not yet removed stay:
// the person must remove or unmark them first.
func (j *Journey) CleanupDone() {
	if j.Step == StepCleanup && len(j.Marked()) == 0 {
		j.Step, j.Problem = StepDeletePass, nil
	}
}

// PassResult reports whether the pass was deleted (or kept, when keep).
func (j *Journey) PassResult(keep bool, err error) {
	if j.Step != StepDeletePass {
		return
	}
	if err != nil {
		j.Problem = err
		return
	}
	j.PassDeleted, j.PassKept = !keep, keep
	j.Step, j.Problem = StepDone, nil
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
	j.again, j.candidates, j.replacing = false, nil, api.AuthenticationMethod{}
}

// OwnCredentials picks, from a key's passkeys, those of this account at
// the relying party rpID: the same rp id, and a user handle equal to
// handle (the account's user.id at registration) or a user name or handle
// equal to the UPN.
func OwnCredentials(cs []fido.Credential, rpID, upn string, handle []byte) []fido.Credential {
	var out []fido.Credential
	for _, c := range cs {
		if !strings.EqualFold(c.RPID, rpID) {
			continue
		}
		if (len(handle) > 0 && string(c.UserHandle) == string(handle)) || strings.EqualFold(c.UserName, upn) ||
			strings.EqualFold(string(c.UserHandle), upn) {
			out = append(out, c)
		}
	}
	return out
}

// ErrFullNoCleanup is a full key that holds no passkey of this account
// to overwrite and cannot show or remove its passkeys (no credential
// management): nothing at this kiosk can make room on it.
var ErrFullNoCleanup = errors.New("this key is full and cannot be cleaned up here")

// CredentialsFound reports the passkeys of this account found on a full
// key (already picked by OwnCredentials). None means the key is full of
// other accounts' passkeys: the person needs another key.
func (j *Journey) CredentialsFound(own []fido.Credential, err error) {
	if j.Step != StepKeyFull {
		return
	}
	if err != nil {
		if refusesPIN(err) {
			j.pinRefused("", err)
			return
		}
		j.Problem = err
		return
	}
	j.Own = own
	if len(own) == 0 {
		j.Problem = fido.ErrKeyFull
		return
	}
	j.Problem = nil
}

// ListsCredentials reports whether StepKeyFull can look at the key's
// passkeys (credential management); one that cannot only explains.
func (j *Journey) ListsCredentials() bool { return j.Step == StepKeyFull && j.Info.CredMgmt }

// CredentialsToRemove are the passkeys of this account StepKeyFull offers
// to remove, all of them, after one confirmation that names each: they
// are this account's old registrations, and the new one replaces them.
func (j *Journey) CredentialsToRemove() []fido.Credential {
	if j.Step != StepKeyFull {
		return nil
	}
	return j.Own
}

// CredentialRemoved reports the removal of one of CredentialsToRemove (by
// its id). A refusal stays at StepKeyFull with the rest, to try again;
// once all are gone the key has room, and is named and registered.
func (j *Journey) CredentialRemoved(id []byte, err error) {
	if j.Step != StepKeyFull {
		return
	}
	i := slices.IndexFunc(j.Own, func(c fido.Credential) bool { return string(c.ID) == string(id) })
	if i < 0 {
		return
	}
	if err != nil && !errors.Is(err, fido.ErrNotRegisteredOnKey) {
		j.Problem = err
		return
	}
	j.Own, j.Problem = slices.Delete(slices.Clone(j.Own), i, i+1), nil
	if len(j.Own) == 0 {
		j.full, j.Own = false, nil
		j.toName()
	}
}
