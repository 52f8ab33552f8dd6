package recovery

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/store"
)

// noticeOf is the notification an audit entry calls for, or "": the
// events a security team watches for and a person should hear of (a key
// bound to their account, a method removed, their pass used, a lock).
func noticeOf(e store.AuditEntry) string {
	switch {
	case e.Result == store.AuditSuccess && e.Action == api.ActionRegisterFIDO2:
		return api.NotifyKeyRegistered
	case e.Result == store.AuditSuccess && e.Action == api.ActionDeleteMethod:
		return api.NotifyMethodRemoved
	case e.Result == store.AuditSuccess && e.Action == api.ActionSignIn:
		return api.NotifyPassUsed
	case e.Action == api.ActionSessionDenied && e.Details[lockStarted] != "":
		return api.NotifyLockout
	}
	return ""
}

// notifies says whether the entry is to be told of.
func (s *Service) notifies(e store.AuditEntry) bool { return s.cfg.Notify && noticeOf(e) != "" }

// enqueue queues the entry's notification, if it calls for one, with st:
// the transaction of the action when there is one.
func (s *Service) enqueue(ctx context.Context, st store.Outbox, e store.AuditEntry) error {
	if !s.notifies(e) {
		return nil
	}
	n := api.Notification{ID: uuid.NewString(), Type: noticeOf(e), OccurredDateTime: ms(e.At), UserPrincipalName: e.Target,
		Actor: api.Actor{Type: e.ActorType, Name: e.Actor}, RequestID: e.RequestID, Details: e.Details}
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return st.EnqueueEvent(ctx, store.OutboxEvent{ID: n.ID, Kind: n.Type, Payload: body, CreatedAt: ms(e.At)})
}
