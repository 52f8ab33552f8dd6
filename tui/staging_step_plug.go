package tui

import (
	"errors"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/fido"
)

// stagePlugStep waits for the key of the person named: one key, then its
// facts are read (staging.Station.FactsRead says what follows).
type stagePlugStep struct{}

func (stagePlugStep) keys(m *StagingModel) []key.Binding { return []key.Binding{m.keySkip()} }

func (stagePlugStep) update(m *StagingModel, k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keySkip()) {
		m.s.AskSkip()
	}
	return nil
}

func (stagePlugStep) view(m *StagingModel, w int) string {
	st, t := m.st, m.t
	out := m.who(w) + "\n"
	if m.busyText() == "" {
		if !errors.Is(m.s.Problem, fido.ErrKeyRemoved) { // the problem says to plug it back
			out += para(st.body, t.S("stage.plug"), w) + "\n"
		}
		out += st.hint.Render(t.S("key.waiting"))
	}
	return out
}
