package tui

import (
	"errors"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/flows"
)

// changePINStep: the key wants its PIN changed (forcePINChange) before
// it does anything else. The old PIN, then the new one twice by the new
// PIN step's rules; then ChangePIN, and the journey goes on. When the key
// has just judged the PIN right (flows.KnowsOldPIN), the old PIN field is
// not drawn: the journey holds that PIN, and only the new one is asked.
type changePINStep struct{}

func (changePINStep) keys(m *Model) []key.Binding {
	return m.signedInKeys(m.keyNext(), m.bind("help.field", "tab", "tab", "up", "down"), m.keyOtherKey())
}

// changeFields are the PIN fields, in the change step's order: the old
// PIN, the new one, the new one again.
func (m *Model) changeFields() []*textinput.Model {
	return []*textinput.Model{&m.pin0, &m.pin1, &m.pin2}
}

// clearPINs empties and blurs every PIN field, once what they held has
// been used or dropped.
func (m *Model) clearPINs() {
	for _, f := range m.changeFields() {
		f.Reset()
		f.Blur()
	}
}

// firstChangeField is the first field the change step asks: the old PIN,
// or the new one when the journey holds the old.
func (m *Model) firstChangeField() int {
	if m.j.KnowsOldPIN() {
		return 1
	}
	return 0
}

// focusChangeField moves to field i of the change step, wrapping to the
// first field it asks.
func (m *Model) focusChangeField(i int) tea.Cmd {
	fs := m.changeFields()
	for _, f := range fs {
		f.Blur()
	}
	m.pinField = i
	if i >= len(fs) {
		m.pinField = m.firstChangeField()
	}
	return fs[m.pinField].Focus()
}

func (s changePINStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	j := m.j
	switch {
	case key.Matches(k, s.keys(m)[1]):
		return m.focusChangeField(m.pinField + 1)
	case key.Matches(k, m.keyOtherKey()):
		return m.backToKey()
	case key.Matches(k, m.keyNext()):
		if m.busy != "" {
			return nil
		}
		if m.pinField == 1 && m.newPINRefused() {
			return nil
		}
		if m.pinField < 2 {
			return m.focusChangeField(m.pinField + 1)
		}
		old, p1, p2 := j.OldPIN(m.pin0.Value()), m.pin1.Value(), m.pin2.Value()
		if err := j.CheckChangePIN(old, p1, p2); err != nil {
			j.Problem = err
			m.pin1.Reset()
			m.pin2.Reset()
			var nk *flows.NotKeysPINError
			if errors.As(err, &nk) {
				m.pin0.Reset()
			}
			if old == "" || nk != nil {
				return m.focusChangeField(0)
			}
			return m.focusChangeField(1)
		}
		m.busy = m.t.S("pin.changing")
		path := j.Key.Path
		m.clearPINs()
		return func() tea.Msg { return pinChangedMsg{p1, m.svc.ChangePIN(path, old, p1)} }
	}
	return m.typeInto(k)
}

func (changePINStep) view(m *Model, w int) string {
	j, st, t := m.j, m.st, m.t
	// One paragraph for why and the rules: the screen has three fields
	// and must fit 20 rows.
	body, old := "pin.change.body", t.S("pin.change.old")+"\n"+m.pin0.View()+"\n"
	if j.KnowsOldPIN() {
		body, old = "pin.change.bodyKnown", "" // the PIN just checked: never drawn, not asked again
	}
	out := m.greeting(w) + st.title.Render(t.S("pin.change.title")) + "\n" +
		para(st.hint, t.S(body)+" "+t.S("pin.new.rules", max(j.Info.MinPINLength, 4)), w) + "\n"
	out += old + t.S("pin.new.first") + "\n" + m.pin1.View() + "\n" + t.S("pin.new.again") + "\n" + m.pin2.View()
	return out + m.busyView() + m.problemView(w)
}
