package tui

import (
	"context"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/flows"
)

// nameStep names the key, the model and the date by default.
type nameStep struct{}

func (nameStep) keys(m *Model) []key.Binding {
	return m.signedInKeys(m.keyNext(), m.keyOtherKey())
}

func (nameStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keyOtherKey()):
		return m.backToKey()
	case key.Matches(k, m.keyNext()):
		if m.j.NameKey(m.name.Value()) == nil {
			m.name.Blur()
			return m.register()
		}
		return nil
	}
	return m.typeInto(k)
}

func (nameStep) view(m *Model, w int) string {
	st, t := m.st, m.t
	out := st.title.Render(t.S("name.title")) + "\n" + para(st.hint, t.S("name.hint"), w) + "\n\n" + m.name.View()
	if m.j.FullUnlisted {
		// Said before the touch: the key may yet refuse for want of room.
		out += "\n\n" + para(st.hint, t.S("name.fullUnlisted"), w)
	}
	return out + m.problemView(w)
}

// touchStep registers the key: the box while the key waits for a touch;
// after a failure, what went wrong and how to go on, without the box.
type touchStep struct{}

func (touchStep) keys(m *Model) []key.Binding {
	if m.touching {
		return m.touchingKeys()
	}
	return m.signedInKeys(m.bind("help.retry", "enter", "enter"), m.keyBack())
}

func (touchStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	switch {
	case m.touching:
		return m.cancelTouch(k)
	case key.Matches(k, m.keyNext()):
		m.j.Problem = nil
		return m.register()
	case key.Matches(k, m.keyBack()):
		if m.j.Back() {
			return m.name.Focus()
		}
	}
	return nil
}

func (touchStep) view(m *Model, w int) string {
	st, t := m.st, m.t
	if m.touching {
		return m.touchBox(w, t.S("touch.title"), t.S("touch.body"))
	}
	return st.title.Render(t.S("touch.failed")) + "\n" + m.problemView(w)
}

func (m *Model) register() tea.Cmd {
	j := m.j
	path, pin, name, product := j.Key.Path, j.PINForTouch(), j.KeyName, j.Key.Product
	return m.startTouch(func(ctx context.Context) tea.Msg {
		meth, err := m.svc.Register(ctx, path, pin, name, product)
		return registeredMsg{meth, err}
	})
}

func (m *Model) registered(msg registeredMsg) tea.Cmd {
	m.j.Registered(msg.m, msg.err)
	switch m.j.Step {
	case flows.StepEnterPIN, flows.StepChangePIN, flows.StepKeyFull, flows.StepReplugKey:
		m.lookedFull = false
		return m.afterPIN()
	case flows.StepNameKey:
		return m.name.Focus()
	case flows.StepInsertKey:
		return m.pollKeys(false)
	case flows.StepKnownKey:
		m.again = false
		return m.pollKeys(false) // the key watch (keysSeen)
	}
	return nil
}
