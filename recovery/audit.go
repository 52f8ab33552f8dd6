package recovery

import (
	"context"
	"errors"
	"maps"

	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/store"
)

// Event is one audited action: what, on whom, how it ended and why.
type Event struct {
	Action  string
	Target  string
	Result  store.AuditResult
	Reason  string
	Details map[string]string
	// Group makes repeats one row with a count (see store.AuditEntry).
	Group string
}

// entry is the audit entry of the caller's event, now.
func (s *Service) entry(c *Caller, e Event) store.AuditEntry {
	typ, name := c.Actor()
	return store.AuditEntry{At: s.now(), RequestID: c.RequestID, ActorType: typ, Actor: name, Action: e.Action,
		Target: e.Target, Result: e.Result, Reason: e.Reason, Details: e.Details, Group: e.Group}
}

// record appends the audit entry of a refusal or failure, which changed
// nothing else. A failed audit write is logged loudly. (Successes are
// audited by done, inside their unit.)
func (s *Service) record(ctx context.Context, c *Caller, e Event) {
	en := s.entry(c, e)
	var err error
	if s.notifies(en) {
		// A refusal that starts a lock is told of: entry and notification
		// together, or neither.
		err = s.st.Atomically(ctx, func(tx store.Store) error {
			en, err = s.recordWith(ctx, tx, c, e)
			return err
		})
	} else {
		err = s.st.AppendAudit(ctx, en)
	}
	if err != nil {
		c.Log.Error("audit write failed", "action", e.Action, "target", e.Target, "result", e.Result, "reason", e.Reason, "err", err)
		return
	}
	s.obs.Audited(en)
}

// recordWith appends the event's entry, and queues its notification, with
// st: the transaction of whatever else the event changed (a sign-in's
// counters). The caller tells the observer once it has committed.
func (s *Service) recordWith(ctx context.Context, st store.Store, c *Caller, e Event) (store.AuditEntry, error) {
	en := s.entry(c, e)
	if err := st.AppendAudit(ctx, en); err != nil {
		return en, err
	}
	return en, s.enqueue(ctx, st, en)
}

// refuse audits a refusal and returns its error.
func (s *Service) refuse(ctx context.Context, c *Caller, action, target, reason string, err error, details map[string]string) error {
	s.record(ctx, c, Event{Action: action, Target: target, Result: store.AuditFailure, Reason: reason, Details: details})
	return err
}

// refuseCounted audits a refusal that repeats (a locked-out answer): all
// the refusals of one group are one row with a count.
func (s *Service) refuseCounted(ctx context.Context, c *Caller, action, target, reason, group string, err error, details map[string]string) error {
	s.record(ctx, c, Event{Action: action, Target: target, Result: store.AuditFailure, Reason: reason, Details: details, Group: group})
	return err
}

// failed audits a directory write that did not complete, as the directory
// says it ended (failure or unknown), and returns its error. Other errors
// pass through unaudited: they are tapd's own trouble, logged by the
// server.
func (s *Service) failed(ctx context.Context, c *Caller, action, target string, err error, details map[string]string) error {
	var f *directory.Failed
	if !errors.As(err, &f) {
		return err
	}
	d := merge(details, f.Trace)
	s.record(ctx, c, Event{Action: action, Target: target, Result: f.Result, Reason: f.Reason, Details: d})
	return f.Err
}

// merge adds a directory's trace to audit details.
func merge(details map[string]string, t directory.Trace) map[string]string {
	if len(t) == 0 {
		return details
	}
	if details == nil {
		details = map[string]string{}
	}
	maps.Copy(details, t)
	return details
}
