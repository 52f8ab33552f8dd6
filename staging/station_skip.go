package staging

// Skipping a person: asked from the steps that offer it, it marks the row
// failed with a reason, wiping first a key that holds their PIN.

// AskSkip asks before a person is marked not staged: one key would
// otherwise take them out of the batch.
func (s *Station) AskSkip() {
	if s.Row.ID != "" {
		s.SkipAsked = true
	}
}

// AnswerSkip answers AskSkip's question; reason is what the row gets (the
// front end words the problem the operator saw, or says "skipped").
func (s *Station) AnswerSkip(yes bool, reason string) Effect {
	s.SkipAsked = false
	if !yes || s.Row.ID == "" {
		return DoNothing
	}
	if s.PINOnKey {
		// The operator was told: the key is wiped first (replugged and
		// touched, as any wipe), and only then the row marked.
		s.SkipWipe, s.SkipReason = true, reason
		s.Step, s.Problem, s.keyGone = StepResetPlug, nil, false
		return DoWatchKeys
	}
	return s.markSkipped(reason)
}

// markSkipped marks the row failed with reason and deletes its letter.
func (s *Station) markSkipped(reason string) Effect {
	s.SkipReason, s.Busy = reason, BusySkipping
	return DoMarkSkipped
}

// Marked reports the skipped row's marking: done, the next person; not,
// the problem is shown and the skip may be asked again.
func (s *Station) Marked(err error) Effect {
	s.Busy = NotBusy
	if err != nil {
		s.Problem = err
		return DoNothing
	}
	s.endRow()
	return s.Reload()
}
