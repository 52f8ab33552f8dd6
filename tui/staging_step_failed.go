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
		if m.row.ID == "" {
			m.problem = nil
			return m.reload()
		}
		m.problem, m.step = nil, sPlug
		return m.pollKeys(true)
	case key.Matches(k, m.keySkip()):
		return m.askSkip()
	}
	return nil
}

func (stageFailedStep) view(m *StagingModel, w int) string {
	st, t := m.st, m.t
	if m.row.ID == "" { // between two people: tapd did not answer
		return para(st.title, t.S("stage.batch", Clean(m.batch.Name, 60)), w)
	}
	return m.who(w) + "\n" + para(st.title, t.S("stage.failedTitle"), w)
}
