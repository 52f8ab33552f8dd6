package tui

import (
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
)

// Issue 12 item 6: the key judges an existing PIN when it is typed, before
// the key is named; a refused PIN is never sent again.
func TestPINCheckedWhenEntered(t *testing.T) {
	h := newHarness(t)
	h.svc.pin = fido.PINState{Set: true, Retries: 8}
	h.svc.verifyErrs = []error{&fido.PINWrongError{RetriesLeft: 7}}
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "1111", "enter")
	if s := h.screen(); h.step() != flows.StepEnterPIN || !strings.Contains(s, "That PIN is wrong. 7 tries left.") {
		t.Fatalf("a wrong PIN:\n%s", s)
	}
	if h.m.pin1.Value() != "" || h.m.j.PINForTouch() != "" {
		t.Fatal("the refused PIN stayed")
	}
	h.press("2468", "enter")
	if h.step() != flows.StepNameKey || strings.Join(h.svc.verified, ",") != "1111,2468" {
		t.Fatalf("the right PIN: %s, verified %v", h.step(), h.svc.verified)
	}
	h.press("enter")
	if h.svc.regPIN != "2468" {
		t.Fatalf("the touch got PIN %q", h.svc.regPIN)
	}
}

// Too many wrong PINs in a row: unplug and plug in again, and only then a
// PIN is taken again.
func TestPINAuthBlockedWaitsForTheReplug(t *testing.T) {
	h := newHarness(t)
	h.svc.pin = fido.PINState{Set: true, Retries: 5}
	h.svc.verifyErrs = []error{fido.ErrPINAuthBlocked}
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "1111", "enter")
	if s := h.screen(); h.step() != flows.StepReplugKey || !strings.Contains(s, "Unplug the key and plug it in again") {
		t.Fatalf("after the key's auth block:\n%s", s)
	}
	h.press("2468", "enter")
	if h.step() != flows.StepReplugKey || len(h.svc.verified) != 1 {
		t.Fatal("a PIN was taken before the replug")
	}
	keys := h.svc.keys
	h.svc.keys = nil
	h.m.Update(keysMsg{gen: h.m.keyGen})
	if h.step() != flows.StepInsertKey {
		t.Fatalf("the key left: %s", h.step())
	}
	h.svc.keys = keys
	_, cmd := h.m.Update(keysMsg{keys: keys, gen: h.m.keyGen})
	h.run(cmd)
	if h.step() != flows.StepEnterPIN {
		t.Fatalf("the key came back: %s", h.step())
	}
	h.press("2468", "enter")
	if h.step() != flows.StepNameKey {
		t.Fatal(h.step())
	}
}

// Issue 12 item 8: a key that wants its PIN changed.
func TestForcePINChange(t *testing.T) {
	h := newHarness(t)
	h.svc.pin = fido.PINState{Set: true, Retries: 8}
	h.svc.info.ForcePINChange = true
	h.press("enter", "ada@example.com", "enter", "passpass", "enter")
	if s := h.screen(); h.step() != flows.StepChangePIN || !strings.Contains(s, "Change the key's PIN") {
		t.Fatalf("forcePINChange:\n%s", s)
	}
	h.press("1234", "tab", "1357", "tab", "1358", "enter")
	if s := h.screen(); h.step() != flows.StepChangePIN || !strings.Contains(s, "differ") {
		t.Fatalf("PINs that differ:\n%s", s)
	}
	h.press("1357", "tab", "1357", "enter")
	if h.step() != flows.StepNameKey || h.svc.changed != [2]string{"1234", "1357"} {
		t.Fatalf("after the change: %s %v", h.step(), h.svc.changed)
	}
	h.press("enter")
	if h.svc.regPIN != "1357" {
		t.Fatalf("the touch got %q", h.svc.regPIN)
	}

	// VerifyPIN's ErrPINChangeRequired leads there too.
	h2 := newHarness(t)
	h2.svc.pin = fido.PINState{Set: true, Retries: 8}
	h2.svc.verifyErrs = []error{fido.ErrPINChangeRequired}
	h2.press("enter", "ada@example.com", "enter", "passpass", "enter", "1234", "enter")
	if h2.step() != flows.StepChangePIN {
		t.Fatal(h2.step())
	}
}

// Issue 12 item 10: a full key.
func TestFullKey(t *testing.T) {
	h := newHarness(t)
	h.svc.pin = fido.PINState{Set: true, Retries: 8}
	h.svc.info.RemainingResidentKeys, h.svc.info.CredMgmt = 0, true
	h.svc.own = []fido.Credential{{ID: []byte{7}, RPID: "login.microsoft.com", UserName: "ada@example.com"}}
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "2468", "enter")
	if s := h.screen(); h.step() != flows.StepKeyFull || !strings.Contains(s, "older passkey of yours") {
		t.Fatalf("a full key with one of hers:\n%s", s)
	}
	h.press("enter")
	if h.step() != flows.StepNameKey || string(h.svc.credDeleted) != "\x07" {
		t.Fatalf("after the removal: %s %v", h.step(), h.svc.credDeleted)
	}

	h2 := newHarness(t)
	h2.svc.pin = fido.PINState{Set: true, Retries: 8}
	h2.svc.info.RemainingResidentKeys, h2.svc.info.CredMgmt = 0, true
	h2.press("enter", "ada@example.com", "enter", "passpass", "enter", "2468", "enter")
	if s := h2.screen(); h2.step() != flows.StepKeyFull || !strings.Contains(s, "This key is full") || strings.Contains(s, "remove it") {
		t.Fatalf("a full key with none of hers:\n%s", s)
	}
	h2.press("esc")
	if h2.step() != flows.StepInsertKey {
		t.Fatal(h2.step())
	}
}

// At PIN creation, the first Enter on a PIN too short says so at the
// first field, not "easy to guess" and only then "too short" after the
// second field. The change step's new PIN does the same.
func TestNewPINTooShortSaidFirst(t *testing.T) {
	h := newHarness(t)
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "12")
	if s := h.screen(); strings.Contains(s, "easy to guess") {
		t.Fatalf("a 2-digit PIN is called weak before its length:\n%s", s)
	}
	h.press("enter")
	if s := h.screen(); h.step() != flows.StepNewPIN || h.m.pinField != 0 || !strings.Contains(s, "too short") ||
		strings.Contains(s, "easy to guess") {
		t.Fatalf("the first Enter on a 2-digit PIN (field %d):\n%s", h.m.pinField, s)
	}
	h.press("1234")
	if s := h.screen(); !strings.Contains(s, "easy to guess") || strings.Contains(s, "too short") {
		t.Fatalf("a weak PIN of the right length:\n%s", s)
	}
	h.press("enter")
	if h.m.pinField != 1 {
		t.Fatal("a PIN of the right length did not go on to the second field")
	}

	h2 := newHarness(t)
	h2.svc.pin = fido.PINState{Set: true, Retries: 8}
	h2.svc.info.ForcePINChange = true
	h2.press("enter", "ada@example.com", "enter", "passpass", "enter", "2468", "enter", "12", "enter")
	if s := h2.screen(); h2.step() != flows.StepChangePIN || h2.m.pinField != 1 || !strings.Contains(s, "too short") {
		t.Fatalf("the change step's new PIN (field %d):\n%s", h2.m.pinField, s)
	}
}
