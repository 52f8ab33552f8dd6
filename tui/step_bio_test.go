package tui

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
)

// The fingerprint sensor, scripted: FingerSample's answers in turn (a
// good sample counting down from fingerFrom when the script is empty).
func (f *fakeSvc) FingerSample(_ context.Context, _, pin string, begin bool) (fido.Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fingerCalls = append(f.fingerCalls, fingerCall{pin, begin})
	if len(f.fingerAnswers) == 0 {
		return fido.Sample{}, errors.New("fake sensor: no answer scripted")
	}
	a := f.fingerAnswers[0]
	f.fingerAnswers = f.fingerAnswers[1:]
	return a.s, a.err
}
func (f *fakeSvc) CancelFinger() error { f.fingerCancelled = true; return nil }

type fingerCall struct {
	pin   string
	begin bool
}

func sample(fb fido.Feedback, n int) fingerMsg {
	return fingerMsg{s: fido.Sample{Feedback: fb, Remaining: n}}
}

// TestFingerEnrolmentScreens walks the fingerprint step: the offer after
// a new PIN, the sensor's word after each touch (in English and Swedish),
// a timeout and its retry resuming the same finger without the PIN, then
// a skip of the second finger; the key check goes without the PIN.
func TestFingerEnrolmentScreens(t *testing.T) {
	h := newHarness(t)
	h.svc.info.Bio = true
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "2468", "tab", "2468", "enter")
	if h.step() != flows.StepFingers || !strings.Contains(flat(h.screen()), "Sign in with your fingerprint?") {
		t.Fatalf("no offer: %s\n%s", h.step(), flat(h.screen()))
	}
	// The first touch is good, the second poor, then nothing: a timeout.
	h.svc.fingerAnswers = []fingerMsg{sample(fido.FeedbackGood, 3), sample(fido.FeedbackPoorQuality, 3), {err: fido.ErrTouchTimeout}}
	h.press("enter")
	got := flat(h.screen())
	if !strings.Contains(got, "felt no finger in time") || !strings.Contains(got, "could not read that") || !strings.Contains(got, "3 more times") {
		t.Fatalf("after a poor sample and a timeout:\n%s", got)
	}
	want := []fingerCall{{"2468", true}, {"", false}, {"", false}}
	if len(h.svc.fingerCalls) != 3 || h.svc.fingerCalls[0] != want[0] || h.svc.fingerCalls[1] != want[1] || h.svc.fingerCalls[2] != want[2] {
		t.Fatalf("calls %+v", h.svc.fingerCalls)
	}
	// Swedish, for the same screen.
	h.press("ctrl+l")
	if got := flat(h.screen()); !strings.Contains(got, "Sensorn kände inget finger i tid") || !strings.Contains(got, "3 gånger till") {
		t.Fatalf("Swedish:\n%s", got)
	}
	h.press("ctrl+l")
	// Try again: the finger goes on (no PIN), once more, and is enrolled.
	h.svc.fingerAnswers = []fingerMsg{sample(fido.FeedbackTooHigh, 3), sample(fido.FeedbackGood, 2), sample(fido.FeedbackGood, 1), sample(fido.FeedbackGood, 0)}
	h.press("enter")
	if n := len(h.svc.fingerCalls); n != 7 || h.svc.fingerCalls[3].begin || h.svc.fingerCalls[3].pin != "" {
		t.Fatalf("retry calls %+v", h.svc.fingerCalls)
	}
	if got := flat(h.screen()); !strings.Contains(got, "1 finger enrolled") || h.step() != flows.StepFingers {
		t.Fatalf("after the first finger:\n%s", got)
	}
	// Continue without a second finger: naming, and the check uses the
	// finger.
	h.press("s")
	if h.step() != flows.StepNameKey || h.svc.fingerCancelled {
		t.Fatalf("continue: %s, cancelled %v", h.step(), h.svc.fingerCancelled)
	}
	h.press("enter")
	if h.step() != flows.StepCheckKey {
		t.Fatalf("after the touch: %s", h.step())
	}
	h.svc.checkPIN = "unset"
	h.press("enter")
	if h.svc.checkPIN != "" {
		t.Fatalf("the check sent the PIN %q with a finger enrolled", h.svc.checkPIN)
	}
}

// TestFingerSkippedMidway: skipping with a finger begun tells the key to
// drop it; a key without a sensor is never offered fingers.
func TestFingerSkippedMidway(t *testing.T) {
	h := newHarness(t)
	h.svc.info.Bio = true
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "2468", "tab", "2468", "enter")
	h.svc.fingerAnswers = []fingerMsg{sample(fido.FeedbackGood, 2), {err: fido.ErrTouchTimeout}}
	h.press("enter")
	h.press("s")
	if h.step() != flows.StepNameKey || !h.svc.fingerCancelled {
		t.Fatalf("skip midway: %s, cancelled %v", h.step(), h.svc.fingerCancelled)
	}

	// Signing out with a finger begun drops it too.
	h = newHarness(t)
	h.svc.info.Bio = true
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "2468", "tab", "2468", "enter")
	h.svc.fingerAnswers = []fingerMsg{sample(fido.FeedbackGood, 2), {err: fido.ErrTouchTimeout}}
	h.press("enter", "ctrl+x", "enter")
	if h.step() != flows.StepWelcome || !h.svc.fingerCancelled {
		t.Fatalf("sign out midway: %s, cancelled %v", h.step(), h.svc.fingerCancelled)
	}

	h = newHarness(t)
	h.toName()
	if len(h.svc.fingerCalls) != 0 {
		t.Fatal("a key without a sensor was sampled")
	}
	h.press("enter", "enter")
	if h.svc.checkPIN != "2468" {
		t.Fatalf("without a finger the check sent %q", h.svc.checkPIN)
	}
}
