package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
	"github.com/tapkiosk/tapkiosk/staging"
	"github.com/tapkiosk/tapkiosk/tap"
)

// Issue 23 item 4's rule: a person's own key and method names wrap, never
// cut; anything else cut carries an ellipsis. These draw each case the
// issue found at 60x20, in both languages.

// flat is a screen's words on one line, so a wrapped name reads whole.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

// fits fails for each line of s wider than w: the terminal would cut it
// without a mark.
func fits(t *testing.T, what, s string, w int) {
	t.Helper()
	for i, l := range strings.Split(s, "\n") {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("%s: line %d is %d wide, over %d: %q", what, i+1, n, w, l)
		}
	}
}

// Text cut to a bound (names from the network) says so.
func TestCleanCutsWithAnEllipsis(t *testing.T) {
	got := []rune(Clean(strings.Repeat("x", 500), 40))
	if len(got) != 40 || got[39] != '…' {
		t.Errorf("Clean cut to %d runes ending %q, want 40 ending in …", len(got), got[len(got)-1])
	}
	if got := Clean("Ada", 3); got != "Ada" {
		t.Errorf("Clean(Ada, 3) = %q, nothing to cut", got)
	}
}

// The header keeps the organisation's name whole at 60 columns, on a line
// of its own when the title, the time left and the language leave it no
// room.
func TestHeaderKeepsTheOrganisationWhole(t *testing.T) {
	const org = "Nordic Example Organisation AB"
	for _, lang := range []string{"en", "sv"} {
		h := newHarness(t)
		h.m.cfg.Org = org
		h.m.Update(tea.WindowSizeMsg{Width: 60, Height: 20})
		if lang == "sv" {
			h.press("ctrl+l")
		}
		h.press("enter", "ada@example.com", "enter", "passpass", "enter") // signed in: the time left shows
		s := h.screen()
		if !strings.Contains(s, org) {
			t.Errorf("%s: the organisation is cut:\n%s", lang, s)
		}
		fits(t, lang, s, 60)
		if strings.Contains(strings.SplitN(s, "\n", 3)[0]+strings.SplitN(s, "\n", 3)[1], "…") {
			t.Errorf("%s: the header is cut:\n%s", lang, s)
		}
	}
}

// The greeting's line wraps instead of running past the window.
func TestGreetingWraps(t *testing.T) {
	for _, lang := range []string{"en", "sv"} {
		h := newHarness(t)
		h.svc.session.DisplayName = "Augusta Ada King, Countess of Lovelace, née Byron"
		h.m.Update(tea.WindowSizeMsg{Width: 60, Height: 20})
		if lang == "sv" {
			h.press("ctrl+l")
		}
		h.press("enter", "ada@example.com", "enter", "passpass", "enter")
		s := h.screen()
		if !strings.Contains(flat(s), h.svc.session.DisplayName) {
			t.Errorf("%s: the name is cut:\n%s", lang, s)
		}
		fits(t, lang, s, 60)
	}
}

// The key just registered, named as long as the kiosk lets a person name
// it, reads whole at clean-up.
func TestCleanupKeepsTheNewKeysNameWhole(t *testing.T) {
	if len([]rune(ownKeyName)) != tap.MaxNameLength {
		t.Fatalf("the name is %d long, want %d", len([]rune(ownKeyName)), tap.MaxNameLength)
	}
	for _, lang := range []string{"en", "sv"} {
		s := atWithName(t, lang, "enter", "enter").screen()
		if !strings.Contains(flat(s), ownKeyName) {
			t.Errorf("%s: the new key's name is cut:\n%s", lang, s)
		}
		fits(t, lang, s, 60)
	}
}

// "Remove these methods?" names each method whole, however long its name
// in the directory.
func TestRemoveQuestionKeepsNamesWhole(t *testing.T) {
	for _, lang := range []string{"en", "sv"} {
		h := newHarness(t)
		h.svc.methods[1].DisplayName = "The blue YubiKey Ada lost on the train between Uppsala and Stockholm"
		h.m.Update(tea.WindowSizeMsg{Width: 60, Height: 20})
		h.toName()
		if lang == "sv" {
			h.press("ctrl+l")
		}
		h.press("enter", "enter", "enter") // name, check, no backup key
		for i, meth := range h.m.j.Methods {
			if meth.ID == "old" {
				h.m.cursor = i
			}
		}
		h.press("space", "enter")
		if !h.m.confirming {
			t.Fatalf("%s: not asking to remove:\n%s", lang, h.screen())
		}
		s := h.screen()
		if !strings.Contains(flat(s), h.svc.methods[1].DisplayName) {
			t.Errorf("%s: the method's name is cut:\n%s", lang, s)
		}
		fits(t, lang, s, 60)
	}
}

// Staging's "Key: name (model)" and the person's UPN wrap at 60 columns.
func TestStagingKeyLineWraps(t *testing.T) {
	upn := "augusta.ada.king.countess.of.lovelace@research.example.com"
	b := api.StagingBatch{ID: "b1", Name: "north", PendingCount: 1, Rows: []api.StagingRow{{ID: "r1", UserPrincipalName: upn, DisplayName: "Ada", State: api.StagingPending}}}
	for _, lang := range Languages() {
		opts := staging.Options{PINs: staging.TypedPINs, MinPINLength: 6}
		m, err := NewStaging(StagingConfig{Lang: lang, Theme: "plain", Org: "Nordic Example Organisation AB"}, &staging.Stager{Opts: opts}, b)
		if err != nil {
			t.Fatal(err)
		}
		m.s.Row, m.s.Pos, m.s.Step, m.width, m.height = b.Rows[0], 1, staging.StepStaged, 60, 20
		m.s.Result = staging.Result{Method: api.FIDO2Method{DisplayName: "Ada Lovelace's key 2026-12-07", Model: "tapkiosk virtual security key"}}
		s := ansi.Strip(m.Render())
		for _, want := range []string{"(tapkiosk virtual security key)", "Ada Lovelace's key 2026-12-07", "Nordic Example Organisation AB"} {
			if !strings.Contains(flat(s), want) {
				t.Errorf("%s: %q is cut:\n%s", lang, want, s)
			}
		}
		// A UPN has no space to break at: it breaks where the line ends.
		if !strings.Contains(strings.Join(strings.Fields(s), ""), upn) {
			t.Errorf("%s: the UPN is cut:\n%s", lang, s)
		}
		fits(t, lang, s, 60)
	}
}

// Where the screen has no line to spare (changing the key's PIN, in
// Swedish, at 60x20), the header stays on one line: the title gives way
// first, and what is cut ends in "…"; the screen still fits.
func TestHeaderOnOneLineWhenTheScreenIsFull(t *testing.T) {
	for _, org := range []string{"Contoso", "Nordic Example Organisation AB"} {
		h := newHarness(t)
		h.m.cfg.Org = org
		h.m.Update(tea.WindowSizeMsg{Width: 60, Height: 20})
		h.press("ctrl+l")
		h.press("enter", "ada@example.com", "enter", "passpass", "enter")
		h.m.j.Step, h.m.j.Problem = flows.StepChangePIN, &fido.PINWrongError{RetriesLeft: 5}
		s := h.screen()
		lines := strings.Split(s, "\n")
		if len(lines) > 20 {
			t.Errorf("%s: %d lines:\n%s", org, len(lines), s)
		}
		fits(t, org, s, 60)
		head := lines[0]
		if !strings.Contains(head, "Tid kvar") || !strings.Contains(head, "…") {
			t.Errorf("%s: header %q", org, head)
		}
		if org == "Contoso" && !strings.Contains(head, org) {
			t.Errorf("the title did not give way to %s: %q", org, head)
		}
	}
}

// ownKeyName is as long a name as the kiosk lets a person give their key.
const ownKeyName = "Ada's spare YubiKey for the lab and the London office 2026-12-07"

// atWithName walks to the name step at 60x20 in lang, names the key
// ownKeyName, and presses keys.
func atWithName(t *testing.T, lang string, keys ...string) *harness {
	h := newHarness(t)
	h.m.Update(tea.WindowSizeMsg{Width: 60, Height: 20})
	h.toName()
	if lang == "sv" {
		h.press("ctrl+l")
	}
	h.m.name.SetValue(ownKeyName)
	h.press(keys...)
	return h
}

// hangs fails unless each line after the first of the block that starts
// with mark (after the screen's margin) is indented past the mark.
func hangs(t *testing.T, what, s, mark string) {
	t.Helper()
	lines := strings.Split(s, "\n")
	found := false
	for i, l := range lines {
		if !strings.HasPrefix(strings.TrimLeft(l, " "), mark) || !strings.Contains(flat(strings.Join(lines[i:], "\n")), ownKeyName) {
			continue
		}
		found = true
		indent := len(l) - len(strings.TrimLeft(l, " ")) + len([]rune(mark))
		for _, c := range lines[i+1:] {
			if strings.TrimSpace(c) == "" || strings.HasPrefix(strings.TrimLeft(c, " "), mark) {
				break
			}
			if !strings.HasPrefix(c, strings.Repeat(" ", indent)) {
				t.Errorf("%s: %q does not hang under the text after %q:\n%s", what, c, mark, s)
			}
		}
		break
	}
	if !found {
		t.Errorf("%s: no %q line with the key's name:\n%s", what, mark, s)
	}
}

// The check step names the key whole, wrapped.
func TestCheckStepKeepsTheNameWhole(t *testing.T) {
	for _, lang := range []string{"en", "sv"} {
		h := atWithName(t, lang, "enter")
		s := h.screen()
		if !strings.Contains(flat(s), ownKeyName) {
			t.Errorf("%s: the key's name is cut:\n%s", lang, s)
		}
		fits(t, lang, s, 60)
	}
}

// Clean-up's "✓ Your new key stays: …" hangs under its text.
func TestCleanupKeptLineHangs(t *testing.T) {
	for _, lang := range []string{"en", "sv"} {
		h := atWithName(t, lang, "enter", "enter", "enter") // name, check, no backup key
		if h.step() != flows.StepCleanup {
			t.Fatalf("%s: at %s, not clean-up", lang, h.step())
		}
		hangs(t, lang, h.screen(), "✓ ")
	}
}

// Done's points hang under their text, as "Sign out now?"'s do.
func TestDonePointsHang(t *testing.T) {
	for _, lang := range []string{"en", "sv"} {
		h := atWithName(t, lang, "enter", "enter", "enter", "enter", "enter") // name, check, no backup key, clean-up, delete the pass
		s := h.screen()
		if !strings.Contains(flat(s), ownKeyName) {
			t.Fatalf("%s: not at done with the key's name:\n%s", lang, s)
		}
		hangs(t, lang, s, "• ")
	}
}
