package tui

import (
	"context"

	tea "charm.land/bubbletea/v2"
)

// Skipping a person: asked from most steps (Ctrl+S), it marks the row
// failed with a reason, wiping first a key that holds their PIN.

// askSkip asks before a person is marked not staged: one key would
// otherwise take them out of the batch.
func (m *StagingModel) askSkip() tea.Cmd {
	if m.row.ID != "" {
		m.skipAsk = true
	}
	return nil
}

// skipReason is the reason a skipped row gets: the last problem, or
// "skipped".
func (m *StagingModel) skipWhy() string {
	if m.problem != nil {
		return m.explain(m.problem)
	}
	return m.t.S("stage.skipped")
}

// skip marks the person failed (with skipWhy's reason) and goes on to
// the next. A key that holds their PIN is wiped first (the operator was
// told so when asked): replugged and touched, as any wipe.
func (m *StagingModel) skip() tea.Cmd {
	if m.row.ID == "" {
		return nil
	}
	if m.pinOnKey {
		m.skipWipe, m.skipReason = true, m.skipWhy()
		m.step, m.problem, m.keyGone = sResetPlug, nil, false
		return m.pollKeys(false)
	}
	return m.markSkipped(m.skipWhy())
}

// markSkipped marks the row failed with reason and deletes its letter.
func (m *StagingModel) markSkipped(reason string) tea.Cmd {
	row := m.row
	m.busy = m.t.S("stage.skipping")
	return call(callTimeout, func(ctx context.Context) tea.Msg { return sFailedMsg{m.stager.Fail(ctx, row, reason)} })
}
