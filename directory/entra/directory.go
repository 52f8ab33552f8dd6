package entra

// The Entra directory. Microsoft Entra ID, through Microsoft Graph, holds
// the people, both method policies, the passes and the methods, and is the
// relying party for new keys. tapd's store keeps only what the kiosk needs
// and Graph cannot give: each pass's Argon2id hash (Graph shows a pass
// value once, to its creator), and a record of each key the kiosk
// registered, so the key check still works. A local user row mirrors each
// person who got a pass from tapd, because passes and sessions refer to
// users.

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// Directory is the Entra directory.
type Directory struct {
	g      *graph.Client
	cloud  Cloud
	st     store.Store
	argon2 tap.Argon2Params
	now    func() time.Time
	log    *slog.Logger
}

// Config holds the Entra directory's dependencies.
type Config struct {
	Graph  *graph.Client
	Store  store.Store
	Argon2 tap.Argon2Params
	Now    func() time.Time
	Logger *slog.Logger
	// Cloud is the Microsoft cloud of the Graph URL (CloudOf); the zero
	// value is taken for the global cloud.
	Cloud Cloud
}

// New returns the Entra directory over a Graph client.
func New(c Config) *Directory {
	if c.Cloud.Name == "" {
		c.Cloud = Cloud{Name: "global", Registration: true}
	}
	return &Directory{g: c.Graph, cloud: c.Cloud, st: c.Store, argon2: c.Argon2, now: c.Now, log: c.Logger}
}

var (
	_ directory.Directory     = (*Directory)(nil)
	_ directory.ForeignPasses = (*Directory)(nil)
)

// ManagedBy is "entra": people and policies are managed in the tenant.
func (d *Directory) ManagedBy() string { return "entra" }

// failure turns a failed Graph call into a client-safe error. op says
// what tapd was doing, in words that finish "tapd could not ...". The
// cause, with Graph's request id, goes to the log.
func failure(op string, res graph.Result, err error) error {
	var ge *graph.Error
	isGraph := errors.As(err, &ge)
	var out *api.Error
	var te *graph.ThrottledError
	switch {
	case errors.As(err, &te):
		secs := int(te.RetryAfter / time.Second)
		out = api.E(api.CodeDirectoryUnavailable,
			"Microsoft Entra ID is busy and asked tapd to wait %d seconds, so tapd could not %s. Try again in %d seconds.", secs, op, secs).RetryAfter(secs)
	case errors.Is(err, graph.ErrUnavailable) || isGraph && ge.Status == http.StatusTooManyRequests:
		out = api.E(api.CodeDirectoryUnavailable,
			"The directory (Microsoft Entra ID) is unavailable, so tapd could not %s. Try again in a few minutes.", op).RetryAfter(30)
	case isGraph && (ge.Status == http.StatusUnauthorized || ge.Status == http.StatusForbidden):
		out = api.E(api.CodeDirectoryError,
			"Microsoft Entra ID did not let tapd %s (HTTP %d); IT should check tapd's application permissions. Graph request id %s.", op, ge.Status, ge.RequestID)
	case isGraph:
		out = api.E(api.CodeDirectoryError, "Microsoft Entra ID refused to %s (HTTP %d). Graph request id %s.", op, ge.Status, ge.RequestID)
	default:
		out = api.E(api.CodeDirectoryError, "tapd could not %s in Microsoft Entra ID.", op)
	}
	return out.Because(fmt.Errorf("graph (request-id %q, client-request-id %q, %d attempts): %w", res.RequestID, res.ClientRequestID, res.Attempts, err))
}

func status(err error) int {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return ge.Status
	}
	return 0
}

func graphMessage(err error) string {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return ge.Message
	}
	return ""
}

// trace records a Graph call's ids for the audit trail: Graph's
// request-id and the client-request-id tapd sent, either of which
// Microsoft support can trace.
func trace(t directory.Trace, res graph.Result) directory.Trace {
	if t == nil {
		t = directory.Trace{}
	}
	if res.RequestID != "" {
		t["graphRequestId"] = res.RequestID
	}
	if res.ClientRequestID != "" {
		t["graphClientRequestId"] = res.ClientRequestID
	}
	return t
}

// writeFailed is a Graph write that failed, for the audit trail. A write
// Graph may have done before the line went quiet is "unknown", not
// "failure", so the trail never claims less than may have reached Entra.
func writeFailed(op string, res graph.Result, err error, t directory.Trace) *directory.Failed {
	f := &directory.Failed{Result: store.AuditFailure, Reason: "directoryRefused", Trace: trace(t, res), Err: failure(op, res, err)}
	if errors.Is(err, graph.ErrUnavailable) {
		f.Result, f.Reason = store.AuditUnknown, "directoryUnavailable"
	}
	return f
}
