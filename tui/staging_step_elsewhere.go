package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// stageElsewhereStep: this person is done, or being done, at another station
// or in an earlier run; the key watch goes on once this key is out, so
// that it is not taken for the next person's.
type stageElsewhereStep struct{}

func (stageElsewhereStep) keys(*StagingModel) []key.Binding { return nil }

func (stageElsewhereStep) update(*StagingModel, tea.KeyPressMsg) tea.Cmd { return nil }

func (stageElsewhereStep) view(m *StagingModel, w int) string {
	return m.who(w) + "\n" + para(m.st.title, m.t.S("stage.elsewhere"), w)
}
