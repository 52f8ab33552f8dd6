package tui

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fakeSvc stands in for tapd and the key in model tests; the end-to-end
// tmux tests use the real ones.
type fakeSvc struct {
	mu          sync.Mutex
	ready       error
	session     api.Session
	sessErr     error
	keys        []fido.Key
	info        fido.Info
	pin         fido.PINState
	factsErr    error
	setPIN      string
	regErrs     []error
	regPIN      string
	checkErr    error
	holds       string   // CheckKey: the key holds only this method ("" any)
	checked     []string // CheckKey's method IDs, in order
	methods     []api.AuthenticationMethod
	deleteErr   map[string]error
	deleted     []string
	passDeleted bool
	signedOut   bool
	readyCalls  atomic.Int32
	signOutWait time.Duration // how long SignOut's context gave it
	block       chan struct{} // Register waits on it (or ctx) when set
	verifyErrs  []error       // VerifyPIN's answers, in turn (then nil)
	verified    []string      // the PINs VerifyPIN was asked
	changed     [2]string     // ChangePIN's old and new
	changeErr   error
	own         []fido.Credential
	credDeleted []byte
	// credsDeleted are all DeleteCredential's ids, in order; credErrs its
	// answers, in turn (then nil).
	credsDeleted [][]byte
	credErrs     []error
	// The fingerprint sensor (FingerSample): its answers in turn, the
	// calls made, and whether CancelFinger was called.
	fingerAnswers   []fingerMsg
	fingerCalls     []fingerCall
	fingerCancelled bool
	checkPIN        string // CheckKey's PIN
	// lag holds back the answers of Ready, OpenSession, KeyFacts, Register
	// and CheckKey, as a loaded machine or a slow tapd does: the harness
	// must wait for them, never drop them.
	lag time.Duration
}

func (f *fakeSvc) slow() {
	if f.lag > 0 {
		time.Sleep(f.lag)
	}
}

func (f *fakeSvc) VerifyPIN(_ context.Context, _, pin string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verified = append(f.verified, pin)
	if len(f.verifyErrs) == 0 {
		return nil
	}
	err := f.verifyErrs[0]
	f.verifyErrs = f.verifyErrs[1:]
	return err
}
func (f *fakeSvc) ChangePIN(_, old, pin string) error {
	f.changed = [2]string{old, pin}
	return f.changeErr
}
func (f *fakeSvc) OwnCredentials(context.Context, string, string, string) ([]fido.Credential, error) {
	return f.own, nil
}
func (f *fakeSvc) DeleteCredential(_ context.Context, _, _ string, id []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.credErrs) > 0 {
		err := f.credErrs[0]
		f.credErrs = f.credErrs[1:]
		if err != nil {
			return err
		}
	}
	f.credDeleted = id
	f.credsDeleted = append(f.credsDeleted, id)
	return nil
}

func (f *fakeSvc) Ready(context.Context) error { f.slow(); f.readyCalls.Add(1); return f.ready }
func (f *fakeSvc) OpenSession(_ context.Context, upn, pass string) (api.Session, error) {
	f.slow()
	if f.sessErr != nil {
		return api.Session{}, f.sessErr
	}
	return f.session, nil
}
func (f *fakeSvc) SignOut(ctx context.Context) error {
	f.mu.Lock()
	f.signedOut = true
	if d, ok := ctx.Deadline(); ok {
		f.signOutWait = time.Until(d)
	}
	f.mu.Unlock()
	return nil
}
func (f *fakeSvc) Keys() ([]fido.Key, error) { return f.keys, nil }
func (f *fakeSvc) KeyFacts(string) (fido.Info, fido.PINState, error) {
	f.slow()
	return f.info, f.pin, f.factsErr
}
func (f *fakeSvc) SetPIN(_, pin string) error { f.setPIN = pin; return nil }
func (f *fakeSvc) Register(ctx context.Context, path, pin, name, product string) (api.FIDO2Method, error) {
	f.regPIN = pin
	f.slow()
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return api.FIDO2Method{}, fido.ErrCancelled
		}
	}
	if len(f.regErrs) > 0 {
		err := f.regErrs[0]
		f.regErrs = f.regErrs[1:]
		return api.FIDO2Method{}, err
	}
	return api.FIDO2Method{ID: "new", DisplayName: name}, nil
}
func (f *fakeSvc) CheckKey(_ context.Context, _, pin, id string) error {
	f.slow()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checked = append(f.checked, id)
	f.checkPIN = pin
	if f.holds != "" && id != f.holds {
		return fido.ErrNotRegisteredOnKey
	}
	return f.checkErr
}
func (f *fakeSvc) Methods(context.Context) ([]api.AuthenticationMethod, error) {
	return f.methods, nil
}
func (f *fakeSvc) DeleteMethod(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.deleteErr[id]; err != nil {
		return err
	}
	f.deleted = append(f.deleted, id)
	return nil
}
func (f *fakeSvc) DeletePass(context.Context) error { f.passDeleted = true; return nil }

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

type harness struct {
	t   *testing.T
	m   *Model
	svc *fakeSvc
	now time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	svc := &fakeSvc{
		session: api.Session{UserPrincipalName: "ada@example.com", DisplayName: "Ada Lovelace", ExpiresDateTime: t0.Add(10 * time.Minute)},
		keys:    []fido.Key{{Path: "virtual:k", Product: "YubiKey 5 NFC"}},
		info:    fido.Info{ResidentKeys: true, MinPINLength: 4, RemainingResidentKeys: 20},
		pin:     fido.PINState{Retries: -1},
		methods: []api.AuthenticationMethod{
			{Type: api.TypeFIDO2, ID: "new", DisplayName: "YubiKey 5 NFC 2026-11-23", RegisteredThisSession: true},
			{Type: api.TypeFIDO2, ID: "old", DisplayName: "Lost key", CreatedDateTime: t0.Add(-400 * 24 * time.Hour)},
			{Type: api.MethodType("phone"), ID: "phone", DisplayName: "+46 70 000 00 00", CreatedDateTime: t0.Add(-800 * 24 * time.Hour)},
			{Type: api.TypeTAP, ID: "tap"},
		},
	}
	h := &harness{t: t, svc: svc, now: t0}
	m, err := New(Config{Org: "Contoso", Theme: "plain", Now: func() time.Time { return h.now }, KeyPoll: time.Millisecond,
		KioskMode: true, AdminCode: "9876", TickEvery: time.Millisecond, Timer: laterTimer, StillCursor: true}, svc)
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	h.run(m.Init())
	return h
}

// laterMsg is what the harness's Timer gives at once in place of a wait:
// the harness's time stands still, so the harness decides when a timer
// fires, and the machine's speed never decides which answers a test saw.
type laterMsg struct{ fire func(time.Time) tea.Msg }

func laterTimer(_ time.Duration, fire func(time.Time) tea.Msg) tea.Cmd {
	return func() tea.Msg { return laterMsg{fire} }
}

// cmdWait bounds one Cmd in run: far beyond any fake's answer, so only a
// Cmd that never returns trips it, and the test then fails naming it.
const cmdWait = time.Minute

// watchLooks is how many rounds of timers run fires before it stops
// following them: a step's key watch looks again for ever, and the keys
// do not change while run runs, so a few looks see all there is.
const watchLooks = 5

// run executes Cmds as the Bubble Tea runtime would, feeding results back
// into Update. Every Cmd is waited for to its end; timers (Config.Timer)
// fire only when no other Cmd is left: the clock's tick is dropped (tests
// move time with advance), a key watch's next look is taken at once.
func (h *harness) run(cmd tea.Cmd) {
	h.t.Helper()
	queue := []tea.Cmd{cmd}
	for looks := 0; ; looks++ {
		var later []laterMsg
		for steps := 0; len(queue) > 0; steps++ {
			if steps == 1000 {
				h.t.Fatalf("harness: Cmds still chaining after %d steps on %s", steps, h.step())
			}
			c := queue[0]
			queue = queue[1:]
			if c == nil {
				continue
			}
			switch msg := h.await(c).(type) {
			case nil:
			case tea.BatchMsg:
				queue = append(queue, msg...)
			case laterMsg:
				later = append(later, msg)
			default:
				_, next := h.m.Update(msg)
				queue = append(queue, next)
			}
		}
		if len(later) == 0 || looks == watchLooks {
			return
		}
		for _, l := range later {
			switch msg := l.fire(h.now).(type) {
			case tickMsg:
			default:
				_, next := h.m.Update(msg)
				queue = append(queue, next)
			}
		}
	}
}

// await runs one Cmd to its end; one that does not end within cmdWait
// fails the test, naming the step it was started on.
func (h *harness) await(c tea.Cmd) tea.Msg {
	h.t.Helper()
	ch := make(chan tea.Msg, 1)
	go func() { ch <- c() }()
	select {
	case msg := <-ch:
		return msg
	case <-time.After(cmdWait):
		h.t.Fatalf("harness: a Cmd on %s did not return within %v", h.step(), cmdWait)
		return nil
	}
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	}
	if strings.HasPrefix(k, "ctrl+alt+") {
		return tea.KeyPressMsg{Code: rune(k[len(k)-1]), Mod: tea.ModCtrl | tea.ModAlt}
	}
	if strings.HasPrefix(k, "ctrl+") {
		return tea.KeyPressMsg{Code: rune(k[len(k)-1]), Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

// press sends keys; words are typed letter by letter.
func (h *harness) press(keys ...string) {
	h.t.Helper()
	for _, k := range keys {
		if len([]rune(k)) > 1 && !strings.Contains(k, "+") && !isNamed(k) {
			for _, r := range k {
				_, cmd := h.m.Update(keyMsg(string(r)))
				h.run(cmd)
			}
			continue
		}
		_, cmd := h.m.Update(keyMsg(k))
		h.run(cmd)
	}
}

func isNamed(k string) bool {
	switch k {
	case "enter", "esc", "tab", "space", "up", "down", "left", "backspace":
		return true
	}
	return false
}

func (h *harness) advance(d time.Duration) {
	h.now = h.now.Add(d)
	_, cmd := h.m.Update(tickMsg(h.now))
	h.run(cmd)
}

func (h *harness) step() flows.Step { return h.m.j.Step }

// golden compares the screen with testdata/NAME.golden (go test -update
// rewrites them).
func (h *harness) golden(name string) {
	h.t.Helper()
	got := ansi.Strip(h.m.Render())
	for i, line := range strings.Split(got, "\n") {
		if w := lipgloss.Width(line); w > 80 {
			h.t.Errorf("%s: line %d is %d wide", name, i+1, w)
		}
	}
	if strings.Contains(got, "%!") {
		h.t.Errorf("%s: a format error on screen:\n%s", name, got)
	}
	if n := strings.Count(got, "\n") + 1; n > 24 {
		h.t.Errorf("%s: %d lines, more than 24", name, n)
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		os.WriteFile(path, []byte(got), 0o644)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		h.t.Fatalf("%s: %v (run go test ./tui -update)", name, err)
	}
	if got != string(want) {
		h.t.Errorf("%s differs from its golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestHappyJourneyScreens(t *testing.T) {
	h := newHarness(t)
	h.golden("01-welcome")
	h.press("enter")
	h.press("ada@example")
	h.golden("02-upn-typing")
	h.press(".com")
	h.golden("03-upn-ok")
	h.press("enter", "Kq7mZp2x")
	h.golden("04-pass-masked")
	if strings.Contains(h.m.Render(), "Kq7mZp2x") {
		t.Fatal("the pass is shown unmasked")
	}
	h.press("enter")
	if h.step() != flows.StepNewPIN {
		t.Fatalf("step %s", h.step())
	}
	h.press("123456")
	h.golden("05-new-pin-weak")
	h.press("tab", "123456", "enter")
	if h.step() != flows.StepNameKey || h.svc.setPIN != "123456" {
		t.Fatalf("step %s pin %q", h.step(), h.svc.setPIN)
	}
	h.golden("06-name")
	h.press("enter")
	if h.step() != flows.StepCheckKey || h.svc.regPIN != "123456" {
		t.Fatalf("step %s", h.step())
	}
	h.golden("07-registered")
	h.press("enter")
	if h.step() != flows.StepInsertKey || !h.m.j.OnBackup() {
		t.Fatalf("step %s", h.step())
	}
	h.golden("07b-backup-offer")
	h.press("enter")
	if h.step() != flows.StepCleanup {
		t.Fatalf("step %s", h.step())
	}
	h.golden("08-cleanup")
	h.press("space", "enter")
	h.golden("09-cleanup-confirm")
	h.press("y")
	if len(h.svc.deleted) != 1 || h.svc.deleted[0] != "old" {
		t.Fatalf("deleted %v", h.svc.deleted)
	}
	h.press("enter")
	h.golden("10-delete-pass")
	h.press("enter")
	if h.step() != flows.StepDone || !h.svc.passDeleted {
		t.Fatal("pass")
	}
	h.golden("11-done")
	for _, secret := range []string{"Kq7mZp2x", "123456"} {
		if strings.Contains(h.m.Render(), secret) {
			t.Fatal("a secret is on screen")
		}
	}
	h.advance(16 * time.Second)
	if h.step() != flows.StepWelcome || h.m.j.SignedIn() || h.m.pass.Value() != "" || h.m.pin1.Value() != "" {
		t.Fatal("Done did not wipe and return to Welcome")
	}
}

func TestPassErrors(t *testing.T) {
	cases := map[string]error{
		"pass-wrong":    &api.Error{Status: 401, Code: api.CodeInvalidCredentials},
		"pass-expired":  &api.Error{Status: 403, Code: api.CodePassExpired},
		"pass-notyet":   &api.Error{Status: 403, Code: api.CodePassNotYetValid, StartDateTime: ptrTime(t0.Add(2 * time.Hour))},
		"pass-used":     &api.Error{Status: 403, Code: api.CodePassAlreadyUsed},
		"pass-policy":   &api.Error{Status: 403, Code: api.CodeNotInPolicy},
		"pass-lockout":  &api.Error{Status: 429, Code: api.CodeTooManyAttempts, RetryAfterSeconds: 60},
		"pass-no-tapd":  api.ErrUnreachable,
		"pass-evil-msg": &api.Error{Status: 400, Code: "surprise", Message: "bad\x1b[2J\x1b]0;owned\x07 thing"},
	}
	for name, err := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.svc.sessErr = err
			h.press("enter", "ada@example.com", "enter", "wrongpass", "enter")
			if h.step() != flows.StepPass {
				t.Fatal(h.step())
			}
			h.golden(name)
			if r := h.m.Render(); strings.Contains(r, "\x07") || strings.Contains(r, "[2J") || strings.Contains(r, "owned") {
				t.Fatal("an escape sequence from the network reached the screen")
			}
		})
	}
}

func ptrTime(t time.Time) *time.Time { return &t }

func TestKeyScreens(t *testing.T) { keyScreens(t, 0) }

// The same screens when every answer takes 200 ms (a loaded machine):
// the harness waits for each, so the journey reaches the same screens.
func TestKeyScreensSlowAnswers(t *testing.T) { keyScreens(t, 200*time.Millisecond) }

func keyScreens(t *testing.T, lag time.Duration) {
	h := newHarness(t)
	h.svc.lag = lag
	h.svc.keys = nil
	h.press("enter", "ada@example.com", "enter", "passpass", "enter")
	h.golden("key-insert")
	h.svc.keys = []fido.Key{{Path: "virtual:a"}, {Path: "virtual:b"}}
	h.m.Update(keysMsg{keys: h.svc.keys, gen: h.m.keyGen})
	h.golden("key-several")
	h.svc.keys = []fido.Key{{Path: "virtual:a", Product: "Old U2F"}}
	h.svc.factsErr = &fido.UnsupportedKeyError{Reason: fido.ReasonU2FOnly}
	_, cmd := h.m.Update(keysMsg{keys: h.svc.keys, gen: h.m.keyGen})
	// key-u2f was recorded where the old harness's step cap happened to
	// stop the watch: with the U2F key read under way. Taken there on
	// purpose now; the read's answer must then say why the key is refused.
	h.golden("key-u2f")
	h.run(cmd)
	if s := h.screen(); h.step() != flows.StepInsertKey || !strings.Contains(s, "U2F only") {
		t.Fatalf("after reading the U2F key: %s\n%s", h.step(), s)
	}

	h2 := newHarness(t)
	h2.svc.lag = lag
	h2.svc.pin = fido.PINState{Set: true, Retries: 2}
	h2.press("enter", "ada@example.com", "enter", "passpass", "enter")
	h2.golden("pin-enter-low")
	h2.svc.regErrs = []error{&fido.PINWrongError{RetriesLeft: 1}}
	h2.press("0000", "enter", "enter")
	if h2.step() != flows.StepEnterPIN {
		t.Fatal(h2.step())
	}
	h2.golden("pin-wrong")
	h2.svc.regErrs = []error{fido.ErrPINBlocked}
	h2.press("0000", "enter", "enter")
	h2.golden("pin-blocked")
}

func TestTouchCancelAndRemoval(t *testing.T) {
	h := newHarness(t)
	h.svc.block = make(chan struct{})
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "2468", "tab", "2468", "enter")
	_, cmd := h.m.Update(keyMsg("enter")) // name → touch; Register blocks
	if h.step() != flows.StepTouch {
		t.Fatal(h.step())
	}
	h.golden("touch")
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	h.press("esc") // cancels the context
	h.m.Update(<-done)
	if h.step() != flows.StepNameKey {
		t.Fatalf("after Esc: %s", h.step())
	}
	h.svc.block = nil
	h.svc.regErrs = []error{fido.ErrKeyRemoved}
	h.svc.keys = nil // pulled out, not put back yet
	h.press("enter")
	if h.step() != flows.StepInsertKey {
		t.Fatalf("after removal: %s", h.step())
	}
	h.golden("key-removed")
}

func TestKioskModeIdleAndExpiry(t *testing.T) {
	h := newHarness(t)
	for _, k := range []string{"ctrl+c", "ctrl+z", "ctrl+\\"} {
		_, cmd := h.m.Update(keyMsg(k))
		h.run(cmd)
		if h.m.Quitting() {
			t.Fatalf("%s quit a kiosk", k)
		}
	}
	h.press("ctrl+alt+x", "1111", "enter")
	if h.m.Quitting() || !h.m.adminOpen {
		t.Fatal("wrong admin code")
	}
	h.golden("admin-wrong")
	h.press("esc")
	h.press("enter", "ada@example.com", "enter", "passpass", "enter")
	h.advance(61 * time.Second)
	if !h.m.idleAsk {
		t.Fatal("no idle question")
	}
	h.golden("idle")
	h.press("x")
	if h.m.idleAsk || h.step() != flows.StepNewPIN {
		t.Fatal("a key press did not dismiss the idle question")
	}
	h.advance(81 * time.Second)
	if h.step() != flows.StepWelcome || !h.svc.signedOut {
		t.Fatal("idle did not sign out")
	}
	h.golden("idle-signed-out")

	h.press("enter", "ada@example.com", "enter", "passpass", "enter")
	h.now = t0.Add(11 * time.Minute)
	h.advance(0)
	if h.step() != flows.StepWelcome || !strings.Contains(h.m.Render(), "time ran out") {
		t.Fatal("session expiry")
	}
	h.press("ctrl+alt+x", "9876", "enter")
	if !h.m.Quitting() {
		t.Fatal("the admin code did not exit")
	}
}

func TestLanguageAndUnreachable(t *testing.T) {
	h := newHarness(t)
	h.press("ctrl+l")
	h.golden("welcome-sv")
	h.press("ctrl+l")
	h.svc.ready = errors.New("down")
	h.advance(5 * time.Second)
	h.run(h.m.checkReady())
	h.golden("welcome-unreachable")
}

func TestNewPINRules(t *testing.T) {
	h := newHarness(t)
	h.svc.info.MinPINLength = 6
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "1234", "tab", "1234", "enter")
	if h.step() != flows.StepNewPIN || h.svc.setPIN != "" {
		t.Fatal("a short PIN reached the key")
	}
	h.golden("pin-too-short")
	h.press("135790", "tab", "135791", "enter")
	h.golden("pin-differ")
}

// TestKeyErrorsInEveryLanguage makes sure each key problem has its own
// sentence in each language, none a raw code.
func TestKeyErrorsInEveryLanguage(t *testing.T) {
	errs := []error{fido.ErrNoKey, fido.ErrSeveralKeys, fido.ErrPINRequired, fido.ErrPINNotSet, fido.ErrPINBlocked,
		fido.ErrPINAuthBlocked, fido.ErrTouchTimeout, fido.ErrKeyRemoved, fido.ErrCancelled, fido.ErrKeyFull, fido.ErrOperationDenied,
		fido.ErrAlreadyRegistered, fido.ErrNotRegisteredOnKey, &fido.PINWrongError{RetriesLeft: 2}, &fido.PINWrongError{RetriesLeft: 6},
		&fido.PINPolicyError{Rule: fido.RuleTooShort, MinLen: 6}, &fido.PINPolicyError{Rule: fido.RuleTooLong},
		&fido.PINPolicyError{Rule: fido.RuleNUL}, &fido.PINPolicyError{Rule: fido.RuleKeyPolicy},
		&fido.UnsupportedKeyError{Reason: fido.ReasonU2FOnly}, &fido.UnsupportedKeyError{Reason: fido.ReasonNoResidentKeys},
		&fido.KeyError{Op: "x", Code: -7}, errors.New("error -7")}
	for _, lang := range Languages() {
		h := newHarness(t)
		h.m.t, _ = NewT(lang)
		seen := map[string]bool{}
		for _, e := range errs {
			msg := h.m.explain(e)
			if msg == "" || strings.Contains(msg, "key.err.") || strings.Contains(msg, "-7") || strings.Contains(msg, "libfido2") {
				t.Errorf("%s %v: %q", lang, e, msg)
			}
			seen[msg] = true
		}
		if len(seen) < len(errs)-2 {
			t.Errorf("%s: %d messages for %d errors", lang, len(seen), len(errs))
		}
	}
	sv := newHarness(t)
	sv.m.t, _ = NewT("sv")
	if !strings.Contains(sv.m.explain(fido.ErrKeyRemoved), "Nyckeln togs ut") {
		t.Fatal("Swedish screens get English key errors")
	}
}

func TestShortPassAndResize(t *testing.T) {
	h := newHarness(t)
	h.press("enter", "ada@example.com", "enter", "abc", "enter")
	if h.step() != flows.StepPass || !strings.Contains(h.m.Render(), "A pass is 8 to 48 characters") {
		t.Fatalf("a 3-character pass was sent: %s", h.step())
	}
	for _, size := range [][2]int{{120, 40}, {80, 24}, {60, 20}} {
		h.m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		lines := strings.Split(ansi.Strip(h.m.Render()), "\n")
		if len(lines) > size[1] {
			t.Errorf("%dx%d: %d lines", size[0], size[1], len(lines))
		}
		if w := lipgloss.Width(lines[0]); w != size[0] {
			t.Errorf("%dx%d: the header is %d wide, not the window's width", size[0], size[1], w)
		}
	}
}

// Out of kiosk mode (the demo), Ctrl+C, Ctrl+Z and Ctrl+\ quit; a person
// signed in is signed out at tapd first, as the admin exit does, within
// a short wait so that a tapd out of reach cannot hold the exit.
func TestQuitSignsOutFirst(t *testing.T) {
	for _, k := range []string{"ctrl+c", "ctrl+z", "ctrl+\\"} {
		h := newHarness(t)
		h.m.cfg.KioskMode = false
		h.press("enter", "ada@example.com", "enter", "passpass", "enter")
		if !h.m.j.SignedIn() {
			t.Fatal("not signed in")
		}
		_, cmd := h.m.Update(keyMsg(k))
		if !h.m.Quitting() || cmd == nil {
			t.Fatalf("%s did not quit", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok || !h.svc.signedOut {
			t.Fatalf("%s quit without signing out (signed out %v)", k, h.svc.signedOut)
		}
		if h.svc.signOutWait <= 0 || h.svc.signOutWait > quitSignOutWait {
			t.Fatalf("the sign-out on quitting may take %v", h.svc.signOutWait)
		}
		if h.m.j.SignedIn() || h.step() != flows.StepWelcome {
			t.Fatal("the person is still held while the kiosk quits")
		}
	}
	h := newHarness(t)
	h.m.cfg.KioskMode = false
	_, cmd := h.m.Update(keyMsg("ctrl+c"))
	if _, ok := cmd().(tea.QuitMsg); !ok || h.svc.signedOut {
		t.Fatal("nobody signed in: quit at once, with no sign-out")
	}
}
