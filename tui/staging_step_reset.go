package tui

import (
	"errors"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/fido"
)

// stageResetPlugStep: unplug the key and plug it back in, for the wipe (a key
// allows a reset only in its first seconds). The key watch resets it as
// it comes back (keysSeen), which is stageResetTouchStep.
type stageResetPlugStep struct{}

func (stageResetPlugStep) keys(m *StagingModel) []key.Binding { return []key.Binding{m.keyCancel()} }

func (stageResetPlugStep) update(m *StagingModel, k tea.KeyPressMsg) tea.Cmd { return m.cancelReset(k) }

func (stageResetPlugStep) view(m *StagingModel, w int) string {
	st, t := m.st, m.t
	return m.who(w) + "\n" + para(st.title, t.S("stage.replugTitle"), w) + "\n" + para(st.body, t.S("stage.replugBody"), w)
}

// stageResetTouchStep: touch the key to confirm its wipe.
type stageResetTouchStep struct{}

func (stageResetTouchStep) keys(m *StagingModel) []key.Binding { return []key.Binding{m.keyCancel()} }

func (stageResetTouchStep) update(m *StagingModel, k tea.KeyPressMsg) tea.Cmd {
	return m.cancelReset(k)
}

func (stageResetTouchStep) view(m *StagingModel, w int) string {
	t := m.t
	return m.who(w) + "\n" + m.touchBox(w, t.S("stage.resetTouch"), t.S("stage.resetTouchBody"))
}

// cancelReset is Esc during the wipe: back to the question.
func (m *StagingModel) cancelReset(k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keyCancel()) {
		m.skipWipe = false // the skip waits for the operator again
		if m.cancel != nil {
			m.cancel() // Reset answers ErrCancelled: back to the question
			return nil
		}
		return m.notEmpty(nil)
	}
	return nil
}

func (m *StagingModel) resetDone(err error) tea.Cmd {
	switch {
	case err == nil && m.skipWipe:
		// The skipped person's key is empty again: now the row is marked
		// and the letter deleted.
		m.skipWipe, m.pinOnKey, m.step = false, false, sFailed // if marking fails, Ctrl+S asks again
		return m.markSkipped(m.skipReason)
	case err == nil:
		m.busy = m.t.S("key.reading")
		path := m.key.Path
		m.step = sPlug
		return func() tea.Msg { info, err := fido.GetInfo(path); return sFactsMsg{info, err} }
	case errors.Is(err, fido.ErrResetNotAllowed), errors.Is(err, fido.ErrKeyRemoved):
		m.step, m.problem, m.keyGone = sResetPlug, err, false
		return m.pollKeys(false)
	}
	// Refused on the key, no touch, cancelled: ask again.
	return m.notEmpty(err)
}
