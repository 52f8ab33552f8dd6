package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
	"github.com/tapkiosk/tapkiosk/staging"
)

// stageTypePINStep: the operator types the person's PIN twice (typed PINs).
type stageTypePINStep struct{}

func (stageTypePINStep) keys(m *StagingModel) []key.Binding {
	return []key.Binding{m.bind("help.next", "enter", "enter"), m.keySkip()}
}

func (stageTypePINStep) update(m *StagingModel, k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keySkip()) {
		return m.askSkip()
	}
	return m.typePIN(k)
}

func (stageTypePINStep) view(m *StagingModel, w int) string {
	st, t := m.st, m.t
	return m.who(w) + "\n" + para(st.body, t.S("stage.typePIN", max(m.info.MinPINLength, m.stager.Opts.MinPINLength)), w) + "\n\n" +
		t.S("pin.new.first") + "\n" + m.pin1.View() + "\n" + t.S("pin.new.again") + "\n" + m.pin2.View()
}

// choosePIN draws the person's PIN, or asks the operator for it.
func (m *StagingModel) choosePIN() tea.Cmd {
	o := m.stager.Opts
	if o.PINs == staging.TypedPINs {
		if m.pin != "" {
			return m.startStage(false)
		}
		m.step, m.pinField = sTypePIN, 0
		return m.pin1.Focus()
	}
	if m.pin == "" {
		return func() tea.Msg { pin, err := staging.RandomPIN(o.PINLength, o.Alphabet); return sPINMsg{pin, err} }
	}
	return m.startStage(false)
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
		m.problem, m.weakOK = nil, false
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

// errWeak is a typed PIN staging.Weak finds easy to guess.
type errWeak struct{ why string }

func (e errWeak) Error() string { return "weak PIN: " + e.why }

func (m *StagingModel) pinTyped() tea.Cmd {
	p1, p2 := m.pin1.Value(), m.pin2.Value()
	min := max(m.info.MinPINLength, m.stager.Opts.MinPINLength)
	weak := staging.Weak(p1)
	switch err := fido.CheckPIN(p1, min); {
	case err != nil:
		m.problem = err
	case p1 != p2:
		m.problem = flows.ErrPINsDiffer
		m.pin2.Reset()
	case weak != "" && !m.weakOK:
		m.problem, m.weakOK = errWeak{weak}, true
	default:
		m.pin = p1
		m.pin1.Reset()
		m.pin2.Reset()
		m.pin1.Blur()
		m.pin2.Blur()
		return m.startStage(false)
	}
	return nil
}
