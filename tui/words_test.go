package tui

import (
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/flows"
)

// Issue 23 item 6: a sign-out, on purpose or after a while, is what was
// meant to happen: Welcome says so without the problem marker. A session
// tapd ended keeps it.
func TestWelcomeAfterASignOutHasNoProblemMarker(t *testing.T) {
	h := newHarness(t)
	h.press("enter", "ada@example.com", "enter", "passpass", "enter", "ctrl+x", "y")
	s := h.screen()
	if h.step() != flows.StepWelcome || !strings.Contains(s, "You signed out") || strings.Contains(s, "! You signed out") {
		t.Fatalf("after a sign-out:\n%s", s)
	}
	h.m.notice = "err.session"
	if s := h.screen(); !strings.Contains(s, "! Your sign-in has ended") {
		t.Fatalf("a session tapd ended:\n%s", s)
	}
}

// Issue 23 item 6: "Sign out now?" at "already registered" says the key in
// the port is theirs, not that no key has been registered.
func TestSignOutAtTheKnownKeySaysTheKeyIsTheirs(t *testing.T) {
	h := atKnownKey(t)
	h.press("ctrl+x")
	s := h.screen()
	if !strings.Contains(s, "Sign out now?") || strings.Contains(s, "No key has been registered") ||
		!strings.Contains(s, "already registered to you") {
		t.Fatalf("sign-out at the known key:\n%s", s)
	}
}

// Issue 23 item 6: on the Linux console (ASCII) boxes have square corners,
// in every theme; the console's fonts lack ╭╮╰╯.
func TestConsoleBoxesHaveSquareCorners(t *testing.T) {
	for _, theme := range []string{"dark", "light", "contrast", "plain"} {
		m, err := New(Config{Org: "Contoso", Theme: theme, ASCII: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		m.idleAsk = true // the "still there?" box
		out := m.Render()
		if strings.ContainsAny(out, "╭╮╰╯") || !strings.Contains(out, "┌") {
			t.Fatalf("%s:\n%s", theme, out)
		}
	}
}
