package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
)

var backupKey = fido.Key{Path: "virtual:b", Product: "Security Key NFC"}

// atBackupOffer registers and checks the first key ("First") and stops
// at the backup offer, the first key still in the port.
func atBackupOffer(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	h.toName()
	h.press("ctrl+u", "First", "enter", "enter")
	if s := h.screen(); h.step() != flows.StepInsertKey || !h.m.j.OnBackup() || !strings.Contains(s, "Add a backup key?") ||
		!strings.Contains(s, "kept: First") || strings.Contains(s, "!") {
		t.Fatalf("no backup offer: %s\n%s", h.step(), s)
	}
	return h
}

// plugBackup takes the first key out and plugs in the second, then types
// its new PIN twice: the second key is at naming.
func (h *harness) plugBackup() {
	h.t.Helper()
	h.svc.keys = []fido.Key{backupKey}
	h.run(h.m.pollKeys(true))
	if s := h.screen(); h.step() != flows.StepNewPIN || strings.Contains(s, "no other way to sign in") {
		h.t.Fatalf("the second key not read, or the first key not counted: %s\n%s", h.step(), s)
	}
	h.press("1357", "tab", "1357", "enter")
	if h.step() != flows.StepNameKey || h.svc.setPIN != "1357" {
		h.t.Fatalf("not at naming the backup: %s", h.step())
	}
}

// Issue 23 item 7: a second key in the same visit, its own PIN, name,
// touch and check; clean-up does not offer it; Done lists both.
func TestBackupKeyInTheSameVisit(t *testing.T) {
	h := atBackupOffer(t)
	h.run(h.m.pollKeys(true)) // the first key is still in the port: not read again
	if h.step() != flows.StepInsertKey || h.m.j.Problem != nil {
		t.Fatalf("the first key read again: %s %v", h.step(), h.m.j.Problem)
	}
	h.plugBackup()
	if strings.Contains(h.m.name.Value(), "First") {
		t.Fatal("the first key's name offered for the backup")
	}
	h.press("ctrl+u", "Backup", "enter")
	if h.step() != flows.StepCheckKey || h.svc.regPIN != "1357" {
		t.Fatalf("backup not registered: %s", h.step())
	}
	h.press("enter")
	if s := h.screen(); h.step() != flows.StepCleanup || !strings.Contains(s, "kept: First") || !strings.Contains(s, "kept: Backup") ||
		strings.Contains(s, "Add a backup key?") {
		t.Fatalf("clean-up after the backup: %s\n%s", h.step(), s)
	}
	h.press("enter", "enter")
	s := h.screen()
	if h.step() != flows.StepDone || !strings.Contains(s, `Registered your key "First"`) ||
		!strings.Contains(s, `Registered your backup key "Backup"`) || strings.Count(s, "Checked that it works") != 2 || !h.svc.passDeleted {
		t.Fatalf("done:\n%s", s)
	}
	h.golden("11b-done-two-keys")
	for _, secret := range []string{"1357", "2468"} {
		if strings.Contains(s, secret) {
			t.Fatal("a PIN on screen")
		}
	}
}

// The person has no second key: Enter at the offer goes on, and the
// first key is what Done lists.
func TestBackupKeySkipped(t *testing.T) {
	h := atBackupOffer(t)
	h.press("ctrl+x")
	if s := h.screen(); !strings.Contains(s, `Your key "First" stays registered`) || strings.Contains(s, "No key has been registered") {
		t.Fatalf("sign-out at the offer:\n%s", s)
	}
	h.press("n", "enter")
	if h.step() != flows.StepCleanup {
		t.Fatal(h.step())
	}
	h.press("enter", "enter")
	if s := h.screen(); h.step() != flows.StepDone || !strings.Contains(s, `Registered your key "First"`) || strings.Contains(s, "backup") {
		t.Fatalf("done:\n%s", s)
	}
}

// The second key already holds the person's passkey (excludeCredentials:
// the first key again): refused, back at the offer, saying why.
func TestBackupKeyIsTheFirstAgain(t *testing.T) {
	for _, lang := range []string{"en", "sv"} {
		h := atBackupOffer(t)
		if lang == "sv" {
			h.press("ctrl+l")
		}
		h.plugBackup()
		h.svc.regErrs = []error{fido.ErrAlreadyRegistered}
		h.press("enter")
		want := map[string]string{"en": "already holds a passkey of yours", "sv": "har redan en nyckel som är din"}[lang]
		if s := strings.Join(strings.Fields(h.screen()), " "); h.step() != flows.StepInsertKey || !h.m.j.OnBackup() || !strings.Contains(s, want) {
			t.Fatalf("%s: not refused: %s\n%s", lang, h.step(), h.screen())
		}
		h.run(h.m.pollKeys(true)) // still in the port: not read again, the reason stays
		if h.step() != flows.StepInsertKey || h.m.j.Problem == nil {
			t.Fatalf("%s: the refused key read again: %s", lang, h.step())
		}
		h.press("enter")
		if h.step() != flows.StepCleanup || len(h.m.j.Keys) != 1 {
			t.Fatalf("%s: %s %+v", lang, h.step(), h.m.j.Keys)
		}
	}
}

// The second key pulled mid-touch: back to the offer, the first kept.
func TestBackupKeyPulledMidTouch(t *testing.T) {
	h := atBackupOffer(t)
	h.plugBackup()
	h.svc.regErrs = []error{fido.ErrKeyRemoved}
	h.svc.keys = nil
	h.press("enter")
	if s := h.screen(); h.step() != flows.StepInsertKey || !h.m.j.OnBackup() || !strings.Contains(s, "The key was removed") ||
		!strings.Contains(s, "kept: First") {
		t.Fatalf("not back at the offer: %s\n%s", h.step(), s)
	}
}

// The time runs out during the second key: signed out as on any step
// (tapd's session is over), the first key registered at tapd already.
func TestBackupKeyTimeRunsOut(t *testing.T) {
	h := atBackupOffer(t)
	h.plugBackup()
	h.now = t0.Add(10 * time.Minute)
	h.advance(time.Second)
	if s := h.screen(); h.step() != flows.StepWelcome || !h.svc.signedOut || !strings.Contains(s, "Your time ran out") {
		t.Fatalf("%s signed out %v\n%s", h.step(), h.svc.signedOut, s)
	}
}

// A refused backup key is read again quietly (no "Reading your key…", so
// keys still act): Enter at the offer meanwhile goes on to clean-up, and
// that read's late answer must not clear clean-up's wait for the methods.
func TestBackupRefusedKeyReadAgainThenSkipped(t *testing.T) {
	h := atBackupOffer(t)
	h.svc.keys = []fido.Key{backupKey}
	h.svc.factsErr = &fido.UnsupportedKeyError{Reason: fido.ReasonU2FOnly}
	h.run(h.m.pollKeys(true))
	if h.step() != flows.StepInsertKey || h.m.j.Problem == nil {
		t.Fatalf("the U2F key not refused: %s %v", h.step(), h.m.j.Problem)
	}
	_, read := h.m.Update(keysMsg{keys: h.svc.keys, gen: h.m.keyGen})
	if read == nil || !h.m.j.Rereading() || h.m.busy != "" {
		t.Fatalf("no quiet re-read: busy %q", h.m.busy)
	}
	_, load := h.m.Update(keyMsg("enter"))
	if h.step() != flows.StepCleanup || load == nil || h.m.busy == "" {
		t.Fatalf("Enter at the offer: %s busy %q", h.step(), h.m.busy)
	}
	h.m.Update(read()) // the re-read's answer, late
	if h.m.busy == "" {
		t.Fatal("the late key read cleared clean-up's wait for the methods")
	}
	h.run(load)
	if h.step() != flows.StepCleanup || h.m.busy != "" {
		t.Fatalf("after the methods: %s busy %q", h.step(), h.m.busy)
	}
}
