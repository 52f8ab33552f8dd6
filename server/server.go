// Package server is tapd's HTTP API: admin routes for IT staff, session
// routes for kiosks, health checks. Handlers get their dependencies from
// Server's fields (store, logger, clock); per-request facts (request id, who
// is calling) travel in an explicit *call, not in context values.
package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// Config holds the service's dependencies and limits.
type Config struct {
	Store  store.Store
	Logger *slog.Logger
	Now    func() time.Time
	// SessionLimit caps a kiosk session, whatever the pass allows.
	SessionLimit time.Duration
	// Argon2 is the cost used for new pass hashes.
	Argon2 tap.Argon2Params
	// MaxBodyBytes limits JSON request bodies; CSV imports get MaxCSVBytes.
	MaxBodyBytes int64
	MaxCSVBytes  int64
	Lockout      Lockout
	// RPID is the WebAuthn relying party id (a domain); the client's origin
	// is https:// + RPID. RPName is shown by some keys and platforms.
	RPID   string
	RPName string
	// Trust holds the attestation roots; nil trusts nothing.
	Trust *Trust
	// CeremonyTimeout is how long a challenge waits for the key; 5 minutes
	// like Microsoft Graph's.
	CeremonyTimeout time.Duration
	// Graph, when set, puts tapd in Entra mode: users, policies, passes and
	// methods live in Microsoft Entra ID (see entra.go). Nil is the local
	// directory in Store.
	Graph *graph.Client
}

// Lockout sets the failure limits. After Threshold failures inside Window
// the key is locked for Base, doubling with each further failure up to Max.
type Lockout struct {
	UserThreshold  int
	KioskThreshold int
	Base           time.Duration
	Max            time.Duration
	UserWindow     time.Duration
	KioskWindow    time.Duration
}

// DefaultLockout: 10 wrong passes lock a user's pass sign-in for a minute,
// doubling; a kiosk that sees 50 failures within an hour is throttled the
// same way, which slows a person trying many accounts from one kiosk.
var DefaultLockout = Lockout{UserThreshold: 10, KioskThreshold: 50, Base: time.Minute, Max: 24 * time.Hour,
	UserWindow: 24 * time.Hour, KioskWindow: time.Hour}

// Server serves the API.
type Server struct {
	rp        *webauthn.WebAuthn
	graph     *graph.Client
	cfg       Config
	store     store.Store
	log       *slog.Logger
	now       func() time.Time
	dummyHash string
}

// New checks the config, fills defaults and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: no store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionLimit <= 0 {
		cfg.SessionLimit = 10 * time.Minute
	}
	if cfg.Argon2.Memory == 0 {
		cfg.Argon2 = tap.DefaultArgon2
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.MaxCSVBytes <= 0 {
		cfg.MaxCSVBytes = 4 << 20
	}
	if cfg.Lockout.UserThreshold == 0 {
		cfg.Lockout = DefaultLockout
	}
	if cfg.RPID == "" {
		cfg.RPID = "localhost"
	}
	if cfg.RPName == "" {
		cfg.RPName = "tapkiosk"
	}
	if cfg.CeremonyTimeout <= 0 {
		cfg.CeremonyTimeout = 5 * time.Minute
	}
	rp, err := newRelyingParty(cfg.RPID, cfg.RPName)
	if err != nil {
		return nil, fmt.Errorf("relying party: %w", err)
	}
	// A hash of a random value: sign-ins for unknown users verify against it
	// so that they take as long as a wrong pass for a known user.
	dummy, err := tap.HashPass(randomHex(16), cfg.Argon2)
	if err != nil {
		return nil, err
	}
	return &Server{rp: rp, graph: cfg.Graph, cfg: cfg, store: cfg.Store, log: cfg.Logger, now: cfg.Now, dummyHash: dummy}, nil
}

// call is one request in flight: the writer, the request, its id, and who
// is calling once authentication has run.
type call struct {
	w         http.ResponseWriter
	r         *http.Request
	requestID string
	log       *slog.Logger
	admin     *store.AdminToken
	kiosk     *store.Kiosk
	session   *store.Session
	status    int
}

// actor names the caller for audit entries.
func (c *call) actor() (typ, name string) {
	switch {
	case c.admin != nil:
		return "admin", c.admin.Name
	case c.kiosk != nil:
		return "kiosk", c.kiosk.Name
	}
	return "anonymous", ""
}

type handler func(c *call) error

// Handler returns the routed HTTP handler with all middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern string, auth authKind, perm permission, h handler) {
		mux.Handle(pattern, s.wrap(auth, perm, h))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	})
	route("GET /readyz", authNone, "", s.ready)

	route("GET /v1/policies/temporaryAccessPass", authAdmin, permPolicyRead, s.getPolicy)
	route("PATCH /v1/policies/temporaryAccessPass", authAdmin, permPolicyWrite, s.refuseInEntra(s.patchPolicy))

	route("POST /v1/users", authAdmin, permUsersWrite, s.refuseInEntra(s.createUser))
	route("GET /v1/users", authAdmin, permRead, s.refuseInEntra(s.listUsers))
	route("POST /v1/users/import", authAdmin, permUsersWrite, s.refuseInEntra(s.importUsers))
	route("GET /v1/users/{upn}", authAdmin, permRead, s.getUser)
	route("DELETE /v1/users/{upn}", authAdmin, permUsersWrite, s.refuseInEntra(s.deleteUser))

	route("POST /v1/users/{upn}/temporaryAccessPassMethods", authAdmin, permPassesWrite, s.createPass)
	route("GET /v1/users/{upn}/temporaryAccessPassMethods", authAdmin, permRead, s.listPasses)
	route("DELETE /v1/users/{upn}/temporaryAccessPassMethods/{id}", authAdmin, permPassesWrite, s.deletePass)

	route("POST /v1/kiosks", authAdmin, permKiosks, s.createKiosk)
	route("GET /v1/kiosks", authAdmin, permRead, s.listKiosks)
	route("DELETE /v1/kiosks/{name}", authAdmin, permKiosks, s.revokeKiosk)

	route("POST /v1/adminTokens", authAdmin, permTokens, s.createToken)
	route("GET /v1/adminTokens", authAdmin, permRead, s.listTokens)
	route("DELETE /v1/adminTokens/{name}", authAdmin, permTokens, s.revokeToken)

	route("GET /v1/auditLogs", authAdmin, permRead, s.listAudit)

	route("GET /v1/policies/fido2", authAdmin, permPolicyRead, s.getFIDO2Policy)
	route("PATCH /v1/policies/fido2", authAdmin, permPolicyWrite, s.refuseInEntra(s.patchFIDO2Policy))
	route("GET /v1/users/{upn}/methods", authAdmin, permRead, s.listUserMethods)
	route("DELETE /v1/users/{upn}/methods/{id}", authAdmin, permPassesWrite, s.deleteUserMethod)

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

	mux.Handle("/", s.wrap(authNone, "", func(c *call) error {
		return api.Errf(http.StatusNotFound, api.CodeNotFound, "There is no %s %s in this API; see api/openapi.yaml.", c.r.Method, c.r.URL.Path)
	}))
	return mux
}

var clientRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// wrap turns a handler into an http.Handler: request id, panic recovery,
// authentication, permission check, error rendering and one log line.
func (s *Server) wrap(auth authKind, perm permission, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(api.ClientRequestIDHeader)
		if !clientRequestID.MatchString(id) {
			id = randomHex(8)
		}
		w.Header().Set(api.RequestIDHeader, id)
		w.Header().Set("Cache-Control", "no-store")
		c := &call{w: w, r: r, requestID: id, log: s.log.With("request_id", id)}
		defer func() {
			if p := recover(); p != nil {
				c.log.Error("panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				s.writeError(c, api.Errf(http.StatusInternalServerError, api.CodeInternal, "tapd hit an internal error; the request id is %s.", id))
			}
			typ, name := c.actor()
			c.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", c.status,
				"actor_type", typ, "actor", name, "duration_ms", time.Since(start).Milliseconds())
		}()
		err := s.authenticate(c, auth)
		if err == nil && perm != "" {
			err = s.authorize(c, perm)
		}
		if err == nil {
			err = h(c)
		}
		if err != nil {
			s.writeError(c, err)
		}
	})
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

func (c *call) noContent() error {
	c.status = http.StatusNoContent
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// writeError renders err. Unknown errors become a generic 500 (or 503/507
// for storage trouble); their cause goes to the log, never to the client.
func (s *Server) writeError(c *call, err error) {
	var ae *api.Error
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, store.ErrFull):
		ae = api.Errf(http.StatusInsufficientStorage, api.CodeStorageFull, "tapd's database is full; nothing was changed. Ask IT to free space and try again.")
	case errors.Is(err, store.ErrSchema):
		ae = api.Errf(http.StatusServiceUnavailable, api.CodeUnavailable, "tapd's database is not initialised; run `tapd init`.")
	default:
		ae = api.Errf(http.StatusInternalServerError, api.CodeInternal, "tapd hit an internal error; the request id is %s.", c.requestID)
	}
	if ae.Status >= 500 {
		c.log.Error("request failed", "code", ae.Code, "err", err.Error())
	}
	out := *ae
	out.RequestID = c.requestID
	if out.RetryAfterSeconds > 0 {
		c.w.Header().Set("Retry-After", fmt.Sprint(out.RetryAfterSeconds))
	}
	c.writeJSON(ae.Status, api.ErrorBody{Error: &out})
}

// decode reads a JSON body strictly: one object, no unknown fields, within
// the size limit. Every failure names what was wrong.
func (s *Server) decode(c *call, v any) error {
	if ct := c.r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return api.Errf(http.StatusUnsupportedMediaType, api.CodeUnsupportedMediaType, "Send the body as application/json, not %q.", ct)
		}
	}
	body := http.MaxBytesReader(c.w, c.r.Body, s.cfg.MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, s.cfg.MaxBodyBytes)
	}
	if dec.More() {
		return api.Errf(http.StatusBadRequest, api.CodeBadRequest, "The body holds more than one JSON value; send exactly one object.")
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return jsonError(err, s.cfg.MaxBodyBytes)
		}
		return api.Errf(http.StatusBadRequest, api.CodeBadRequest, "The body has trailing data after the JSON object.")
	}
	return nil
}

func jsonError(err error, limit int64) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return api.Errf(http.StatusRequestEntityTooLarge, api.CodePayloadTooLarge, "The body is larger than the %d-byte limit.", limit)
	case errors.Is(err, io.EOF):
		return api.Errf(http.StatusBadRequest, api.CodeBadRequest, "The body is empty; send a JSON object.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return api.Errf(http.StatusBadRequest, api.CodeBadRequest, "The JSON body ends too early.")
	case errors.As(err, &syn):
		return api.Errf(http.StatusBadRequest, api.CodeBadRequest, "The body is not valid JSON (at byte %d).", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return api.Errf(http.StatusBadRequest, api.CodeBadRequest, "The body must be a JSON object, not %s.", typ.Value)
		}
		e := api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "%s must be %s, not %s.", field, kindName(typ.Type.String()), typ.Value)
		e.Target = field
		return e
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		e := api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "Unknown field %q.", field)
		e.Target = field
		return e
	}
	var te *time.ParseError
	if errors.As(err, &te) {
		return api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "A date is not in RFC 3339 form (like 2026-11-23T09:00:00Z).")
	}
	return api.Errf(http.StatusBadRequest, api.CodeBadRequest, "The body could not be read as JSON.")
}

func kindName(goType string) string {
	switch {
	case strings.Contains(goType, "int"):
		return "a whole number"
	case strings.Contains(goType, "bool"):
		return "true or false"
	case strings.Contains(goType, "string"):
		return "a string"
	case strings.HasPrefix(goType, "[]"), strings.HasPrefix(goType, "*[]"):
		return "a list"
	case strings.Contains(goType, "Time"):
		return "an RFC 3339 date"
	}
	return "an object"
}

// fieldError turns a rules error into a 400 naming the field.
func fieldError(err error) error {
	var fe *tap.FieldError
	if errors.As(err, &fe) {
		e := api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "%s %s.", fe.Field, fe.Message)
		e.Target = fe.Field
		return e
	}
	return err
}

func (s *Server) ready(c *call) error {
	if err := s.store.Ping(c.r.Context()); err != nil {
		c.log.Warn("not ready", "err", err)
		return api.Errf(http.StatusServiceUnavailable, api.CodeUnavailable, "The database does not answer.")
	}
	return c.writeJSON(http.StatusOK, map[string]string{"status": "ready"})
}

// audit appends an audit entry. A failed audit write is logged loudly; the
// action it describes has already happened and is not undone.
func (s *Server) audit(c *call, action, target, result, reason string, details map[string]string) {
	typ, name := c.actor()
	e := store.AuditEntry{At: s.now(), RequestID: c.requestID, ActorType: typ, Actor: name, Action: action,
		Target: target, Result: result, Reason: reason, Details: details}
	if err := s.store.AppendAudit(c.r.Context(), e); err != nil {
		c.log.Error("audit write failed", "action", action, "target", target, "result", result, "reason", reason, "err", err)
	}
}
