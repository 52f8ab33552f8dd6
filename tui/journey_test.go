package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
)

func (h *harness) screen() string { return ansi.Strip(h.m.Render()) }

func (h *harness) toName() {
	h.t.Helper()
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "2468", "tab", "2468", "enter")
	if h.step() != flows.StepNameKey {
		h.t.Fatalf("not at naming: %s", h.step())
	}
}

// Issue 12, item 1: after a touch time-out the session no longer stays
// open until tapd's limit: idle counts on the error screen and signs out.
// While the key really waits, idle does not count.
func TestIdleSignsOutAfterAFailedTouch(t *testing.T) {
	h := newHarness(t)
	h.toName()
	h.svc.regErrs = []error{fido.ErrTouchTimeout}
	h.press("enter")
	if h.step() != flows.StepTouch || h.m.touching {
		t.Fatalf("step %s touching %v", h.step(), h.m.touching)
	}
	h.golden("touch-timeout")
	if strings.Contains(h.screen(), "Touch your key now") {
		t.Fatal("the touch box is drawn over the error")
	}
	h.advance(61 * time.Second)
	if !h.m.idleAsk {
		t.Fatal("no idle question on the touch error screen")
	}
	h.advance(20 * time.Second)
	if h.step() != flows.StepWelcome || !h.svc.signedOut || h.m.j.SignedIn() {
		t.Fatal("the touch error screen kept the session open")
	}

	// While the key waits, the key's own timeout applies, not idle.
	h2 := newHarness(t)
	h2.toName()
	h2.svc.block = make(chan struct{})
	_, cmd := h2.m.Update(keyMsg("enter"))
	if !h2.m.touching {
		t.Fatal("not touching")
	}
	h2.advance(2 * time.Minute)
	if h2.m.idleAsk || h2.step() != flows.StepTouch {
		t.Fatal("idle interrupted a touch in progress")
	}
	close(h2.svc.block)
	h2.svc.regErrs = []error{fido.ErrTouchTimeout}
	h2.m.Update(cmd())
	h2.advance(59 * time.Second)
	if h2.m.idleAsk {
		t.Fatal("idle counted from the last key press, not from the touch's end")
	}
}

// Item 2: Enter with marks removes them after one confirmation that names
// them, and each result is shown.
func TestCleanupRemovesWhatWasMarked(t *testing.T) {
	h := newHarness(t)
	h.svc.deleteErr = map[string]error{"phone": &api.Error{Status: 409, Code: api.CodeMethodInUse}}
	h.toName()
	h.press("enter", "enter", "enter") // the touch, the check, no backup key
	if h.step() != flows.StepCleanup {
		t.Fatal(h.step())
	}
	if strings.Contains(h.screen(), "remove") {
		t.Fatal("the help offers removal with nothing marked")
	}
	h.press("space", "down", "space")
	if !strings.Contains(h.screen(), "enter remove 2 marked") {
		t.Fatalf("help:\n%s", h.screen())
	}
	h.press("enter")
	s := h.screen()
	if !strings.Contains(s, "Remove these 2 methods?") || !strings.Contains(s, `"Lost key"`) || !strings.Contains(s, `"+46 70 000 00 00"`) {
		t.Fatalf("the confirmation does not name them:\n%s", s)
	}
	if len(h.svc.deleted) != 0 {
		t.Fatal("removed before the confirmation")
	}
	h.press("y")
	h.golden("cleanup-results")
	s = h.screen()
	if len(h.svc.deleted) != 1 || h.svc.deleted[0] != "old" || !strings.Contains(s, "Removed: Security key \"Lost key\"") ||
		!strings.Contains(s, "Could not remove Phone") || !strings.Contains(s, "can't be removed now") {
		t.Fatalf("deleted %v\n%s", h.svc.deleted, s)
	}
	h.press("enter")
	if h.step() != flows.StepDeletePass {
		t.Fatal("Enter after the results does not go on")
	}
}

// Item 3: sign-out on purpose, with a confirmation that says what stays;
// a one-time pass is named at sign-in.
func TestSignOutOnPurpose(t *testing.T) {
	h := newHarness(t)
	once := true
	start := t0.Add(-time.Minute)
	h.svc.methods = append(h.svc.methods, api.AuthenticationMethod{Type: api.TypeTAP, ID: "tap1", IsUsableOnce: &once, StartDateTime: &start, LifetimeInMinutes: 60})
	h.svc.keys = nil
	h.press("enter", "ada@example.com", "enter", "passpass", "enter")
	if h.step() != flows.StepInsertKey || !strings.Contains(h.screen(), "for one use only") {
		t.Fatalf("the one-time pass is not named:\n%s", h.screen())
	}
	if !strings.Contains(h.screen(), "esc sign out") {
		t.Fatal("Insert key has no way out in its help")
	}
	h.press("esc")
	h.golden("signout-ask")
	if !strings.Contains(h.screen(), "one-time pass is used up") {
		t.Fatal("the question does not warn about the one-time pass")
	}
	h.press("n")
	if h.m.signOutAsk || h.step() != flows.StepInsertKey || h.svc.signedOut {
		t.Fatal("n did not stay")
	}
	h.press("ctrl+x", "y")
	if h.step() != flows.StepWelcome || !h.svc.signedOut || !strings.Contains(h.screen(), "You signed out") {
		t.Fatalf("sign-out: %s\n%s", h.step(), h.screen())
	}
	// Every signed-in step before Done offers it.
	h2 := newHarness(t)
	h2.toName()
	for _, want := range []flows.Step{flows.StepNameKey} {
		if h2.step() != want || !strings.Contains(h2.screen(), "ctrl+x sign out") {
			t.Fatalf("%s: no sign-out in the help:\n%s", want, h2.screen())
		}
	}
}

// Item 4: two people in a row. Everything the first did (another
// language, a revealed pass, a lockout countdown, a wrong admin code,
// marks, a typed name) is gone for the second: each screen the second
// sees is the screen a fresh kiosk shows.
func TestNothingOfOnePersonReachesTheNext(t *testing.T) {
	first := newHarness(t)
	first.press("ctrl+l") // Swedish
	first.press("ctrl+alt+x", "1111", "enter", "esc")
	first.svc.sessErr = &api.Error{Status: 429, Code: api.CodeTooManyAttempts, RetryAfterSeconds: 600}
	first.press("enter", "grace@example.com", "enter", "Secret99", "ctrl+r", "enter")
	first.svc.sessErr = nil
	first.advance(time.Second)
	first.press("Secret98")
	first.m.revealUntil = first.now.Add(time.Hour) // as if Ctrl+R was pressed last
	first.press("enter", "2468", "tab", "2468", "enter", "backspace", "Grace's", "enter", "enter", "enter")
	first.press("space", "down")
	if first.step() != flows.StepCleanup {
		t.Fatalf("first person: %s", first.step())
	}
	first.press("ctrl+x", "y")
	if !strings.Contains(first.screen(), "You signed out") {
		t.Fatal("no notice for the person who left")
	}
	first.advance(noticeFor) // the notice is for the one who left, not the next

	fresh := newHarness(t)
	fresh.now = first.now
	fresh.svc.session.ExpiresDateTime = fresh.now.Add(10 * time.Minute)
	first.svc.session = fresh.svc.session
	walk := []string{"", "enter", "ada@example.com", "enter", "Kq7mZp2x", "enter", "135790", "tab", "135790", "enter", "enter", "enter", "enter", "enter", "enter"}
	for i, k := range walk {
		if k != "" {
			first.press(k)
			fresh.press(k)
		}
		got, want := first.screen(), fresh.screen()
		if got != want {
			t.Fatalf("after %q (key %d) the second person's screen differs from a fresh kiosk's:\n--- got\n%s\n--- fresh\n%s", k, i, got, want)
		}
		for _, trace := range []string{"grace", "Grace", "Secret", "Svenska", "Fel kod", "[x]"} {
			if strings.Contains(got, trace) {
				t.Fatalf("the first person's %q reached the second:\n%s", trace, got)
			}
		}
	}
	if first.step() != flows.StepDone {
		t.Fatalf("second person ended at %s", first.step())
	}
}

// Item 5: the admin code cannot be guessed quickly: a wrong code makes the
// next one wait, doubling, and a code typed during the wait is not checked.
func TestAdminCodeIsThrottled(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 20; i++ {
		h.press("ctrl+alt+x", "1111", "enter", "esc")
	}
	if h.m.adminFails != 1 {
		t.Fatalf("%d codes were compared in a burst of 20", h.m.adminFails)
	}
	h.press("ctrl+alt+x", "9876", "enter")
	if h.m.Quitting() || !strings.Contains(h.screen(), "was not checked") {
		t.Fatalf("the right code during the wait:\n%s", h.screen())
	}
	h.advance(time.Second)
	h.press("0000", "enter")
	if h.m.adminFails != 2 || h.m.adminWait.Sub(h.now) != 2*time.Second {
		t.Fatalf("fails %d, wait %v", h.m.adminFails, h.m.adminWait.Sub(h.now))
	}
	h.golden("admin-wait")
	h.advance(2 * time.Second)
	h.press("9876", "enter")
	if !h.m.Quitting() {
		t.Fatal("the right code after the wait did not exit")
	}
	if adminDelay(40) != 5*time.Minute {
		t.Fatal("the wait is not capped")
	}
}

// Item 7: a key already registered to the person has two ways on.
func TestKnownKeyKeptOrRegisteredAgain(t *testing.T) {
	h := newHarness(t)
	h.svc.methods = append(h.svc.methods, api.AuthenticationMethod{Type: api.TypeFIDO2, ID: "mine", DisplayName: "Blue key",
		Model: "YubiKey 5 NFC", CreatedDateTime: t0.Add(-30 * 24 * time.Hour)})
	h.svc.holds = "mine"
	h.toName()
	h.svc.regErrs = []error{fido.ErrAlreadyRegistered}
	h.press("enter")
	if h.step() != flows.StepKnownKey {
		t.Fatal(h.step())
	}
	h.golden("known-key")
	h.press("enter", "enter") // keep it; no backup key
	if h.step() != flows.StepCleanup || len(h.m.j.Keys) != 1 || !h.m.j.Keys[0].Kept || h.m.j.Keys[0].Method.ID != "mine" {
		t.Fatalf("keep: %s %+v (checked %v)", h.step(), h.m.j.Keys, h.svc.checked)
	}
	if s := h.screen(); !strings.Contains(s, "kept as it was: Blue key") || strings.Contains(s, "[ ] Security key  Blue key") {
		t.Fatalf("clean-up:\n%s", s)
	}
	h.press("enter", "enter")
	if s := h.screen(); h.step() != flows.StepDone || !strings.Contains(s, `Kept your key "Blue key"`) {
		t.Fatalf("done:\n%s", s)
	}

	h2 := newHarness(t)
	h2.svc.methods = h.svc.methods
	h2.svc.holds = "mine"
	h2.toName()
	h2.svc.regErrs = []error{fido.ErrAlreadyRegistered}
	h2.press("enter", "down", "enter")
	if h2.step() != flows.StepNameKey || len(h2.svc.deleted) != 1 || h2.svc.deleted[0] != "mine" {
		t.Fatalf("again: %s, deleted %v", h2.step(), h2.svc.deleted)
	}
	h2.press("enter")
	if h2.step() != flows.StepCheckKey {
		t.Fatal(h2.step())
	}
}

// Item 13: the screens.
func TestScreensSayOneCurrentThing(t *testing.T) {
	h := newHarness(t)
	// Welcome cannot start while tapd is down.
	h.svc.ready = errors.New("down")
	h.run(h.m.checkReady())
	h.press("enter")
	if h.step() != flows.StepWelcome || strings.Contains(h.screen(), "enter start") {
		t.Fatal("a person could start while tapd is down")
	}
	h.svc.ready = nil
	h.run(h.m.checkReady())
	h.press("enter", "ada", "enter")
	s := h.screen()
	if strings.Count(s, "one @") != 1 || strings.Contains(s, "Looks right") {
		t.Fatalf("the UPN reason twice, or beside 'Looks right':\n%s", s)
	}
	h.press("@example.com")
	if s := h.screen(); strings.Contains(s, "one @") || !strings.Contains(s, "Looks right") {
		t.Fatalf("a stale UPN problem:\n%s", s)
	}
	h.press("enter", "abc", "enter")
	if h.m.pass.Value() != "" {
		t.Fatal("a too-short pass stays in the field after its error")
	}
	h.press("passpass", "enter", "123456", "tab", "123457", "enter")
	s = h.screen()
	if strings.Contains(s, "easy to guess") || !strings.Contains(s, "different") {
		t.Fatalf("a weak-PIN warning for a PIN that is gone:\n%s", s)
	}
	h.press("1")
	if strings.Contains(h.screen(), "different") {
		t.Fatal("'the two PINs are different' while typing them again")
	}
	// Esc at a PIN step sets the key aside instead of bouncing back.
	h.press("esc")
	if h.step() != flows.StepInsertKey || !strings.Contains(h.screen(), "Take this key out") {
		t.Fatalf("Esc at a PIN step: %s\n%s", h.step(), h.screen())
	}
	h.svc.keys = nil
	h.m.Update(keysMsg{gen: h.m.keyGen})
	h.svc.keys = []fido.Key{{Path: "virtual:k", Product: "YubiKey 5 NFC"}}
	_, cmd := h.m.Update(keysMsg{keys: h.svc.keys, gen: h.m.keyGen})
	h.run(cmd)
	if h.step() != flows.StepNewPIN {
		t.Fatalf("the key, plugged back in, was not taken: %s", h.step())
	}
	// "Still there?" lets the key through.
	h.advance(61 * time.Second)
	if !h.m.idleAsk {
		t.Fatal("no idle question")
	}
	h.press("7")
	if h.m.idleAsk || h.m.pin1.Value() != "7" {
		t.Fatalf("the first key after 'Still there?' was swallowed: %q", h.m.pin1.Value())
	}
}

func TestPluralsAndDurations(t *testing.T) {
	en, _ := NewT("en")
	for _, c := range []struct{ got, want string }{
		{en.S("pin.retries", 1), "1 try left."}, {en.S("pin.retries", 3), "3 tries left."},
		{en.Dur(time.Minute), "1 minute"}, {en.Dur(90 * time.Second), "90 seconds"}, {en.Dur(2 * time.Minute), "2 minutes"},
		{en.S("done.removed", 1), "Removed 1 old method."}, {en.S("key.err.pinWrong", 5), "That PIN is wrong. 5 tries left."},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
}

// walkAll visits every step and overlay, calling see on each screen.
func walkAll(t *testing.T, lang string, w, hgt int, see func(name, screen string)) {
	h := newHarness(t)
	h.m.Update(tea.WindowSizeMsg{Width: w, Height: hgt})
	if lang != "en" {
		h.press("ctrl+l")
	}
	look := func(name string) { see(name, h.screen()) }
	look("welcome")
	h.press("enter")
	h.press("ada")
	look("upn-typing")
	h.press("enter")
	look("upn-problem")
	h.press("@example.com")
	look("upn-ok")
	h.press("enter")
	look("pass")
	h.advance(61 * time.Second)
	look("idle")
	h.press("ctrl+alt+x", "1111", "enter")
	look("admin")
	h.press("esc")
	h.svc.sessErr = &api.Error{Status: 401, Code: api.CodeInvalidCredentials}
	for i := 0; i < 8; i++ {
		h.press("wrongpass", "enter")
	}
	look("pass-lock-soon")
	h.svc.sessErr = nil
	h.svc.keys = nil
	h.press("passpass", "enter")
	look("insert-key")
	h.press("esc")
	look("sign-out")
	h.press("n")
	h.svc.keys = []fido.Key{{Path: "virtual:k", Product: "YubiKey 5 NFC"}}
	_, cmd := h.m.Update(keysMsg{keys: h.svc.keys, gen: h.m.keyGen})
	h.run(cmd)
	h.press("123456")
	look("new-pin-weak")
	h.press("tab", "123456", "enter")
	look("name")
	h.svc.regErrs = []error{fido.ErrTouchTimeout}
	h.press("enter")
	look("touch-timeout")
	h.svc.block = make(chan struct{})
	_, cmd = h.m.Update(keyMsg("enter"))
	look("touch")
	h.press("esc")
	h.m.Update(cmd())
	h.svc.block = nil
	h.press("enter")
	look("check")
	h.m.j.Step, h.m.again = flows.StepKnownKey, false // as after fido.ErrAlreadyRegistered
	look("known-key")
	h.m.again = true
	look("known-key-again")
	h.m.j.Step = flows.StepCheckKey
	h.press("enter")
	look("cleanup")
	h.press("space", "enter")
	look("cleanup-confirm")
	h.press("y")
	look("cleanup-results")
	h.press("enter")
	look("delete-pass")
	h.press("down")
	look("delete-pass-keep")
	h.press("up", "enter")
	look("done")
	// The steps of issue 12 items 6, 8 and 10, drawn as the journey
	// leaves them.
	h.m.j.Step, h.m.j.Problem = flows.StepReplugKey, fido.ErrPINAuthBlocked
	look("replug")
	h.m.j.Step, h.m.j.Problem = flows.StepChangePIN, &fido.PINWrongError{RetriesLeft: 5}
	look("change-pin")
	h.m.j.Step, h.m.j.Problem = flows.StepKeyFull, fido.ErrKeyFull
	look("key-full")
}

// Item 13: lines wrap instead of being cut, in both languages, at 80x24
// and 60x20; at 200x60 the column is centred.
func TestScreensFitAndWrap(t *testing.T) {
	for _, c := range []struct {
		lang string
		w, h int
	}{{"en", 80, 24}, {"sv", 80, 24}, {"en", 60, 20}, {"sv", 60, 20}} {
		walkAll(t, c.lang, c.w, c.h, func(name, s string) {
			lines := strings.Split(s, "\n")
			if len(lines) > c.h {
				t.Errorf("%s %dx%d %s: %d lines", c.lang, c.w, c.h, name, len(lines))
			}
			for i, l := range lines {
				if lw := lipgloss.Width(l); lw > c.w {
					t.Errorf("%s %dx%d %s: line %d is %d wide: %q", c.lang, c.w, c.h, name, i+1, lw, l)
				}
			}
			if name == "touch" {
				want := map[string]string{"en": "Waiting up to 1 minute.", "sv": "Väntar upp till 1 minut."}[c.lang]
				if !strings.Contains(s, want) {
					t.Errorf("%s %dx%d: the touch time-out line is cut:\n%s", c.lang, c.w, c.h, s)
				}
			}
		})
	}
	h := newHarness(t)
	h.m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
	lines := strings.Split(h.screen(), "\n")
	if len(lines) != 60 {
		t.Fatalf("%d lines at 200x60", len(lines))
	}
	for i, l := range lines {
		if j := strings.Index(l, "Security key recovery"); j >= 0 {
			if j < 50 || i < 10 {
				t.Fatalf("the header sits at line %d, column %d: not centred", i, j)
			}
			return
		}
	}
	t.Fatal("no header")
}

// Item 14: the lockout warning says only what the kiosk can know.
func TestLockoutWarning(t *testing.T) {
	h := newHarness(t)
	h.svc.sessErr = &api.Error{Status: 401, Code: api.CodeInvalidCredentials}
	h.press("enter", "ada@example.com", "enter")
	for i := 0; i < 6; i++ {
		h.press("wrongpass", "enter")
	}
	if strings.Contains(h.screen(), "Careful") {
		t.Fatal("a warning with 4 tries to go")
	}
	h.press("wrongpass", "enter")
	if !strings.Contains(h.screen(), "after at most 3 more wrong passes") {
		t.Fatalf("no warning:\n%s", h.screen())
	}
	h.svc.sessErr = &api.Error{Status: 429, Code: api.CodeTooManyAttempts, RetryAfterSeconds: 60}
	h.press("wrongpass", "enter")
	if s := h.screen(); !strings.Contains(s, "Try again in 1:00") || strings.Contains(s, "Careful") {
		t.Fatalf("during the lock:\n%s", s)
	}
	h.advance(61 * time.Second)
	h.press("x") // dismiss "still there?" (and type)
	if s := h.screen(); !strings.Contains(s, "the next wrong pass locks signing in again") || strings.Contains(s, "0:00") {
		t.Fatalf("after the lock:\n%s", s)
	}
	// tapd answers a wrong guess after a lock with a new lock (429); a
	// plain "wrong" means the lock was lifted, so the count starts afresh.
	h.svc.sessErr = &api.Error{Status: 401, Code: api.CodeInvalidCredentials}
	h.press("wrongpass", "enter")
	if s := h.screen(); strings.Contains(s, "Careful") {
		t.Fatalf("after an unlock:\n%s", s)
	}
}

// Issue 12: an admin unlocks the account during the kiosk's countdown.
// The kiosk never holds a try back: tapd's answer replaces the countdown,
// whatever it has left, and a right pass signs in.
func TestUnlockDuringTheCountdown(t *testing.T) {
	h := newHarness(t)
	h.svc.sessErr = &api.Error{Status: 429, Code: api.CodeTooManyAttempts, RetryAfterSeconds: 600}
	h.press("enter", "ada@example.com", "enter", "wrongpass", "enter")
	if s := h.screen(); !strings.Contains(s, "Try again in 10:00") {
		t.Fatalf("locked:\n%s", s)
	}
	h.advance(5 * time.Second)
	h.svc.sessErr = &api.Error{Status: 401, Code: api.CodeInvalidCredentials} // unlocked by IT, then a typo
	h.press("wrongpas2", "enter")
	if s := h.screen(); strings.Contains(s, "Try again in") || strings.Contains(s, "Careful") || !strings.Contains(s, "don't match") {
		t.Fatalf("after the unlock, a wrong pass:\n%s", s)
	}
	if n, exact := h.m.j.TriesBeforeLock(); n != flows.LockThreshold-1 || exact {
		t.Fatalf("the count did not start afresh: %d %v", n, exact)
	}
	h.svc.sessErr = nil
	h.press("passpass", "enter")
	if !h.m.j.SignedIn() {
		t.Fatalf("the right pass after the unlock: %s\n%s", h.step(), h.screen())
	}
}

// Item 15: every string the kiosk can draw comes from the catalogue, in
// the person's language. A Swedish walk of every screen shows no English
// sentence, and every tapd code the kiosk can meet has words in each
// language.
func TestEveryScreenIsInTheChosenLanguage(t *testing.T) {
	var english []string
	for k, v := range catalogs["en"] {
		if sv := catalogs["sv"][k]; sv != v && len(v) > 12 && !strings.Contains(v, "%") {
			english = append(english, v)
		}
	}
	walkAll(t, "sv", 80, 24, func(name, s string) {
		flat := strings.Join(strings.Fields(s), " ")
		for _, e := range english {
			if strings.Contains(flat, strings.Join(strings.Fields(e), " ")) {
				t.Errorf("sv %s shows English %q", name, e)
			}
		}
		for _, raw := range []string{"upn.err.", "err.", "key.err.", "help.", "%!"} {
			if strings.Contains(s, raw) {
				t.Errorf("sv %s shows a raw key or format error %q:\n%s", name, raw, s)
			}
		}
	})
	codes := []api.Code{api.CodeInvalidCredentials, api.CodePassExpired, api.CodePassNotYetValid, api.CodePassAlreadyUsed,
		api.CodeNotInPolicy, api.CodePolicyDisabled, api.CodeTooManyAttempts, api.CodeUnavailable, api.CodeDirectoryUnavailable,
		api.CodeDirectoryError, api.CodeManagedInEntra, api.CodePassNotCheckable, api.CodePassDeleted, api.CodeSelfServiceSetupOff,
		api.CodeAlreadyRegistered, api.CodeChallengeExpired, api.CodeChallengeInvalid, api.CodeRegistrationRejected,
		api.CodeAttestationNotTrusted, api.CodeKeyRestricted, api.CodeMethodInUse, api.CodeAssertionRejected, api.CodeStorageFull,
		api.CodeInternal, api.CodeNotFound, api.CodePhoneIsDefaultMethod, api.CodeMobileHasAlternate, api.CodeRegistrationUnavailable,
		api.CodeStagingRowRegistered}
	for _, lang := range Languages() {
		h := newHarness(t)
		h.m.t, _ = NewT(lang)
		for _, c := range codes {
			if _, ok := catalogs[lang]["err."+string(c)]; !ok {
				t.Errorf("%s has no sentence for tapd's %s", lang, c)
			}
			if msg := h.m.explain(&api.Error{Code: c, Message: "ENGLISH FROM TAPD"}); strings.Contains(msg, "ENGLISH FROM TAPD") {
				t.Errorf("%s %s shows tapd's message", lang, c)
			}
		}
		// Every reason fido.Explain can give has a sentence.
		reasons := []error{fido.ErrNoKey, fido.ErrSeveralKeys, fido.ErrPINRequired, fido.ErrPINNotSet, fido.ErrPINBlocked,
			fido.ErrPINAuthBlocked, fido.ErrPINChangeRequired, fido.ErrTouchTimeout, fido.ErrKeyRemoved, fido.ErrCancelled,
			fido.ErrKeyFull, fido.ErrOperationDenied, fido.ErrAlreadyRegistered, fido.ErrNotRegisteredOnKey, fido.ErrResetNotAllowed,
			&fido.MinPINLengthError{Asked: 4, Current: 8}, &fido.PINWrongError{RetriesLeft: 5}, &fido.PINWrongError{RetriesLeft: 1},
			&fido.PINPolicyError{Rule: fido.RuleTooShort, MinLen: 6}, &fido.PINPolicyError{Rule: fido.RuleTooLong},
			&fido.PINPolicyError{Rule: fido.RuleNUL}, &fido.PINPolicyError{Rule: fido.RuleKeyPolicy}, errors.New("odd")}
		for _, r := range []string{fido.ReasonU2FOnly, fido.ReasonNoResidentKeys, fido.ReasonNoCredProtect, fido.ReasonNoAuthnrCfg,
			fido.ReasonNoSetMinPINLength, fido.ReasonNoAlwaysUV, fido.ReasonNoCredMgmt} {
			reasons = append(reasons, &fido.UnsupportedKeyError{Reason: r})
		}
		for _, e := range reasons {
			if msg := h.m.explain(e); msg == "" || strings.Contains(msg, "key.err.") || strings.Contains(msg, "%!") {
				t.Errorf("%s has no sentence for %v: %q", lang, e, msg)
			}
		}
		for _, r := range []string{flows.UPNEmpty, flows.UPNLong, flows.UPNControl, flows.UPNSpace, flows.UPNForm, flows.UPNDomain} {
			if _, ok := catalogs[lang]["upn.err."+r]; !ok {
				t.Errorf("%s has no sentence for the UPN reason %s", lang, r)
			}
		}
	}
	// The notice on Welcome follows the language chosen after it was set.
	h := newHarness(t)
	h.press("enter", "ada@example.com", "enter", "passpass", "enter")
	h.advance(81 * time.Second)
	h.press("ctrl+l")
	if !strings.Contains(h.screen(), "Du loggades ut") {
		t.Fatalf("the signed-out notice stays English:\n%s", h.screen())
	}
}

// Found walking the demo: Esc at a PIN step by mistake can be undone
// without pulling the key out, and y/n choose at the pass question.
func TestUndoTheSetAsideAndYesNo(t *testing.T) {
	h := newHarness(t)
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "esc")
	if !strings.Contains(h.screen(), "enter use this key after all") {
		t.Fatalf("no way back to the key in the port:\n%s", h.screen())
	}
	h.press("enter")
	if h.step() != flows.StepNewPIN {
		t.Fatalf("Enter did not take the key back: %s", h.step())
	}
	h.press("2468", "tab", "2468", "enter", "enter", "s", "enter", "enter")
	if h.step() != flows.StepDeletePass {
		t.Fatal(h.step())
	}
	h.press("n", "enter")
	if h.step() != flows.StepDone || !h.m.j.PassKept || h.svc.passDeleted {
		t.Fatal("n did not choose to keep the pass")
	}
}

// Idle before sign-in starts over, and says so without "signed out".
func TestIdleBeforeSignInStartsOver(t *testing.T) {
	h := newHarness(t)
	h.press("enter", "ada@exa")
	h.advance(81 * time.Second)
	if s := h.screen(); h.step() != flows.StepWelcome || h.svc.signedOut || !strings.Contains(s, "started over") || strings.Contains(s, "ada@exa") {
		t.Fatalf("idle at the UPN step:\n%s", s)
	}
}
