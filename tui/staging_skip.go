package tui

// Skipping a person (Ctrl+S; staging.Station.AskSkip has the rules): the
// reason the row gets, in the operator's words.

// skipWhy is the reason a skipped row gets: the last problem, or
// "skipped".
func (m *StagingModel) skipWhy() string {
	if m.s.Problem != nil {
		return m.explain(m.s.Problem)
	}
	return m.t.S("stage.skipped")
}
