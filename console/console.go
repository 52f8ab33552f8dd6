// Package console is the helpdesk console: tapd's pages for staff, served
// on their own listener at /console/. Staff sign in with passkeys (tapd is
// the console's own relying party), find a person, verify them against
// the organisation's checklist, and issue their pass, unlock them or
// remove a lost method. Like server/ it is a thin layer over recovery:
// every rule (roles, four eyes, the checklist, the policy) is recovery's;
// this package holds the pages, the session cookie and CSRF.
//
// The pages are server-rendered (html/template); the only JavaScript is
// console.js, a static file that runs the WebAuthn ceremonies. The
// Content-Security-Policy allows no inline script and no framing.
package console

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is the console's dependencies.
type Config struct {
	Service *recovery.Service
	Logger  *slog.Logger
	// Origin is the console's URL as browsers reach it (https://HOST[:PORT]);
	// every POST must come from it.
	Origin string
	// KioskInstructions are printed on a pass's print view: where the
	// kiosks are and what to bring.
	KioskInstructions string
}

// Console serves the helpdesk pages.
type Console struct {
	cfg   Config
	svc   *recovery.Service
	log   *slog.Logger
	pages map[string]*template.Template
}

// New parses the templates and returns the console.
func New(cfg Config) (*Console, error) {
	if cfg.Service == nil || cfg.Origin == "" {
		return nil, errors.New("console: a service and an origin are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	pages := map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{"when": when, "join": strings.Join, "kind": api.MethodKind}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		pages[base] = t
	}
	return &Console{cfg: cfg, svc: cfg.Service, log: cfg.Logger, pages: pages}, nil
}

// when shows a time the way staff read it: UTC, to the minute.
func when(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format("2006-01-02 15:04 UTC")
	case *time.Time:
		if v == nil {
			return ""
		}
		return when(*v)
	}
	return ""
}

// Handler is the console's routes, under /console/.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/console/", http.StatusSeeOther) })
	// Signing in and enrolling: no session yet.
	mux.HandleFunc("GET /console/enrol", c.open(c.enrolPage))
	mux.HandleFunc("POST /console/enrol/options", c.open(c.enrolOptions))
	mux.HandleFunc("POST /console/enrol/finish", c.open(c.enrolFinish))
	mux.HandleFunc("POST /console/signin/options", c.open(c.signInOptions))
	mux.HandleFunc("POST /console/signin/finish", c.open(c.signInFinish))
	// Everything else needs a session, and a POST its CSRF token.
	mux.HandleFunc("GET /console/{$}", c.signedIn(c.home))
	mux.HandleFunc("GET /console/person", c.signedIn(c.person))
	mux.HandleFunc("POST /console/signout", c.signedIn(c.signOut))
	mux.HandleFunc("POST /console/pass", c.signedIn(c.issuePass))
	mux.HandleFunc("POST /console/pass/delete", c.signedIn(c.deletePass))
	mux.HandleFunc("POST /console/unlock", c.signedIn(c.unlock))
	mux.HandleFunc("POST /console/method/delete", c.signedIn(c.deleteMethod))
	mux.HandleFunc("GET /console/approvals", c.signedIn(c.approvals))
	mux.HandleFunc("POST /console/approvals/approve", c.signedIn(c.approve))
	mux.HandleFunc("POST /console/approvals/issue", c.signedIn(c.issueApproved))
	mux.HandleFunc("GET /console/passkeys", c.signedIn(c.myPasskeys))
	mux.HandleFunc("POST /console/passkeys/options", c.signedIn(c.addPasskeyOptions))
	mux.HandleFunc("POST /console/passkeys/finish", c.signedIn(c.addPasskeyFinish))
	mux.HandleFunc("GET /console/staff", c.signedIn(c.staff))
	mux.HandleFunc("POST /console/staff/revoke", c.signedIn(c.revokePasskey))
	return headers(mux)
}

// headers sets what every answer carries: a CSP with no inline script and
// no framing, and no caching (a pass is on a page once).
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "+
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin") // no-referrer would make form POSTs send Origin: null
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// req is one request to the console: the caller for recovery, and the
// signed-in staff member when there is one.
type req struct {
	w     http.ResponseWriter
	r     *http.Request
	who   *recovery.Caller
	staff *recovery.StaffSession
	csrf  string
}

func (c *Console) newReq(w http.ResponseWriter, r *http.Request) *req {
	b := make([]byte, 8)
	rand.Read(b)
	id := "console-" + hex.EncodeToString(b)
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	return &req{w: w, r: r, who: &recovery.Caller{RequestID: id, Path: r.URL.Path, ClientAddr: addr, Log: c.log.With("request_id", id)}}
}

// sameOrigin refuses a POST that does not come from the console's own
// pages (the browser always sends Origin with a POST).
func (c *Console) sameOrigin(q *req) bool {
	return q.r.Method != http.MethodPost || q.r.Header.Get("Origin") == c.cfg.Origin
}

// open serves a page or call that needs no session.
func (c *Console) open(h func(*req)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := c.newReq(w, r)
		if !c.sameOrigin(q) {
			c.fail(q, api.E(api.CodeForbidden, "This request did not come from the console's own pages."))
			return
		}
		h(q)
	}
}

// page renders a page with the layout's common data.
func (c *Console) page(q *req, status int, name, title string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["Title"], data["Staff"], data["CSRF"] = title, q.staff, q.csrf
	if q.staff != nil {
		data["IsAdmin"] = q.staff.Role == api.RoleGlobalAdministrator
	}
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	q.w.WriteHeader(status)
	if err := c.pages[name].Execute(q.w, data); err != nil {
		q.who.Log.Error("console page failed", "page", name, "err", err)
	}
}

// fail renders an error as a page: an *api.Error's own words, anything
// else a generic sentence with the request id (the cause goes to the log).
func (c *Console) fail(q *req, err error) {
	var ae *api.Error
	if !errors.As(err, &ae) {
		q.who.Log.Error("console request failed", "err", err)
		ae = api.E(api.CodeInternal, "tapd hit an internal error; the request id is %s.", q.who.RequestID)
	}
	c.page(q, ae.Status, "error", "Not done", map[string]any{"Message": ae.Message})
}
