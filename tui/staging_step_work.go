package tui

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/staging"
)

// stageWorkStep: the key is set up and registered, phase by phase; Esc
// cancels while it waits for a touch.
type stageWorkStep struct{}

func (stageWorkStep) keys(m *StagingModel) []key.Binding {
	if m.s.Touching() {
		return []key.Binding{m.keyCancel()}
	}
	return nil
}

func (stageWorkStep) update(m *StagingModel, k tea.KeyPressMsg) tea.Cmd {
	if m.s.Touching() && key.Matches(k, m.keyCancel()) && m.cancel != nil {
		m.cancel()
	}
	return nil
}

func (stageWorkStep) view(m *StagingModel, w int) string { return m.who(w) + "\n" + m.progress(w) }

// startStage runs the Stager in a Cmd; its phases come back one by one
// through a channel (sEventMsg), so the screen follows the key. Stage
// bounds its own steps (the touch, each call to tapd); the context here
// is for Esc and stopping. The channel holds every phase and the result,
// so Stage never waits on a screen that has stopped reading.
func (m *StagingModel) startStage(pinSet bool) tea.Cmd {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	row, k, pin := m.s.Row, m.s.Key, m.s.PIN()
	ch := make(chan tea.Msg, len(staging.Phases)+1)
	return func() tea.Msg {
		go func() {
			defer cancel()
			res, err := m.stager.Stage(ctx, row, k, pin, pinSet, func(p staging.Phase) { ch <- sPhaseMsg(p) })
			ch <- sResultMsg{res, err}
			close(ch)
		}()
		return waitOn(ch)()
	}
}

func waitOn(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return sEventMsg{msg, ch}
	}
}

func (m *StagingModel) stageEvent(ev sEventMsg) tea.Cmd {
	switch msg := ev.msg.(type) {
	case sPhaseMsg:
		m.s.PhaseReached(staging.Phase(msg))
		return waitOn(ev.ch)
	case sResultMsg:
		m.cancel = nil
		return m.do(m.s.Staged(msg.res, msg.err))
	}
	return nil
}

// progress lists the phases of the running key: done ones ticked, the
// current one marked, the touch in a box while the key waits for it.
func (m *StagingModel) progress(w int) string {
	st, t := m.st, m.t
	var lines []string
	for _, p := range staging.Phases {
		if p == staging.PhaseLetter && m.stager.Opts.PINs != staging.RandomPINs {
			continue
		}
		label := t.S("stage.phase." + p.String())
		switch {
		case p < m.s.Phase:
			lines = append(lines, st.ok.Render("✓ "+label))
		case p == m.s.Phase:
			lines = append(lines, st.selected.Render("› "+label))
		default:
			lines = append(lines, st.hint.Render("  "+label))
		}
	}
	out := strings.Join(lines, "\n")
	if m.s.Touching() {
		out += "\n\n" + m.touchBox(w, t.S("stage.touch"), t.S("stage.touchBody"))
	}
	return out
}
