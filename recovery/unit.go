package recovery

import (
	"context"

	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/store"
)

// unit is one action with its audit entry (and its notification, if it
// calls for one). When everything the action writes is in tapd's store,
// the unit is one transaction (tx), so a crash leaves the action, its
// entry and its notification, or none of them. When the directory writes
// elsewhere (Microsoft Graph), no transaction can span both: the entry
// follows the write, and a write whose outcome never came back is audited
// "unknown".
type unit struct {
	st  store.Store
	dir directory.Directory
	tx  bool
	// kept collects a transaction's audit entries, told to the observer
	// once it commits (never for a rollback).
	kept *[]store.AuditEntry
}

// inStore runs fn as one transaction of the store alone.
func (s *Service) inStore(ctx context.Context, fn func(u unit) error) error {
	var kept []store.AuditEntry
	err := s.st.Atomically(ctx, func(tx store.Store) error {
		kept = kept[:0]
		return fn(unit{st: tx, dir: s.dir, tx: true, kept: &kept})
	})
	s.committed(err, kept)
	return err
}

// inDirectory runs fn with the directory: as one transaction when the
// directory keeps everything in the store (directory.Transactional).
func (s *Service) inDirectory(ctx context.Context, fn func(u unit) error) error {
	td, ok := s.dir.(directory.Transactional)
	if !ok {
		return fn(unit{st: s.st, dir: s.dir})
	}
	var kept []store.AuditEntry
	err := s.st.Atomically(ctx, func(tx store.Store) error {
		kept = kept[:0]
		return fn(unit{st: tx, dir: td.WithStore(tx), tx: true, kept: &kept})
	})
	s.committed(err, kept)
	return err
}

// committed tells the observer of a transaction's entries once it has
// committed.
func (s *Service) committed(err error, kept []store.AuditEntry) {
	if err != nil {
		return
	}
	for _, e := range kept {
		s.obs.Audited(e)
	}
}

// done audits the unit's success, and queues its notification. In a
// transaction a failed entry undoes the action (the caller gets the
// error); outside one the action has happened already, so the failure is
// only logged, loudly.
func (s *Service) done(ctx context.Context, c *Caller, u unit, action, target string, details map[string]string) error {
	en := s.entry(c, Event{Action: action, Target: target, Result: store.AuditSuccess, Details: details})
	err := u.st.AppendAudit(ctx, en)
	if err == nil {
		err = s.enqueue(ctx, u.st, en)
	}
	switch {
	case err != nil && !u.tx:
		c.Log.Error("audit or notification write failed after the action", "action", action, "target", target, "err", err)
		return nil
	case err != nil:
		return err
	case u.kept != nil:
		*u.kept = append(*u.kept, en)
	default:
		s.obs.Audited(en)
	}
	return nil
}
