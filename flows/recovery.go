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
	"strings"
	"time"

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
	StepCheckKey
	StepCleanup
	StepDeletePass
	StepDone
)

var stepNames = [...]string{"welcome", "upn", "pass", "insertKey", "newPIN", "enterPIN", "pinBlocked", "nameKey", "touch",
	"checkKey", "cleanup", "deletePass", "done"}

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
	KeyName string
	Method  api.FIDO2Method
	Checked bool
	// Methods are the person's other methods, shown at clean-up.
	Methods []api.AuthenticationMethod
	Removed []api.AuthenticationMethod
	// PassDeleted or PassKept says how the journey ended.
	PassDeleted bool
	PassKept    bool
	// PassEnds is when the pass stops working, from the methods list.
	PassEnds time.Time

	now func() time.Time
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

// Start leaves Welcome.
func (j *Journey) Start() {
	if j.Step == StepWelcome {
		j.Step, j.Problem = StepUPN, nil
	}
}

// ErrUPN wraps a UPN that cannot be sent, with a reason for the person.
type ErrUPN struct{ Reason string }

func (e *ErrUPN) Error() string { return "your sign-in name " + e.Reason }

// CheckUPN validates as the person types.
func CheckUPN(s string) error {
	if _, err := tap.NormalizeUPN(s); err != nil {
		return &ErrUPN{Reason: err.Error()}
	}
	return nil
}

// SubmitUPN moves to the pass step when the UPN is well formed.
func (j *Journey) SubmitUPN(s string) error {
	if j.Step != StepUPN {
		return errWrongStep
	}
	upn, err := tap.NormalizeUPN(s)
	if err != nil {
		j.Problem = &ErrUPN{Reason: err.Error()}
		return j.Problem
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
		return
	}
	j.Session, j.Step, j.Problem = s, StepInsertKey, nil
}

// KeysSeen reports the keys plugged in now. At Insert key it picks the
// one key, or says why it cannot.
func (j *Journey) KeysSeen(keys []fido.Key) (pick bool) {
	if j.Step != StepInsertKey {
		return false
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
	if info.RemainingResidentKeys == 0 {
		j.Key, j.Problem = fido.Key{}, fido.ErrKeyFull
		return
	}
	j.Info, j.PIN, j.Problem = info, pin, nil
	switch {
	case pin.Blocked:
		j.Step = StepPINBlocked
	case pin.Set:
		j.Step = StepEnterPIN
	default:
		j.Step = StepNewPIN
	}
}

// CheckNewPIN applies the key's PIN rules to a new PIN typed twice.
func (j *Journey) CheckNewPIN(pin, again string) error {
	if err := fido.CheckPIN(pin, j.Info.MinPINLength); err != nil {
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
	if err != nil {
		j.Problem = err
		return
	}
	j.pin, j.PIN, j.Problem = pin, fido.PINState{Set: true, Retries: 8}, nil
	j.toName()
}

// EnterPIN keeps the PIN of a key that has one; the key judges it at the
// touch step, which is the first operation that needs it.
func (j *Journey) EnterPIN(pin string) {
	if j.Step != StepEnterPIN || pin == "" {
		return
	}
	j.pin, j.Problem = pin, nil
	j.toName()
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
	var pw *fido.PINWrongError
	switch {
	case err == nil:
		j.Method, j.Step, j.Problem = m, StepCheckKey, nil
	case errors.As(err, &pw):
		j.pin, j.PIN.Retries, j.Problem, j.Step = "", pw.RetriesLeft, err, StepEnterPIN
	case errors.Is(err, fido.ErrPINBlocked):
		j.pin, j.Problem, j.Step = "", err, StepPINBlocked
	case errors.Is(err, fido.ErrKeyRemoved):
		j.pin, j.Key, j.Problem, j.Step = "", fido.Key{}, err, StepInsertKey
	case errors.Is(err, fido.ErrCancelled):
		j.Problem, j.Step = nil, StepNameKey
	default:
		j.Problem = err
	}
}

// KeyChecked reports the key check; SkipCheck skips it.
func (j *Journey) KeyChecked(err error) {
	if j.Step != StepCheckKey {
		return
	}
	if err != nil {
		j.Problem = err
		return
	}
	j.Checked, j.Problem = true, nil
	j.toCleanup()
}

// SkipCheck moves on without the key check.
func (j *Journey) SkipCheck() {
	if j.Step == StepCheckKey {
		j.Problem = nil
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
	j.Methods = nil
	for _, m := range ms {
		if m.Type == api.TypeTAP && m.StartDateTime != nil {
			j.PassEnds = m.StartDateTime.Add(time.Duration(m.LifetimeInMinutes) * time.Minute)
		}
		if m.ID == j.Method.ID || m.RegisteredThisSession || m.Type == api.TypeTAP {
			continue
		}
		j.Methods = append(j.Methods, m)
	}
}

// MethodRemoved reports one removal.
func (j *Journey) MethodRemoved(id string, err error) {
	if j.Step != StepCleanup {
		return
	}
	if err != nil {
		j.Problem = err
		return
	}
	for i, m := range j.Methods {
		if m.ID == id {
			j.Removed = append(j.Removed, m)
			j.Methods = append(j.Methods[:i], j.Methods[i+1:]...)
			return
		}
	}
}

// CleanupDone moves to the pass question.
func (j *Journey) CleanupDone() {
	if j.Step == StepCleanup {
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
// still waiting first.
func (j *Journey) Back() bool {
	prev := map[Step]Step{StepUPN: StepWelcome, StepPass: StepUPN, StepNewPIN: StepInsertKey, StepEnterPIN: StepInsertKey,
		StepPINBlocked: StepInsertKey, StepNameKey: StepInsertKey, StepTouch: StepNameKey}
	p, ok := prev[j.Step]
	if !ok || (j.SignedIn() && p < StepInsertKey) {
		return false
	}
	if p == StepInsertKey {
		j.Key, j.pin = fido.Key{}, ""
	}
	j.Step, j.Problem = p, nil
	return true
}
