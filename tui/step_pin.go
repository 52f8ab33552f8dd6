package tui

import (
	"context"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/flows"
)

// newPINStep creates the key's PIN, typed twice, with the key's rules.
type newPINStep struct{}

func (newPINStep) keys(m *Model) []key.Binding {
	return m.signedInKeys(m.keyNext(), m.bind("help.field", "tab", "tab", "up", "down"), m.keyOtherKey())
}

func (s newPINStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	j := m.j
	switch {
	case key.Matches(k, s.keys(m)[1]):
		m.switchPINField()
		return nil
	case key.Matches(k, m.keyOtherKey()):
		return m.backToKey()
	case key.Matches(k, m.keyNext()):
		if m.pinField == 0 {
			if !m.newPINRefused() {
				m.switchPINField()
			}
			return nil
		}
		p1, p2 := m.pin1.Value(), m.pin2.Value()
		if err := j.CheckNewPIN(p1, p2); err != nil {
			j.Problem = err
			m.pin1.Reset()
			m.pin2.Reset()
			m.pinField = 1
			m.switchPINField()
			return nil
		}
		m.busy = m.t.S("pin.setting")
		path := j.Key.Path
		return func() tea.Msg { return pinSetMsg{m.svc.SetPIN(path, p1)} }
	}
	return m.typeInto(k)
}

// newPINRefused says the key's rules for the new PIN at its first
// field's Enter, rather than after it is typed again (a PIN too short is
// said first, not "easy to guess"); a refused PIN is cleared.
func (m *Model) newPINRefused() bool {
	if err := m.j.CheckFirstPIN(m.pin1.Value()); err != nil {
		m.j.Problem = err
		m.pin1.Reset()
		return true
	}
	return false
}

func (m *Model) switchPINField() {
	if m.pinField == 0 {
		m.pinField = 1
		m.pin1.Blur()
		m.pin2.Focus()
	} else {
		m.pinField = 0
		m.pin2.Blur()
		m.pin1.Focus()
	}
}

func (m *Model) pinSet(msg pinSetMsg) tea.Cmd {
	m.busy = ""
	m.j.PINSet(m.pin1.Value(), msg.err)
	if m.j.Step != flows.StepNewPIN {
		return m.afterPIN()
	}
	m.pin1.Reset()
	m.pin2.Reset()
	m.pin1.Blur()
	m.pin2.Blur()
	m.pinField = 1
	m.switchPINField()
	return nil
}

func (newPINStep) view(m *Model, w int) string {
	j, st, t := m.j, m.st, m.t
	out := m.greeting(w) + st.title.Render(t.S("pin.new.title")) + "\n" + para(st.hint, t.S("pin.new.rules", max(j.Info.MinPINLength, 4)), w) + "\n\n"
	out += t.S("pin.new.first") + "\n" + m.pin1.View() + "\n" + t.S("pin.new.again") + "\n" + m.pin2.View()
	// Judged on what is in the field now, so it cannot outlive the PIN.
	if j.WeakNewPIN(m.pin1.Value()) {
		out += "\n" + para(st.hint, "! "+t.S("pin.weak"), w)
	}
	return out + m.busyView() + m.problemView(w)
}

// enterPINStep takes the PIN of a key that has one; the key judges it at
// once (VerifyPIN), before the key is named.
type enterPINStep struct{}

func (enterPINStep) keys(m *Model) []key.Binding {
	return m.signedInKeys(m.keyNext(), m.keyOtherKey())
}

func (enterPINStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keyOtherKey()):
		return m.backToKey()
	case key.Matches(k, m.keyNext()):
		if m.pin1.Value() == "" {
			return nil
		}
		if !m.j.EnterPIN(m.pin1.Value()) {
			m.pin1.Reset() // refused on screen (flows.NotKeysPINError): never sent
			return nil
		}
		m.pin1.Reset()
		m.pin1.Blur()
		m.busy = m.t.S("pin.checking")
		path, pin := m.j.Key.Path, m.j.PINToCheck()
		return call(callTimeout, func(ctx context.Context) tea.Msg { return pinCheckedMsg{m.svc.VerifyPIN(ctx, path, pin)} })
	}
	return m.typeInto(k)
}

func (enterPINStep) view(m *Model, w int) string {
	j, st, t := m.j, m.st, m.t
	out := m.greeting(w) + st.title.Render(t.S("pin.enter.title")) + "\n"
	if r := j.PIN.Retries; r > 0 && r <= 3 && j.Problem == nil {
		out += para(st.problem, "! "+t.S("pin.retriesLow", r), w)
	} else if r > 0 && j.Problem == nil {
		out += st.hint.Render(t.S("pin.retries", r))
	}
	return out + "\n\n" + m.pin1.View() + m.busyView() + m.problemView(w)
}

// afterPIN focuses what the step the journey reached after a PIN
// operation needs, or starts its call.
func (m *Model) afterPIN() tea.Cmd {
	j := m.j
	m.clearPINs()
	switch j.Step {
	case flows.StepNameKey:
		m.name.SetValue(j.KeyName)
		return m.name.Focus()
	case flows.StepEnterPIN:
		return tea.Batch(m.pin1.Focus(), m.pollKeys(false))
	case flows.StepChangePIN:
		m.pinField = m.firstChangeField()
		return tea.Batch(m.changeFields()[m.pinField].Focus(), m.pollKeys(false))
	case flows.StepKeyFull:
		if m.lookedFull || !j.ListsCredentials() {
			return nil
		}
		m.lookedFull = true
		m.busy = m.t.S("full.looking")
		path, pin, upn := j.Key.Path, j.PINForTouch(), j.UPN
		return call(callTimeout, func(ctx context.Context) tea.Msg {
			cs, err := m.svc.OwnCredentials(ctx, path, pin, upn)
			return ownCredsMsg{cs, err}
		})
	case flows.StepReplugKey, flows.StepInsertKey:
		m.lookedFull = false
		return m.pollKeys(false)
	}
	return nil
}

// pinBlockedStep explains a blocked PIN: only another key helps here.
type pinBlockedStep struct{}

func (pinBlockedStep) keys(m *Model) []key.Binding { return m.signedInKeys(m.keyOtherKey()) }

func (pinBlockedStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keyOtherKey()) {
		return m.backToKey()
	}
	return nil
}

func (pinBlockedStep) view(m *Model, w int) string {
	st, t := m.st, m.t
	return m.greeting(w) + st.problem.Render("! "+t.S("pin.blocked.title")) + "\n\n" + para(st.body, t.S("pin.blocked.body"), w)
}
