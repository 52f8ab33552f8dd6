package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// stageResetPlugStep: unplug the key and plug it back in, for the wipe (a key
// allows a reset only in its first seconds). The key watch resets it as
// it comes back (staging.Station.KeysSeen), which is stageResetTouchStep.
type stageResetPlugStep struct{}

func (stageResetPlugStep) keys(m *StagingModel) []key.Binding { return []key.Binding{m.keyCancel()} }

func (stageResetPlugStep) update(m *StagingModel, k tea.KeyPressMsg) tea.Cmd { return m.cancelWipe(k) }

func (stageResetPlugStep) view(m *StagingModel, w int) string {
	st, t := m.st, m.t
	return m.who(w) + "\n" + para(st.title, t.S("stage.replugTitle"), w) + "\n" + para(st.body, t.S("stage.replugBody"), w)
}

// stageResetTouchStep: touch the key to confirm its wipe.
type stageResetTouchStep struct{}

func (stageResetTouchStep) keys(m *StagingModel) []key.Binding { return []key.Binding{m.keyCancel()} }

func (stageResetTouchStep) update(m *StagingModel, k tea.KeyPressMsg) tea.Cmd {
	return m.cancelWipe(k)
}

func (stageResetTouchStep) view(m *StagingModel, w int) string {
	t := m.t
	return m.who(w) + "\n" + m.touchBox(w, t.S("stage.resetTouch"), t.S("stage.resetTouchBody"))
}

// cancelWipe is Esc during the wipe: back to the question.
func (m *StagingModel) cancelWipe(k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keyCancel()) {
		return m.do(m.s.CancelWipe())
	}
	return nil
}
