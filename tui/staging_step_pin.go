package tui

import (
	"errors"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/staging"
)

// stageTypePINStep: the operator types the person's PIN twice (typed PINs).
type stageTypePINStep struct{}

func (stageTypePINStep) keys(m *StagingModel) []key.Binding {
	return []key.Binding{m.bind("help.next", "enter", "enter"), m.keySkip()}
}

func (stageTypePINStep) update(m *StagingModel, k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keySkip()) {
		m.s.AskSkip()
		return nil
	}
	return m.typePIN(k)
}

func (stageTypePINStep) view(m *StagingModel, w int) string {
	st, t := m.st, m.t
	return m.who(w) + "\n" + para(st.body, t.S("stage.typePIN", m.s.MinPINLength()), w) + "\n\n" +
		t.S("pin.new.first") + "\n" + m.pin1.View() + "\n" + t.S("pin.new.again") + "\n" + m.pin2.View()
}

// typePIN handles the operator's typing of a PIN: two fields, then
// Enter. A PIN staging.Weak finds easy to guess is refused once with the
// reason; Enter again takes it (the operator may know better).
func (m *StagingModel) typePIN(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "tab", "down", "up":
			return m.focusPIN(1 - m.pinField)
		case "enter":
			if m.pinField == 0 {
				return m.focusPIN(1)
			}
			return m.pinTyped()
		}
	}
	f := &m.pin1
	if m.pinField == 1 {
		f = &m.pin2
	}
	before := f.Value()
	var cmd tea.Cmd
	*f, cmd = f.Update(msg)
	if f.Value() != before {
		m.s.PINEdited()
	}
	return cmd
}

func (m *StagingModel) focusPIN(i int) tea.Cmd {
	m.pinField = i
	if i == 0 {
		m.pin2.Blur()
		return m.pin1.Focus()
	}
	m.pin1.Blur()
	return m.pin2.Focus()
}

// pinTyped hands the two fields to the station, which judges them.
func (m *StagingModel) pinTyped() tea.Cmd {
	e := m.s.PINTyped(m.pin1.Value(), m.pin2.Value())
	switch {
	case e == staging.DoStage:
		m.pin1.Reset()
		m.pin2.Reset()
		m.pin1.Blur()
		m.pin2.Blur()
	case errors.Is(m.s.Problem, staging.ErrPINsDiffer):
		m.pin2.Reset()
	}
	return m.do(e)
}
