package tui

import (
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
)

// Issue 23 item 1: a PIN shorter than the key's minimum is refused on the
// screen, in words that say no try was used, and never sent.
func TestShortPINRefusedOnScreen(t *testing.T) {
	h := newHarness(t)
	h.svc.pin = fido.PINState{Set: true, Retries: 8}
	h.svc.info.MinPINLength = 6
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "12345", "enter")
	s := h.screen()
	if h.step() != flows.StepEnterPIN || len(h.svc.verified) != 0 || !strings.Contains(s, "at least 6 characters") {
		t.Fatalf("verified %v:\n%s", h.svc.verified, s)
	}
	if h.m.pin1.Value() != "" {
		t.Fatal("the refused PIN stayed in the field")
	}
}

// Issue 23 item 2: the replug screen says the tries the key has left; the
// wrong PIN that blocked it cost one.
func TestReplugSaysTheTriesLeft(t *testing.T) {
	h := newHarness(t)
	h.svc.pin = fido.PINState{Set: true, Retries: 6}
	h.svc.verifyErrs = []error{&fido.PINAuthBlockedError{RetriesLeft: 5}}
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "1111", "enter")
	s := h.screen()
	if h.step() != flows.StepReplugKey || !strings.Contains(s, "5 tries left") || strings.Contains(s, "No try was lost") {
		t.Fatalf("replug:\n%s", s)
	}
}

// Issue 23 item 3: the PIN steps watch the key; one pulled goes back to
// Insert key at once and what was typed is gone.
func TestPINStepsNoticeAPulledKey(t *testing.T) {
	for _, c := range []struct {
		name string
		pin  fido.PINState
		keys []string
	}{
		{"new", fido.PINState{Retries: -1}, []string{"1357"}},
		{"enter", fido.PINState{Set: true, Retries: 8}, []string{"24"}},
	} {
		h := newHarness(t)
		h.svc.pin = c.pin
		h.press("enter", "ada@example.com", "enter", "passpass", "enter")
		h.press(c.keys...)
		if h.m.pin1.Value() == "" {
			t.Fatalf("%s: nothing typed", c.name)
		}
		h.svc.keys = nil
		h.run(h.m.pollKeys(true))
		s := h.screen()
		if h.step() != flows.StepInsertKey || !strings.Contains(s, "removed") {
			t.Fatalf("%s: pulled at the PIN step:\n%s", c.name, s)
		}
		if h.m.pin1.Value() != "" || h.m.pin2.Value() != "" {
			t.Fatalf("%s: what was typed stayed", c.name)
		}
	}
}

// Two watches started one after the other are one: the older one's look
// is not acted on.
func TestOnlyTheNewestKeyWatchActs(t *testing.T) {
	h := newHarness(t)
	h.svc.pin = fido.PINState{Set: true, Retries: 8}
	h.press("enter", "ada@example.com", "enter", "passpass", "enter")
	old := h.m.keyGen
	h.m.pollKeys(false)
	if _, cmd := h.m.Update(keysMsg{gen: old}); cmd != nil || h.step() != flows.StepEnterPIN {
		t.Fatalf("a replaced watch acted: %s", h.step())
	}
}
