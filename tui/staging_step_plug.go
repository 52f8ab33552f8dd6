package tui

import (
	"context"
	"errors"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/fido"
)

// stagePlugStep waits for the key of the person named: one key, then its
// facts are read (factsRead says what follows).
type stagePlugStep struct{}

func (stagePlugStep) keys(m *StagingModel) []key.Binding { return []key.Binding{m.keySkip()} }

func (stagePlugStep) update(m *StagingModel, k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keySkip()) {
		return m.askSkip()
	}
	return nil
}

func (stagePlugStep) view(m *StagingModel, w int) string {
	st, t := m.st, m.t
	out := m.who(w) + "\n"
	if m.busy == "" {
		if !errors.Is(m.problem, fido.ErrKeyRemoved) { // the problem says to plug it back
			out += para(st.body, t.S("stage.plug"), w) + "\n"
		}
		out += st.hint.Render(t.S("key.waiting"))
	}
	return out
}

func (m *StagingModel) factsRead(msg sFactsMsg) tea.Cmd {
	m.busy = ""
	if msg.err != nil {
		m.problem = msg.err
		m.step = sFailed
		return nil
	}
	m.info = msg.info
	switch {
	case msg.info.PINSet && m.pin != "":
		// Most likely this person's key, back after it was pulled: their
		// PIN is on it already. VerifyPIN tells (and costs one try if not).
		m.busy = m.t.S("stage.checkingPIN")
		path, pin := m.key.Path, m.pin
		return call(callTimeout, func(ctx context.Context) tea.Msg { return sVerifiedMsg{fido.VerifyPIN(ctx, path, pin)} })
	case msg.info.PINSet:
		return m.notEmpty(nil)
	}
	return m.choosePIN()
}
