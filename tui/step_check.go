package tui

import (
	"context"
	"errors"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
)

// checkStep offers the key check: one more touch proves the new key signs
// in. Skippable. A key pulled during the check is waited for, and the
// check runs again once it is back (flows.CheckKeyGone).
type checkStep struct{}

func (checkStep) keys(m *Model) []key.Binding {
	if m.touching {
		return m.touchingKeys()
	}
	check := m.bind("help.check", "enter", "enter")
	check.SetEnabled(!m.j.CheckKeyGone())
	return []key.Binding{check, m.bind("help.skip", "s", "s"), m.keyLeave()}
}

func (s checkStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	ks := s.keys(m)
	switch {
	case m.touching:
		return m.cancelTouch(k)
	case key.Matches(k, ks[0]) && ks[0].Enabled():
		m.j.Problem = nil
		return m.checkKey()
	case key.Matches(k, ks[1]):
		m.j.SkipCheck()
		return m.afterKeyDone()
	case key.Matches(k, ks[2]):
		m.askSignOut()
	}
	return nil
}

func (checkStep) view(m *Model, w int) string {
	j, st, t := m.j, m.st, m.t
	out := st.ok.Render("✓ "+t.S("check.title")) + "  " + st.hint.Render(Clean(j.Method.DisplayName, 64)) + "\n\n"
	if m.touching {
		if j.FingerCheck() {
			return out + m.touchBox(w, t.S("bio.touch"), t.S("check.finger"))
		}
		return out + m.touchBox(w, t.S("touch.title"), t.S("check.touch"))
	}
	if m.j.CheckKeyGone() {
		return out + m.problemView(w) + "\n" + para(st.hint, t.S("check.waiting"), w)
	}
	return out + para(st.body, t.S("check.body"), w) + m.problemView(w)
}

// checkKey runs the key check against the method just registered.
func (m *Model) checkKey() tea.Cmd {
	path, pin, id := m.j.Key.Path, m.j.PINForCheck(), m.j.Method.ID
	return m.startTouch(func(ctx context.Context) tea.Msg {
		return checkedMsg{m.svc.CheckKey(ctx, path, pin, id)}
	})
}

func (m *Model) checked(msg checkedMsg) tea.Cmd {
	if errors.Is(msg.err, fido.ErrCancelled) {
		return nil
	}
	m.j.KeyChecked(msg.err)
	switch {
	case m.j.Step != flows.StepCheckKey:
		return m.afterKeyDone()
	case m.j.CheckKeyGone():
		return m.pollKeys(false) // until it is back (keysSeen)
	}
	return nil
}

func (m *Model) loadMethods() tea.Cmd {
	m.busy = "…"
	return call(callTimeout, func(ctx context.Context) tea.Msg {
		ms, err := m.svc.Methods(ctx)
		return methodsMsg{ms, err}
	})
}
