package tui

import (
	"errors"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
)

// backupStep is Insert key once the first key is done (flows.OnBackup):
// it offers a backup key. Plugging one in is the yes (its PIN, name,
// touch and check follow, as for the first); Enter goes on without. The
// first key stays in the port until it is taken out, and is not read
// again (flows sets it aside).
type backupStep struct{}

func (backupStep) keys(m *Model) []key.Binding {
	return []key.Binding{m.bind("help.noBackup", "enter", "enter"), m.keyLeave()}
}

func (s backupStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	ks := s.keys(m)
	switch {
	case key.Matches(k, ks[0]):
		m.j.SkipBackup()
		return m.afterKeyDone()
	case key.Matches(k, ks[1]):
		m.askSignOut()
	}
	return nil
}

func (backupStep) view(m *Model, w int) string {
	j, st, t := m.j, m.st, m.t
	var out string
	for _, k := range j.Keys {
		out += m.keyDoneView(k, w)
	}
	out += "\n" + para(st.title, t.S("backup.title"), w) + "\n" + para(st.body, t.S("backup.body"), w) + "\n\n"
	if m.busy != "" {
		out += m.busyView()
	} else {
		out += st.hint.Render(t.S("key.waiting"))
	}
	if !errors.Is(j.Problem, fido.ErrNoKey) { // the offer already says it
		out += m.problemView(w)
	}
	return out
}

// keyDoneView is a key done this visit, at the backup offer and at
// clean-up: kept or new, and checked.
func (m *Model) keyDoneView(k flows.KeyDone, w int) string {
	st, t := m.st, m.t
	kept := t.S("cleanup.newKey", Clean(k.Method.DisplayName, 40))
	if k.Kept {
		kept = t.S("cleanup.keptKey", Clean(k.Method.DisplayName, 40))
	}
	out := para(st.ok, "✓ "+kept, w) + "\n"
	if k.Checked {
		out += st.ok.Render("✓ "+t.S("check.ok")) + "\n"
	}
	return out
}

// afterKeyDone goes on once a key is done (checked, its check skipped,
// or kept as it was) or the backup is skipped: to the backup offer,
// which watches for a key, or to clean-up.
func (m *Model) afterKeyDone() tea.Cmd {
	switch m.j.Step {
	case flows.StepCleanup:
		return m.loadMethods()
	case flows.StepInsertKey:
		m.name.Reset()
		m.name.Blur()
		return m.pollKeys(true)
	}
	return nil
}
