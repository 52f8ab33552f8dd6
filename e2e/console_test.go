package e2e

import (
	"strings"
	"testing"
)

// TestKioskOnTheLinuxConsole: with TERM=linux (the text console, whose
// fonts lack ◐ ✓ › • and arrows) the real kiosk draws ASCII stand-ins and
// the journey reads the same.
func TestKioskOnTheLinuxConsole(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	pass := w.pass(false)
	k := w.launchKiosk(nil, "env TERM=linux ")
	k.waitFor("Press Enter to start")
	k.send("Enter", w.upn, "Enter")
	k.waitFor("Temporary Access Pass")
	k.send(pass, "Enter")
	s := k.waitFor("Create a PIN for your key")
	for _, glyph := range []string{"◐", "✓", "›", "•", "↑", "↓"} {
		if strings.Contains(s, glyph) {
			t.Fatalf("%q on the Linux console:\n%s", glyph, s)
		}
	}
	if !strings.Contains(s, "\n  >") {
		t.Fatalf("the prompt has no ASCII stand-in:\n%s", s)
	}
}

// Issue 23 item 6: in a coloured theme the touch box's corners are square
// on the console, whose fonts have no rounded ones.
func TestKioskConsoleBoxCorners(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	pass := w.pass(false)
	k := w.launchKiosk(nil, "env TERM=linux ", "--theme", "dark")
	k.signIn(w.upn, pass)
	k.newPIN()
	k.keyTaken("never")
	k.send("Enter")
	s := k.waitFor("Touch your key now")
	if strings.ContainsAny(s, "╭╮╰╯") || !strings.Contains(s, "┌") {
		t.Fatalf("the touch box on the console:\n%s", s)
	}
}
