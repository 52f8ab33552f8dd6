package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/flows"
)

// The sign-out question: a person can leave on purpose from every
// signed-in step, and is told first what stays behind.

func (m *Model) signOutKeys() []key.Binding {
	return []key.Binding{m.keyYes("help.signOutYes", "enter"), m.keyNo("help.stay")}
}

func (m *Model) signOutKey(k tea.KeyPressMsg) tea.Cmd {
	ks := m.signOutKeys()
	switch {
	case key.Matches(k, ks[0]):
		return m.endSession("signedOut")
	case key.Matches(k, ks[1]):
		m.signOutAsk = false
	}
	return nil
}

func (m *Model) signOutView(w int) string {
	j, st, t := m.j, m.st, m.t
	var points []string        // each said after a bullet
	for _, k := range j.Keys { // done this visit; a backup key under way is said below
		points = append(points, t.S("signout.keyStays", Clean(k.Method.DisplayName, 64)))
	}
	done := len(j.Keys) > 0
	switch {
	case j.Method.ID != "" && (!done || j.Keys[len(j.Keys)-1].Method.ID != j.Method.ID):
		points = append(points, t.S("signout.keyStays", Clean(j.Method.DisplayName, 64)))
	case done:
	case j.Step == flows.StepKnownKey:
		// The key refused a second registration: it holds one of theirs.
		points = append(points, t.S("signout.knownKey"))
	default:
		points = append(points, t.S("signout.noKey"))
	}
	switch {
	case j.PassOnce:
		points = append(points, t.S("signout.passOnce"))
	case !j.PassEnds.IsZero():
		points = append(points, t.S("signout.passStays", m.minute(j.PassEnds)))
	default:
		points = append(points, t.S("signout.passMaybe"))
	}
	// Each point hangs under its own text when it wraps.
	var out []string
	for _, p := range points {
		out = append(out, hanging("• ", p, w)...)
	}
	return st.title.Render(t.S("signout.title")) + "\n\n" + st.body.Render(strings.Join(out, "\n"))
}
