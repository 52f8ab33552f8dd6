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
