package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/flows"
)

// upnStep takes the sign-in name, checked as it is typed.
type upnStep struct{}

func (upnStep) keys(m *Model) []key.Binding {
	return []key.Binding{m.keyNext(), m.keyBack(), m.keyLang()}
}

func (upnStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keyNext()):
		if m.j.SubmitUPN(m.upn.Value()) == nil {
			m.upn.Blur()
			return m.pass.Focus()
		}
		return nil
	case key.Matches(k, m.keyBack()):
		m.j.Back()
		m.upn.Blur()
		return nil
	}
	return m.typeInto(k)
}

func (upnStep) view(m *Model, w int) string {
	st, t := m.st, m.t
	out := st.title.Render(t.S("upn.title")) + "\n" + para(st.hint, t.S("upn.hint"), w) + "\n\n" + m.upn.View() + "\n"
	if m.j.Problem != nil {
		return out + m.problemView(w) // the reason, once; no "looks right" beside it
	}
	if v := m.upn.Value(); v != "" {
		if err := flows.CheckUPN(v); err != nil {
			return out + para(st.hint, m.explain(err), w)
		}
		return out + st.ok.Render(t.S("upn.ok"))
	}
	return out
}
