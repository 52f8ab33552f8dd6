package tui

import (
	"context"
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/staging"
)

// stageWorkStep: the key is set up and registered, phase by phase; Esc
// cancels while it waits for a touch.
type stageWorkStep struct{}

func (stageWorkStep) keys(m *StagingModel) []key.Binding {
	if m.touching() {
		return []key.Binding{m.keyCancel()}
	}
	return nil
}

func (stageWorkStep) update(m *StagingModel, k tea.KeyPressMsg) tea.Cmd {
	if m.touching() && key.Matches(k, m.keyCancel()) && m.cancel != nil {
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
	m.step, m.problem, m.phase = sWork, nil, staging.PhaseOptions
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	row, k, pin := m.row, m.key, m.pin
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
		m.phase = staging.Phase(msg)
		if m.phase > staging.PhasePIN {
			m.pinOnKey = true // the PIN phase is over: the key has it
		}
		return waitOn(ev.ch)
	case sResultMsg:
		m.cancel = nil
		return m.staged(msg)
	}
	return nil
}

func (m *StagingModel) staged(msg sResultMsg) tea.Cmd {
	var ae *api.Error
	switch {
	case msg.err == nil:
		m.result, m.stagedN, m.step = msg.res, m.stagedN+1, sStaged
		m.batch.RegisteredCount++ // tapd's count says so too; the header need not wait for it
		m.batch.PendingCount = max(m.batch.PendingCount-1, 0)
		m.pin = "" // on the key and in the letter; not needed any more
		return m.pollKeys(false)
	case errors.Is(msg.err, staging.ErrNotEmpty):
		return m.notEmpty(msg.err)
	case errors.Is(msg.err, fido.ErrKeyRemoved):
		// Pulled out: plugged back in, it goes on (its PIN is checked).
		m.step, m.problem = sPlug, msg.err
		return m.pollKeys(false)
	case errors.As(msg.err, &ae) && (ae.Code == api.CodeStagingRowRegistered || ae.Code == api.CodeStagingRowBusy):
		// Done or being done elsewhere (another station, an earlier
		// run): say so, and go on once this key is out, so that it is
		// not taken for the next person's.
		if ae.Code == api.CodeStagingRowBusy {
			m.skipped[m.row.ID] = true
		}
		m.step, m.problem = sElsewhere, msg.err
		return m.pollKeys(false)
	}
	m.step, m.problem = sFailed, msg.err
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
		case p < m.phase:
			lines = append(lines, st.ok.Render("✓ "+label))
		case p == m.phase:
			lines = append(lines, st.selected.Render("› "+label))
		default:
			lines = append(lines, st.hint.Render("  "+label))
		}
	}
	out := strings.Join(lines, "\n")
	if m.touching() {
		out += "\n\n" + m.touchBox(w, t.S("stage.touch"), t.S("stage.touchBody"))
	}
	return out
}
