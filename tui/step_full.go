package tui

import (
	"context"
	"encoding/hex"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
)

// keyFullStep: the key has no room for another passkey. If it holds some
// of this account (older registrations), the screen names each and one
// Enter removes them all from the key to make room; otherwise the key is
// full of other accounts' passkeys, or cannot show them, and only another
// key helps.
type keyFullStep struct{}

func (keyFullStep) keys(m *Model) []key.Binding {
	cs := m.j.CredentialsToRemove()
	remove := m.bind("help.removeCred", "enter", "enter")
	if len(cs) > 1 {
		remove = m.bind("help.removeCreds", "enter", "enter")
	}
	remove.SetEnabled(len(cs) > 0 && m.busy == "")
	return m.signedInKeys(remove, m.keyOtherKey())
}

func (s keyFullStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, s.keys(m)[0]):
		if len(m.j.CredentialsToRemove()) == 0 || m.busy != "" {
			return nil
		}
		return m.removeNextCredential()
	case key.Matches(k, m.keyOtherKey()):
		return m.backToKey()
	}
	return nil
}

// removeNextCredential removes the first passkey still to remove; its
// result (credRemovedMsg) starts the next, so they go one at a time and a
// refusal stops the rest.
func (m *Model) removeNextCredential() tea.Cmd {
	cs := m.j.CredentialsToRemove()
	if len(cs) == 0 {
		return nil
	}
	m.busy = m.t.S("full.removing")
	path, pin, id := m.j.Key.Path, m.j.PINForTouch(), cs[0].ID
	return call(callTimeout, func(ctx context.Context) tea.Msg {
		return credRemovedMsg{id, m.svc.DeleteCredential(ctx, path, pin, id)}
	})
}

func (m *Model) credRemoved(msg credRemovedMsg) tea.Cmd {
	m.busy = ""
	m.j.CredentialRemoved(msg.id, msg.err)
	if m.j.Step == flows.StepKeyFull && m.j.Problem == nil {
		return m.removeNextCredential()
	}
	return m.afterPIN()
}

func (keyFullStep) view(m *Model, w int) string {
	j, st, t := m.j, m.st, m.t
	out := m.greeting(w) + para(st.title, t.S("full.title"), w) + "\n"
	if m.busy != "" {
		return out + m.busyView()
	}
	switch cs := j.CredentialsToRemove(); len(cs) {
	case 0:
	case 1:
		out += para(st.body, t.S("full.own", m.credName(cs[0])), w)
	default:
		out += para(st.body, t.S("full.ownMany", len(cs)), w) + "\n"
		for _, c := range cs {
			out += para(st.body, "• "+t.S("full.cred", m.credName(c), credIDPrefix(c)), w) + "\n"
		}
		out += para(st.body, t.S("full.ownMany.ask"), w)
	}
	return out + m.problemView(w)
}

// credName is what identifies a passkey of this account to its owner:
// the user name it was made for (the UPN when it has none) and its
// display name when that says something more.
func (m *Model) credName(c fido.Credential) string {
	name := c.UserName
	if name == "" {
		name = m.j.UPN
	}
	if c.DisplayName != "" && !strings.EqualFold(c.DisplayName, name) {
		name += " (" + c.DisplayName + ")"
	}
	return Clean(name, 60)
}

// credIDPrefix tells passkeys with the same names apart: the start of
// the credential id, as hex.
func credIDPrefix(c fido.Credential) string {
	return hex.EncodeToString(c.ID[:min(len(c.ID), 4)])
}
