// Package server is tapd's HTTP layer: routing, decoding, authentication
// and error rendering over the use cases in package recovery. Handlers get
// their dependencies from Server's fields; per-request facts (request id,
// who is calling) travel in an explicit *call, not in context values. One
// file per resource.
package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/recovery"
)

// Config holds the HTTP layer's dependencies and limits.
type Config struct {
	Service *recovery.Service
	Logger  *slog.Logger
	// MaxBodyBytes limits JSON request bodies; CSV imports get MaxCSVBytes.
	MaxBodyBytes int64
	MaxCSVBytes  int64
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client; without them the client is the connection's peer.
	TrustedProxies []netip.Prefix
	// MaxHeaderBytes limits a request's header (request line included); a
	// larger one answers 431 headersTooLarge. See HTTPMaxHeaderBytes.
	MaxHeaderBytes int
	// ConsoleURL is the helpdesk console's address (https://HOST[:PORT]),
	// for the links of staff invitations; "" when tapd serves no console.
	ConsoleURL string
}

// Default body limits.
const (
	DefaultMaxBodyBytes = 64 << 10
	DefaultMaxCSVBytes  = 4 << 20
	// DefaultMaxHeaderBytes is the default header limit.
	DefaultMaxHeaderBytes = 32 << 10
)

// Server serves the API.
type Server struct {
	svc *recovery.Service
	cfg Config
	log *slog.Logger
}

// New checks the config, fills defaults and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil {
		return nil, errors.New("server: no service")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxCSVBytes <= 0 {
		cfg.MaxCSVBytes = DefaultMaxCSVBytes
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return &Server{svc: cfg.Service, cfg: cfg, log: cfg.Logger}, nil
}

// call is one request in flight: the writer, the request, and the caller
// as the use cases see it (filled in by authentication).
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	who    *recovery.Caller
	status int
}

type handler func(c *call) error

// Handler returns the routed HTTP handler with all middleware. Routes for
// a capability the directory lacks (managing people or policies in tapd)
// answer with managedInEntra instead, so every route exists in every mode
// and the answer says where to go.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern string, auth authKind, perm recovery.Permission, h handler) {
		mux.Handle(pattern, s.wrap(auth, perm, h))
	}
	dir := s.svc.Directory()
	_, userAdmin := dir.(directory.UserAdmin)
	_, policyAdmin := dir.(directory.PolicyAdmin)
	only := func(has bool, h handler) handler {
		if has {
			return h
		}
		return s.managedElsewhere
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	})
	route("GET /readyz", authNone, "", s.ready)

	route("GET /v1/policies/temporaryAccessPass", authAdmin, recovery.PermPolicyRead, s.getPolicy)
	route("PATCH /v1/policies/temporaryAccessPass", authAdmin, recovery.PermPolicyWrite, only(policyAdmin, s.patchPolicy))
	route("GET /v1/policies/fido2", authAdmin, recovery.PermPolicyRead, s.getFIDO2Policy)
	route("PATCH /v1/policies/fido2", authAdmin, recovery.PermPolicyWrite, only(policyAdmin, s.patchFIDO2Policy))

	route("POST /v1/users", authAdmin, recovery.PermUsersWrite, only(userAdmin, s.createUser))
	route("GET /v1/users", authAdmin, recovery.PermRead, only(userAdmin, s.listUsers))
	route("POST /v1/users/import", authAdmin, recovery.PermUsersWrite, only(userAdmin, s.importUsers))
	route("GET /v1/users/{upn}", authAdmin, recovery.PermRead, s.getUser)
	route("DELETE /v1/users/{upn}", authAdmin, recovery.PermUsersWrite, only(userAdmin, s.deleteUser))
	route("DELETE /v1/users/{upn}/lockout", authAdmin, recovery.PermPassesWrite, s.unlockUser)

	route("POST /v1/users/{upn}/temporaryAccessPassMethods", authAdmin, recovery.PermPassesWrite, s.createPass)
	route("GET /v1/users/{upn}/temporaryAccessPassMethods", authAdmin, recovery.PermRead, s.listPasses)
	route("DELETE /v1/users/{upn}/temporaryAccessPassMethods/{id}", authAdmin, recovery.PermPassesWrite, s.deletePass)
	route("GET /v1/users/{upn}/methods", authAdmin, recovery.PermRead, s.listUserMethods)
	route("DELETE /v1/users/{upn}/methods/{id}", authAdmin, recovery.PermPassesWrite, s.deleteUserMethod)
	route("POST /v1/users/{upn}/fido2Methods/creationOptions", authAdmin, recovery.PermStaging, s.userCreationOptions)
	route("POST /v1/users/{upn}/fido2Methods", authAdmin, recovery.PermStaging, s.registerUserFIDO2)

	route("POST /v1/stagingBatches", authAdmin, recovery.PermStaging, s.createStagingBatch)
	route("POST /v1/stagingBatches/import", authAdmin, recovery.PermStaging, s.importStagingBatch)
	route("GET /v1/stagingBatches", authAdmin, recovery.PermRead, s.listStagingBatches)
	route("GET /v1/stagingBatches/{id}", authAdmin, recovery.PermRead, s.getStagingBatch)
	route("DELETE /v1/stagingBatches/{id}", authAdmin, recovery.PermStaging, s.deleteStagingBatch)
	route("GET /v1/stagingBatches/{id}/rows/{rowId}", authAdmin, recovery.PermRead, s.getStagingRow)
	route("PATCH /v1/stagingBatches/{id}/rows/{rowId}", authAdmin, recovery.PermStaging, s.updateStagingRow)
	route("DELETE /v1/stagingBatches/{id}/rows/{rowId}", authAdmin, recovery.PermStaging, s.removeStagingRow)
	route("POST /v1/stagingBatches/{id}/rows/{rowId}/reissue", authAdmin, recovery.PermStaging, s.reissueStagingRow)
	route("GET /v1/stagingBatches/{id}/manifest", authAdmin, recovery.PermRead, s.stagingManifest)

	route("POST /v1/kiosks", authAdmin, recovery.PermKiosks, s.createKiosk)
	route("GET /v1/kiosks", authAdmin, recovery.PermRead, s.listKiosks)
	route("DELETE /v1/kiosks/{name}", authAdmin, recovery.PermKiosks, s.revokeKiosk)

	route("POST /v1/adminTokens", authAdmin, recovery.PermTokens, s.createToken)
	route("GET /v1/adminTokens", authAdmin, recovery.PermRead, s.listTokens)
	route("DELETE /v1/adminTokens/{name}", authAdmin, recovery.PermTokens, s.revokeToken)
	route("POST /v1/staff", authAdmin, recovery.PermTokens, s.inviteStaff)

	route("GET /v1/auditLogs", authAdmin, recovery.PermRead, s.listAudit)

	route("POST /v1/sessions", authKiosk, "", s.openSession)
	route("GET /v1/session", authSession, "", s.getSession)
	route("DELETE /v1/session", authSession, "", s.signOut)
	route("DELETE /v1/session/temporaryAccessPass", authSession, "", s.deleteSessionPass)
	route("POST /v1/session/fido2Methods/creationOptions", authSession, "", s.creationOptions)
	route("POST /v1/session/fido2Methods", authSession, "", s.registerFIDO2)
	route("GET /v1/session/methods", authSession, "", s.listSessionMethods)
	route("DELETE /v1/session/methods/{id}", authSession, "", s.deleteSessionMethod)
	route("POST /v1/session/fido2Methods/{id}/assertionOptions", authSession, "", s.assertionOptions)
	route("POST /v1/session/fido2Methods/{id}/assertion", authSession, "", s.checkKey)

	return s.limitHeaders(s.unrouted(mux))
}

// managedElsewhere answers a route whose capability the directory lacks.
func (s *Server) managedElsewhere(c *call) error { return recovery.ErrManagedElsewhere }

var clientRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// wrap turns a handler into an http.Handler: request id, panic recovery,
// authentication, permission check, error rendering and one log line.
func (s *Server) wrap(auth authKind, perm recovery.Permission, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(api.ClientRequestIDHeader)
		if !clientRequestID.MatchString(id) {
			id = randomHex(8)
		}
		w.Header().Set(api.RequestIDHeader, id)
		w.Header().Set("Cache-Control", "no-store")
		c := &call{w: w, r: r, who: &recovery.Caller{RequestID: id, Path: r.URL.Path, ClientAddr: s.clientAddr(r), Log: s.log.With("request_id", id)}}
		defer func() {
			if p := recover(); p != nil {
				c.who.Log.Error("panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				s.writeError(c, api.E(api.CodeInternal, "tapd hit an internal error; the request id is %s.", id))
			}
			typ, name := c.who.Actor()
			c.who.Log.Log(r.Context(), requestLogLevel(r, c.status), "request", "method", r.Method, "path", r.URL.Path, "status", c.status,
				"actor_type", typ, "actor", name, "duration_ms", time.Since(start).Milliseconds())
		}()
		err := s.authenticate(c, auth)
		if err == nil && perm != "" {
			err = s.svc.Authorize(r.Context(), c.who, perm)
		}
		if err == nil {
			err = h(c)
		}
		if err != nil {
			s.writeError(c, err)
		}
	})
}

// requestLogLevel is the level of a request's log line: INFO, except a
// kiosk's successful poll (GET /v1/session answered 200), which is DEBUG.
// Every kiosk polls every 5 s, so at INFO (tapd's default) a fleet of
// 10,000 wrote 2,000 alike lines a second, 170 million a day, each
// formatted and written by tapd and then taken in by journald; the
// profile of `make load` at warn never showed that cost.
// A poll that fails (revoked kiosk, ended session, an error) still logs at
// INFO, and --log-level debug shows them all.
func requestLogLevel(r *http.Request, status int) slog.Level {
	if status == http.StatusOK && r.Method == http.MethodGet && r.URL.Path == "/v1/session" {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// writeJSON sends v with the status.
func (c *call) writeJSON(status int, v any) error {
	c.status = status
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(status)
	enc := json.NewEncoder(c.w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// reply sends v with the status, or the error.
func reply[T any](c *call, status int, v T, err error) error {
	if err != nil {
		return err
	}
	return c.writeJSON(status, v)
}

// list sends a list in Graph's {"value": [...]} envelope, or the error.
func list[T any](c *call, v []T, err error) error {
	if v == nil {
		v = []T{}
	}
	return reply(c, http.StatusOK, api.List[T]{Value: v}, err)
}

// done sends 204, or the error.
func (c *call) done(err error) error {
	if err != nil {
		return err
	}
	c.status = http.StatusNoContent
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) ready(c *call) error {
	if err := s.svc.Ping(c.r.Context()); err != nil {
		c.who.Log.Warn("not ready", "err", err)
		return api.E(api.CodeUnavailable, "The database does not answer.")
	}
	return c.writeJSON(http.StatusOK, map[string]string{"status": "ready"})
}

// clientAddr is the client's address for the per-address lockout: the
// connection's peer, or, when the peer is a trusted proxy, the nearest
// address in X-Forwarded-For that is not one. An IPv6 client counts as its
// /64, which one person usually has whole.
func (s *Server) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	if s.trusted(a) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a malformed hop: trust nothing further out
			}
			a = h.Unmap()
			if !s.trusted(a) {
				break
			}
		}
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
