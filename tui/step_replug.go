package tui

import (
	"errors"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/fido"
)

// replugStep: after too many wrong PINs in a row the key refuses any PIN
// until it is unplugged and plugged in again. The key watch waits for it
// to leave; then Insert key takes it back and asks the PIN afresh.
type replugStep struct{}

func (replugStep) keys(m *Model) []key.Binding { return []key.Binding{m.keyLeave()} }

func (replugStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keyLeave()) {
		m.askSignOut()
	}
	return nil
}

func (replugStep) view(m *Model, w int) string {
	st, t := m.st, m.t
	// The wrong PIN that blocked the key cost a try like the others; the
	// key said how many are left (fido.PINAuthBlockedError).
	body := t.S("replug.body")
	var ab *fido.PINAuthBlockedError
	if errors.As(m.j.Problem, &ab) && ab.RetriesLeft > 0 {
		body = t.S("replug.bodyLeft", ab.RetriesLeft)
	}
	return m.greeting(w) + para(st.title, t.S("replug.title"), w) + "\n" + para(st.body, body, w) + "\n" +
		st.hint.Render(t.S("key.waiting"))
}
