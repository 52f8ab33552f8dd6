package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/staging"
)

// stageOverviewStep shows the batch and its settings; Enter starts on the
// first pending person.
type stageOverviewStep struct{}

func (stageOverviewStep) keys(m *StagingModel) []key.Binding { return []key.Binding{m.keyStart()} }

func (stageOverviewStep) update(m *StagingModel, k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keyStart()) {
		return m.do(m.s.Begin())
	}
	return nil
}

func (stageOverviewStep) view(m *StagingModel, w int) string { return m.overview(w) }

func (m *StagingModel) overview(w int) string {
	st, t, o, b := m.st, m.t, m.stager.Opts, m.s.Batch
	lines := []string{
		para(st.title, t.S("stage.batch", Clean(b.Name, 60)), w),
		t.S("stage.batchCounts", b.PendingCount, b.RegisteredCount, b.FailedCount),
		"",
	}
	if o.PINs == staging.RandomPINs {
		lines = append(lines, t.S("stage.optRandom", o.PINLength, t.S("stage.alphabet."+o.Alphabet)),
			para(st.body, t.S("stage.optLetters", Clean(o.Letters, 400), o.LetterFormat), w))
	} else {
		lines = append(lines, t.S("stage.optTyped"))
	}
	if o.MinPINLength > 0 {
		lines = append(lines, t.S("stage.optMinLength", o.MinPINLength))
	}
	if o.ForcePINChange {
		lines = append(lines, t.S("stage.optForce"))
	}
	lines = append(lines, "", para(st.body, t.S("stage.overviewGo"), w))
	if b.PendingCount == 0 {
		lines[len(lines)-1] = para(st.body, t.S("stage.nothingPending"), w)
	}
	return strings.Join(lines, "\n")
}
