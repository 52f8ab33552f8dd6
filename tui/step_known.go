package tui

import (
	"context"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/flows"
)

// knownKeyStep is a key already registered to the person: keep it as it
// is (a key check finds its registration, then clean-up), or register it
// again (the same check, its old registration removed, then a new one).
type knownKeyStep struct{}

func (knownKeyStep) keys(m *Model) []key.Binding {
	if m.touching {
		return m.touchingKeys()
	}
	return []key.Binding{m.keyChoose(), m.keyNext(), m.keyLeave()}
}

func (knownKeyStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	switch {
	case m.touching:
		return m.cancelTouch(k)
	case key.Matches(k, m.keyChoose()):
		m.again = !m.again
	case key.Matches(k, m.keyNext()):
		m.j.ChooseKnownKey(m.again)
		m.busy = "…"
		return call(callTimeout, func(ctx context.Context) tea.Msg {
			ms, err := m.svc.Methods(ctx)
			return candidatesMsg{ms, err}
		})
	case key.Matches(k, m.keyLeave()):
		m.askSignOut()
	}
	return nil
}

func (knownKeyStep) view(m *Model, w int) string {
	st, t := m.st, m.t
	out := st.title.Render(t.S("known.title")) + "\n" + para(st.body, t.S("known.body"), w) + "\n\n"
	if m.touching {
		return out + m.touchBox(w, t.S("touch.title"), t.S("known.touch"))
	}
	out += para(st.body, t.S("known.choose"), w) + "\n"
	sel := 0
	if m.again {
		sel = 1
	}
	return out + m.choices(w, sel, t.S("known.keep"), t.S("known.again")) + m.busyView() + m.problemView(w)
}

func (m *Model) candidates(msg candidatesMsg) tea.Cmd {
	j := m.j
	if msg.err != nil {
		j.Problem = msg.err
		return nil
	}
	cs := j.KnownKeyCandidates(msg.ms)
	if len(cs) == 0 {
		j.KnownKeyChecked("", nil) // says the key holds none of them
		return nil
	}
	return m.checkKnown(cs[0].ID)
}

// checkKnown runs the key check against one candidate.
func (m *Model) checkKnown(id string) tea.Cmd {
	path, pin := m.j.Key.Path, m.j.PINForTouch()
	return m.startTouch(func(ctx context.Context) tea.Msg {
		return knownCheckedMsg{id, m.svc.CheckKey(ctx, path, pin, id)}
	})
}

func (m *Model) knownChecked(msg knownCheckedMsg) tea.Cmd {
	j := m.j
	if next := j.KnownKeyChecked(msg.id, msg.err); next != "" {
		return m.checkKnown(next)
	}
	if j.Step == flows.StepCleanup || (j.Step == flows.StepInsertKey && j.OnBackup()) {
		return m.afterKeyDone() // kept
	}
	if old, ok := j.Replacing(); ok {
		m.busy = m.t.S("known.removing")
		return call(callTimeout, func(ctx context.Context) tea.Msg {
			return knownRemovedMsg{m.svc.DeleteMethod(ctx, old.ID)}
		})
	}
	return nil
}

func (m *Model) knownRemoved(msg knownRemovedMsg) tea.Cmd {
	m.j.ReplacedKnownKey(msg.err)
	if m.j.Step == flows.StepNameKey {
		m.name.SetValue(m.j.KeyName)
		return m.name.Focus()
	}
	return nil
}
