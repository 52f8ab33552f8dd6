package tui

import (
	"context"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// keyFullStep: the key has no room for another passkey. If it holds one
// of this account (an older registration), the person may remove it from
// the key to make room; otherwise the key is full of other accounts'
// passkeys and only another key helps.
type keyFullStep struct{}

func (keyFullStep) keys(m *Model) []key.Binding {
	remove := m.bind("help.removeCred", "enter", "enter")
	_, ok := m.j.CredentialToRemove()
	remove.SetEnabled(ok && m.busy == "")
	return m.signedInKeys(remove, m.keyOtherKey())
}

func (s keyFullStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	j := m.j
	switch {
	case key.Matches(k, s.keys(m)[0]):
		c, ok := j.CredentialToRemove()
		if !ok || m.busy != "" {
			return nil
		}
		m.busy = m.t.S("full.removing")
		path, pin := j.Key.Path, j.PINForTouch()
		return call(callTimeout, func(ctx context.Context) tea.Msg {
			return credRemovedMsg{m.svc.DeleteCredential(ctx, path, pin, c.ID)}
		})
	case key.Matches(k, m.keyOtherKey()):
		return m.backToKey()
	}
	return nil
}

func (keyFullStep) view(m *Model, w int) string {
	j, st, t := m.j, m.st, m.t
	out := m.greeting(w) + para(st.title, t.S("full.title"), w) + "\n"
	if m.busy != "" {
		return out + m.busyView()
	}
	if c, ok := j.CredentialToRemove(); ok {
		name := c.UserName
		if name == "" {
			name = j.UPN
		}
		out += para(st.body, t.S("full.own", Clean(name, 60)), w)
	}
	return out + m.problemView(w)
}
