package recovery

import (
	"context"

	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/store"
)

// unit is one action with its audit entry. When everything the action
// writes is in tapd's store, the unit is one transaction (tx), so a crash
// leaves both the action and its entry or neither. When the directory
// writes elsewhere (Microsoft Graph), no transaction can span both: the
// entry follows the write, and a write whose outcome never came back is
// audited "unknown".
type unit struct {
	st  store.Store
	dir directory.Directory
	tx  bool
}

// inStore runs fn as one transaction of the store alone.
func (s *Service) inStore(ctx context.Context, fn func(u unit) error) error {
	return s.st.Atomically(ctx, func(tx store.Store) error { return fn(unit{st: tx, dir: s.dir, tx: true}) })
}

// inDirectory runs fn with the directory: as one transaction when the
// directory keeps everything in the store (directory.Transactional).
func (s *Service) inDirectory(ctx context.Context, fn func(u unit) error) error {
	td, ok := s.dir.(directory.Transactional)
	if !ok {
		return fn(unit{st: s.st, dir: s.dir})
	}
	return s.st.Atomically(ctx, func(tx store.Store) error { return fn(unit{st: tx, dir: td.WithStore(tx), tx: true}) })
}

// done audits the unit's success. In a transaction a failed entry undoes
// the action (the caller gets the error); outside one the action has
// happened already, so the failure is only logged, loudly.
func (s *Service) done(ctx context.Context, c *Caller, u unit, action, target string, details map[string]string) error {
	typ, name := c.Actor()
	err := u.st.AppendAudit(ctx, store.AuditEntry{At: s.now(), RequestID: c.RequestID, ActorType: typ, Actor: name, Action: action,
		Target: target, Result: store.AuditSuccess, Details: details})
	if err != nil && !u.tx {
		c.Log.Error("audit write failed after the action", "action", action, "target", target, "err", err)
		return nil
	}
	return err
}
