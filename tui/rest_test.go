package tui

import (
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/flows"
)

// Issue 23 item 11: at rest (Welcome, nothing to take down) the clock
// ticks once per readiness check, not every second; a notice showing, or
// any other step, keeps the second's tick. Readiness is still asked every
// readyEvery.
func TestAtRestTheClockSlows(t *testing.T) {
	h := newHarness(t)
	every := time.Millisecond // newHarness's TickEvery
	if got := h.m.tickEvery(h.now); got != restEvery*every {
		t.Fatalf("at rest: %v", got)
	}
	h.press("enter")
	if h.step() != flows.StepUPN || h.m.tickEvery(h.now) != every {
		t.Fatalf("on %s: %v", h.step(), h.m.tickEvery(h.now))
	}
	h.press("ctrl+x") // nobody signed in: nothing to ask
	h.m.endSession("idleReset")
	if h.m.tickEvery(h.now) != every {
		t.Fatal("a notice to take down: the second's tick")
	}
	if h.m.tickEvery(h.now.Add(noticeFor)) != restEvery*every {
		t.Fatal("after the notice: at rest")
	}
	h.svc.readyCalls.Store(0)
	for i := 0; i < 12; i++ {
		h.advance(time.Second)
	}
	if n := h.svc.readyCalls.Load(); n < 2 || n > 3 {
		t.Fatalf("%d readiness checks in 12 s", n)
	}
}
