package tui

import (
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
)

// atKnownKey walks to "This key is already registered to you" with a key
// whose PIN is set.
func atKnownKey(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	h.svc.pin = fido.PINState{Set: true, Retries: 8}
	h.svc.methods = append(h.svc.methods, api.AuthenticationMethod{Type: api.TypeFIDO2, ID: "mine", DisplayName: "Blue key"})
	h.svc.holds = "mine"
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "2468", "enter")
	h.svc.regErrs = []error{fido.ErrAlreadyRegistered}
	h.press("enter")
	if h.step() != flows.StepKnownKey {
		t.Fatalf("not at the known key: %s\n%s", h.step(), h.screen())
	}
	return h
}

// The key watch runs on the known-key step: a key pulled there goes back
// to Insert key at once, not at the next Enter; plugged back in it is read
// afresh, and "the key was removed" is gone.
func TestKnownKeyPulledAndPluggedBack(t *testing.T) {
	h := atKnownKey(t)
	keys := h.svc.keys
	h.svc.keys = nil
	h.run(h.m.registered(registeredMsg{err: fido.ErrAlreadyRegistered})) // the step's own watch, as on arrival
	if s := h.screen(); h.step() != flows.StepInsertKey || !strings.Contains(s, "The key was removed") {
		t.Fatalf("pulled at the known key: %s\n%s", h.step(), s)
	}
	h.svc.keys = keys
	h.run(h.m.pollKeys(true))
	if s := h.screen(); h.step() != flows.StepEnterPIN || strings.Contains(s, "removed") {
		t.Fatalf("plugged back in: %s\n%s", h.step(), s)
	}
	if h.svc.checked != nil {
		t.Fatalf("a key check ran: %v", h.svc.checked)
	}
}

// A key swapped faster than the watch looks: the check says the key in
// the port has no PIN. Either choice goes back to Insert key, which reads
// the new key and asks for its PIN; nothing is left to sign out of.
func TestKnownKeySwappedForAnEmptyKey(t *testing.T) {
	for _, keys := range [][]string{{"enter"}, {"down", "enter"}} {
		h := atKnownKey(t)
		h.svc.holds, h.svc.checkErr = "", fido.ErrPINNotSet
		h.svc.pin = fido.PINState{Retries: -1}
		h.press(keys...)
		if h.step() != flows.StepInsertKey {
			t.Fatalf("%v after the swap: %s\n%s", keys, h.step(), h.screen())
		}
		h.run(h.m.pollKeys(true)) // the step's watch, which the harness stopped following
		if s := h.screen(); h.step() != flows.StepNewPIN || strings.Contains(s, "no PIN yet") {
			t.Fatalf("%v after the swap: %s\n%s", keys, h.step(), s)
		}
		if len(h.svc.deleted) != 0 {
			t.Fatalf("removed %v at tapd", h.svc.deleted)
		}
	}
}
