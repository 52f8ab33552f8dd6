package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// stageFailedStep: this person's key could not be staged (or, with no row,
// tapd did not answer between two people). Enter tries again.
type stageFailedStep struct{}

func (stageFailedStep) keys(m *StagingModel) []key.Binding {
	return []key.Binding{m.keyRetry(), m.keySkip()}
}

func (stageFailedStep) update(m *StagingModel, k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keyRetry()):
		return m.do(m.s.Retry())
	case key.Matches(k, m.keySkip()):
		m.s.AskSkip()
	}
	return nil
}

func (stageFailedStep) view(m *StagingModel, w int) string {
	st, t := m.st, m.t
	if m.s.Row.ID == "" { // between two people: tapd did not answer
		return para(st.title, t.S("stage.batch", Clean(m.s.Batch.Name, 60)), w)
	}
	return m.who(w) + "\n" + para(st.title, t.S("stage.failedTitle"), w)
}
