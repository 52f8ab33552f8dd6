package tui

import (
	"errors"
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
)

// A full key that cannot show its passkeys goes on, says before the
// touch that it may yet refuse, and when it does, says that it cannot be
// cleaned up here and takes another key.
func TestFullKeyWithoutCredentialManagement(t *testing.T) {
	h := newHarness(t)
	h.svc.pin = fido.PINState{Set: true, Retries: 8}
	h.svc.info.RemainingResidentKeys, h.svc.info.CredMgmt = 0, false
	h.press("enter", "ada@example.com", "enter", "passpass", "enter")
	if h.step() != flows.StepEnterPIN {
		t.Fatalf("refused at Insert key:\n%s", h.screen())
	}
	h.press("2468", "enter")
	if s := h.screen(); h.step() != flows.StepNameKey || !strings.Contains(s, "If it already holds a passkey of yours") {
		t.Fatalf("naming a full key:\n%s", s)
	}
	h.svc.regErrs = []error{fido.ErrKeyFull}
	h.press("enter")
	s := h.screen()
	if h.step() != flows.StepKeyFull || !strings.Contains(s, "so it can't be cleaned up") || strings.Contains(s, "enter remove") {
		t.Fatalf("the key said it has no room:\n%s", s)
	}
	if strings.Contains(s, "Looking at the passkeys") {
		t.Fatal("it looks at passkeys it cannot list")
	}
	h.press("esc")
	if h.step() != flows.StepInsertKey {
		t.Fatal(h.step())
	}
}

// Several old passkeys of this account on a full key: each is named, one
// Enter removes them all, one at a time, and a refusal keeps the rest.
func TestFullKeyWithSeveralOfHers(t *testing.T) {
	h := newHarness(t)
	h.svc.pin = fido.PINState{Set: true, Retries: 8}
	h.svc.info.RemainingResidentKeys, h.svc.info.CredMgmt = 0, true
	h.svc.own = []fido.Credential{
		{ID: []byte{0xa1, 0xa2, 0xa3, 0xa4, 0xa5}, UserName: "ada@example.com", DisplayName: "Ada Lovelace"},
		{ID: []byte{0xb1, 0xb2, 0xb3, 0xb4}, UserName: "ada@example.com", DisplayName: "Ada (old account)"},
	}
	h.svc.credErrs = []error{nil, errors.New("key said no")}
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "2468", "enter")
	s := h.screen()
	for _, want := range []string{"It holds 2 older passkeys of yours:", "ada@example.com (Ada Lovelace) · passkey a1a2a3a4…",
		"ada@example.com (Ada (old account)) · passkey b1b2b3b4…", "Remove them all", "enter remove them all"} {
		if !strings.Contains(s, want) {
			t.Fatalf("the full-key screen lacks %q:\n%s", want, s)
		}
	}
	h.press("enter")
	if s := h.screen(); h.step() != flows.StepKeyFull || len(h.svc.credsDeleted) != 1 || strings.Contains(s, "a1a2a3a4") ||
		!strings.Contains(s, "Ada (old account)") || !strings.Contains(s, "!") {
		t.Fatalf("after one removal and one refusal (%d removed):\n%s", len(h.svc.credsDeleted), s)
	}
	h.press("enter")
	if h.step() != flows.StepNameKey || len(h.svc.credsDeleted) != 2 || h.svc.credsDeleted[1][0] != 0xb1 {
		t.Fatalf("after removing the rest: %s %v", h.step(), h.svc.credsDeleted)
	}
}

// A key pulled during the key check: the kiosk waits for it, runs the
// check again when it is back, and the skip still works meanwhile.
func TestKeyPulledDuringTheCheck(t *testing.T) {
	h := newHarness(t)
	h.toName()
	h.press("enter")
	if h.step() != flows.StepCheckKey {
		t.Fatal(h.step())
	}
	h.svc.checkErr = fido.ErrKeyRemoved
	keys := h.svc.keys
	h.svc.keys = nil
	h.press("enter")
	s := h.screen()
	if h.step() != flows.StepCheckKey || !strings.Contains(s, "The key was removed") || !strings.Contains(s, "you may skip the check") ||
		strings.Contains(s, "check the key") {
		t.Fatalf("pulled during the check:\n%s", s)
	}
	h.press("enter") // nothing to check yet
	if len(h.svc.checked) != 1 {
		t.Fatalf("checked %v with no key", h.svc.checked)
	}
	h.svc.checkErr = nil
	h.svc.keys = keys
	h.run(h.m.pollKeys(true))
	if h.step() != flows.StepInsertKey || len(h.svc.checked) != 2 || len(h.m.j.Keys) != 1 || !h.m.j.Keys[0].Checked {
		t.Fatalf("the key back: %s, checked %v gone %v\n%s", h.step(), h.svc.checked, h.m.j.CheckKeyGone(), h.screen())
	}

	h2 := newHarness(t)
	h2.toName()
	h2.press("enter")
	h2.svc.checkErr, h2.svc.keys = fido.ErrKeyRemoved, nil
	h2.press("enter", "s")
	if h2.step() != flows.StepInsertKey || len(h2.m.j.Keys) != 1 || h2.m.j.Keys[0].Checked {
		t.Fatal(h2.step())
	}
}

// The key judged the PIN right, then asked for a change: the change step
// asks only the new PIN, twice, and sends the one just checked as the
// old; it is never drawn.
func TestPINChangeAfterTheCheck(t *testing.T) {
	h := newHarness(t)
	h.svc.pin = fido.PINState{Set: true, Retries: 8}
	h.svc.verifyErrs = []error{fido.ErrPINChangeRequired}
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "2468", "enter")
	s := h.screen()
	if h.step() != flows.StepChangePIN || strings.Contains(s, "Current PIN") || !strings.Contains(s, "only enter a new one") {
		t.Fatalf("the change after the check:\n%s", s)
	}
	h.press("1357", "tab", "1357", "enter")
	if h.step() != flows.StepNameKey || h.svc.changed != [2]string{"2468", "1357"} {
		t.Fatalf("after the change: %s %v", h.step(), h.svc.changed)
	}
	h.press("enter")
	if h.svc.regPIN != "1357" {
		t.Fatalf("the touch got %q", h.svc.regPIN)
	}
}
