package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
)

// bind makes a key binding whose help is the catalogue's desc in the
// person's language, labelled as the help bar shows the keys.
func (m *Model) bind(desc, label string, keys ...string) key.Binding {
	return binding(m.t, desc, label, keys...)
}

// binding is a key binding whose help is desc from t's catalogue.
func binding(t T, desc, label string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(label, t.S(desc)))
}

// The keys steps share. Each step's file lists the ones it uses, so that
// its help bar and its update cannot disagree.
func (m *Model) keyNext() key.Binding   { return m.bind("help.next", "enter", "enter") }
func (m *Model) keyBack() key.Binding   { return m.bind("help.back", "esc", "esc") }
func (m *Model) keyLang() key.Binding   { return m.bind("help.lang", "ctrl+l", "ctrl+l") }
func (m *Model) keyCancel() key.Binding { return m.bind("help.cancel", "esc", "esc") }
func (m *Model) keyChoose() key.Binding {
	return m.bind("help.choose", "↑/↓", "up", "down", "tab", "left", "right", "k", "j")
}

// keyOtherKey is Esc at the PIN and naming steps: put this key aside.
func (m *Model) keyOtherKey() key.Binding { return m.bind("help.otherKey", "esc", "esc") }

// keySignOut is Ctrl+X, on every signed-in step.
func (m *Model) keySignOut() key.Binding { return m.bind("help.signOut", "ctrl+x", "ctrl+x") }

// keyLeave is Esc on a signed-in step that has no way back: it asks to
// sign out too (Ctrl+X still works; the help shows one of them).
func (m *Model) keyLeave() key.Binding { return m.bind("help.signOut", "esc", "esc", "ctrl+x") }

// signedInKeys adds the sign-out key to a signed-in step's keys.
func (m *Model) signedInKeys(bs ...key.Binding) []key.Binding {
	if m.j.CanSignOut() {
		bs = append(bs, m.keySignOut())
	}
	return bs
}

// askSignOut opens the sign-out question.
func (m *Model) askSignOut() {
	if m.j.CanSignOut() {
		m.signOutAsk = true
	}
}

// keyYes is the answer yes to a question, labelled in the person's
// language: Y, and in Swedish J (ja) too. Either case works, and extra
// keys (Enter) may say yes as well.
func (m *Model) keyYes(desc string, extra ...string) key.Binding {
	yes := m.t.S("key.yes")
	keys := []string{yes, strings.ToUpper(yes)}
	if yes != "y" {
		keys = append(keys, "y", "Y")
	}
	return m.bind(desc, yes, append(keys, extra...)...)
}

// keyNo is the answer no (N, or Esc): back to where the question was asked.
func (m *Model) keyNo(desc string) key.Binding { return m.bind(desc, "n/esc", "n", "N", "esc") }
