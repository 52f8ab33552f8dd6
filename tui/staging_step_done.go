package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// stageDoneStep: no pending person is left; Enter closes.
type stageDoneStep struct{}

func (stageDoneStep) keys(m *StagingModel) []key.Binding {
	return []key.Binding{m.bind("stage.help.finish", "enter", "enter")}
}

func (stageDoneStep) update(m *StagingModel, k tea.KeyPressMsg) tea.Cmd {
	if k.String() == "enter" {
		return m.do(m.s.Stop())
	}
	return nil
}

func (stageDoneStep) view(m *StagingModel, w int) string { return m.doneView(w) }

func (m *StagingModel) doneView(w int) string {
	st, t, b := m.st, m.t, m.s.Batch
	lines := []string{para(st.title, t.S("stage.doneTitle", Clean(b.Name, 60)), w), t.S("stage.batchCounts", b.PendingCount, b.RegisteredCount, b.FailedCount)}
	if b.PendingCount > 0 {
		lines = append(lines, para(st.hint, t.S("stage.busyElsewhere"), w))
	}
	for _, p := range m.s.Manifest {
		lines = append(lines, para(st.body, t.S("stage.manifest", Clean(p, 400)), w)) // wrapped, never cut: it is where to look
	}
	if len(m.s.Manifest) == 0 && m.cfg.Manifest == "" {
		lines = append(lines, para(st.hint, t.S("stage.exportHint", Clean(b.Name, 60)), w))
	}
	if b.FailedCount > 0 {
		lines = append(lines, "", para(st.body, t.S("stage.failedHint"), w))
	}
	return strings.Join(lines, "\n")
}
