package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/store"
)

// writeError renders err. An *api.Error goes out as it is; storage
// trouble becomes 507 or 503, anything else a generic 500. Causes go to
// the log, never to the client.
func (s *Server) writeError(c *call, err error) {
	if clientGone(c, err) {
		// Not tapd's error: the client closed the connection (or reset
		// the stream) and the work for it was cancelled. Nobody reads an
		// answer; the request's log line says 499, as proxies do.
		c.status = statusClientClosed
		c.who.Log.Debug("request cancelled by the client", "err", err.Error())
		return
	}
	var ae *api.Error
	cause := err
	switch {
	case errors.As(err, &ae):
		cause = errors.Unwrap(ae)
	case errors.Is(err, store.ErrFull):
		ae = api.E(api.CodeStorageFull, "tapd's database is full; nothing was changed. Ask IT to free space and try again.")
	case errors.Is(err, store.ErrSchema):
		ae = api.E(api.CodeUnavailable, "tapd's database is not initialised; run `tapd init`.")
	default:
		ae = api.E(api.CodeInternal, "tapd hit an internal error; the request id is %s.", c.who.RequestID)
	}
	switch {
	case ae.Status >= 500:
		if cause == nil {
			cause = ae
		}
		c.who.Log.Error("request failed", "code", ae.Code, "err", cause.Error())
	case cause != nil:
		c.who.Log.Info("request refused", "code", ae.Code, "cause", cause.Error())
	}
	out := *ae
	out.RequestID = c.who.RequestID
	if out.RetryAfterSeconds > 0 {
		c.w.Header().Set("Retry-After", fmt.Sprint(out.RetryAfterSeconds))
	}
	c.writeJSON(ae.Status, api.ErrorBody{Error: &out})
}

// statusClientClosed is the status logged for a request its client gave
// up on (nginx's 499; never sent, since nobody is there to read it).
const statusClientClosed = 499

// clientGone says whether err is the request's own cancellation: its
// context ended because the client went away, and the work stopped.
func clientGone(c *call, err error) bool {
	return errors.Is(err, context.Canceled) && c.r.Context().Err() != nil
}
