package staging

// PendingDir is pendingDir, for the tests outside the package.
func (s *Stager) PendingDir() string { return s.pendingDir() }
