package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
)

func decodeJSON(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }

func ptr[T any](v T) *T { return &v }

var bg = context.Background()

func TestBadInput(t *testing.T) {
	e := newEnv(t, "sqlite")
	adm := e.admin.Token
	cases := []struct {
		name, path, ct, body string
		status               int
		code                 api.Code
		target, msg          string
	}{
		{"malformed", "/v1/users", "application/json", `{"userPrincipalName":`, 400, api.CodeBadRequest, "", "ends too early"},
		{"syntax", "/v1/users", "application/json", `{"a" 1}`, 400, api.CodeBadRequest, "", "not valid JSON"},
		{"empty", "/v1/users", "application/json", ``, 400, api.CodeBadRequest, "", "empty"},
		{"unknown field", "/v1/users", "application/json", `{"userPrincipalName":"a@b.co","displayName":"A","isAdmin":true}`, 400, api.CodeInvalidValue, "isAdmin", "Unknown field"},
		{"wrong type", "/v1/policies/temporaryAccessPass", "application/json", `{"defaultLength":"twelve"}`, 400, api.CodeInvalidValue, "defaultLength", "whole number"},
		{"not an object", "/v1/users", "application/json", `[1,2]`, 400, api.CodeBadRequest, "", "JSON object"},
		{"null", "/v1/users", "application/json", `null`, 400, api.CodeBadRequest, "", "not null"},
		{"null pass request", "/v1/users/a@b.co/temporaryAccessPassMethods", "application/json", " null\n", 400, api.CodeBadRequest, "", "must be a JSON object, not null"},
		{"null patch", "/v1/policies/temporaryAccessPass", "application/json", `null`, 400, api.CodeBadRequest, "", "not null"},
		{"null in spaces", "/v1/policies/fido2", "application/json", ` null `, 400, api.CodeBadRequest, "", "not null"},
		{"two values", "/v1/users", "application/json", `{} {}`, 400, api.CodeBadRequest, "", "more than one"},
		{"trailing", "/v1/users", "application/json", `{}x`, 400, api.CodeBadRequest, "", ""},
		{"media type", "/v1/users", "text/plain", `{}`, 415, api.CodeUnsupportedMediaType, "", "application/json"},
		{"oversized", "/v1/users", "application/json", `{"displayName":"` + strings.Repeat("x", 70<<10) + `"}`, 413, api.CodePayloadTooLarge, "", "limit"},
		{"bad date", "/v1/users/a@b.co/temporaryAccessPassMethods", "application/json", `{"startDateTime":"tomorrow"}`, 400, api.CodeInvalidValue, "", "RFC 3339"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := "POST"
			if strings.Contains(c.path, "policies") {
				method = "PATCH"
			}
			status, ae, hdr := e.raw(method, c.path, adm, c.ct, []byte(c.body))
			if status != c.status || ae == nil || ae.Code != c.code || ae.Target != c.target || !strings.Contains(ae.Message, c.msg) {
				t.Fatalf("got %d %+v", status, ae)
			}
			if ae.RequestID == "" || hdr.Get(api.RequestIDHeader) != ae.RequestID {
				t.Fatal("no request id")
			}
		})
	}
	// Nothing was saved by any of them.
	if us, _ := e.admin.ListUsers(bg); len(us) != 0 {
		t.Fatalf("bad input saved users: %+v", us)
	}
	if p, _ := e.admin.GetPolicy(bg); p.DefaultLength != 8 {
		t.Fatal("bad input changed the policy")
	}
	for _, p := range []string{"/v1/nothing", "/v1/users/a@b.co/nothing", "/"} {
		status, ae, hdr := e.raw("GET", p, adm, "", nil)
		if status != 404 || ae.Code != api.CodeNotFound || hdr.Get("Allow") != "" {
			t.Fatalf("%s: %d %+v", p, status, ae)
		}
	}
	// A path that exists, with a method it does not take.
	for _, c := range []struct{ method, path, allow string }{
		{"PUT", "/v1/users", "GET, HEAD, POST"},
		{"DELETE", "/v1/policies/temporaryAccessPass", "GET, HEAD, PATCH"},
		{"POST", "/v1/session", "GET, HEAD, DELETE"},
		{"GET", "/v1/users/a@b.co/temporaryAccessPassMethods/x", "DELETE"},
		{"POST", "/healthz", "GET, HEAD"},
	} {
		status, ae, hdr := e.raw(c.method, c.path, adm, "application/json", []byte(`{}`))
		if status != 405 || ae.Code != api.CodeMethodNotAllowed || hdr.Get("Allow") != c.allow || !strings.Contains(ae.Message, c.allow) ||
			ae.RequestID == "" || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %+v Allow=%q", c.method, c.path, status, ae, hdr.Get("Allow"))
		}
	}
	status, _, hdr := e.raw("GET", "/v1/users", adm, "", nil, api.ClientRequestIDHeader, "helpdesk-ticket-42")
	if status != 200 || hdr.Get(api.RequestIDHeader) != "helpdesk-ticket-42" {
		t.Fatal("client request id not honoured")
	}
	_, _, hdr = e.raw("GET", "/v1/users", adm, "", nil, api.ClientRequestIDHeader, "bad id <script>")
	if strings.Contains(hdr.Get(api.RequestIDHeader), "<") {
		t.Fatal("unsafe client request id echoed")
	}
	for _, q := range []string{"since=yesterday", "top=0", "top=abc", "before=-1"} {
		status, ae, _ := e.raw("GET", "/v1/auditLogs?"+q, adm, "", nil)
		if status != 400 || ae.Code != api.CodeInvalidValue {
			t.Errorf("%s: %d %+v", q, status, ae)
		}
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t, "sqlite")
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(e.http.URL + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	e.st.Close()
	resp, _ := http.Get(e.http.URL + "/readyz")
	if resp.StatusCode != 503 {
		t.Fatalf("readyz with a closed db: %d", resp.StatusCode)
	}
}

// TestStorageFull fills the SQLite file to its page cap (what a full disk
// looks like to SQLite) mid-import: the client gets 507 storageFull with a
// clear message, nothing of the import is kept, and earlier data is intact.
func TestStorageFull(t *testing.T) {
	st := openStore(t, "sqlite")
	e := newEnvOn(t, st, &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)})
	e.addUser(api.User{UserPrincipalName: "keep@example.com"})
	db := st.DB()
	db.SetMaxOpenConns(1)
	var pages int
	db.QueryRow("PRAGMA page_count").Scan(&pages)
	if _, err := db.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages+1)); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("userPrincipalName,displayName\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "u%03d@example.com,%s\n", i, strings.Repeat("N", 200))
	}
	_, err := e.admin.ImportUsers(bg, strings.NewReader(b.String()), false)
	if ae := code(t, err, 507, api.CodeStorageFull); !strings.Contains(ae.Message, "nothing was changed") {
		t.Fatal(ae.Message)
	}
	us, err := e.admin.ListUsers(bg)
	if err != nil || len(us) != 1 {
		t.Fatalf("after a full disk: %d users, %v", len(us), err)
	}
	if !strings.Contains(e.logs.String(), "storage full") {
		t.Fatal("the cause was not logged")
	}
}

func TestNoSecretsInLogsOrAudit(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.enablePolicy()
	e.addUser(api.User{UserPrincipalName: "sec@example.com"})
	p := e.newPass("sec@example.com", api.CreatePassRequest{})
	k := e.fresh(e.kiosk)
	k.OpenSession(bg, "sec@example.com", "WrongPassValue")
	s, err := k.OpenSession(bg, "sec@example.com", *p.TemporaryAccessPass)
	if err != nil {
		t.Fatal(err)
	}
	k.DeleteSessionPass(bg)
	es, _ := e.admin.Audit(bg, api.AuditQuery{Top: 1000})
	auditJSON, _ := json.Marshal(es)
	for _, secret := range []string{*p.TemporaryAccessPass, "WrongPassValue", s.SessionToken, e.admin.Token, e.kiosk.Token} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("a secret reached the log")
		}
		if strings.Contains(string(auditJSON), secret) {
			t.Errorf("a secret reached the audit log")
		}
	}
	if len(es) < 4 {
		t.Fatalf("too few audit entries: %d", len(es))
	}
}

// TestNullBodyChangesNothing: a body of null used to decode as {}, so
// posting it made a new pass and ended the session made with the old one.
func TestNullBodyChangesNothing(t *testing.T) {
	e := newEnv(t, "sqlite")
	k, p := e.signedIn("nel@example.com")
	status, ae, _ := e.raw("POST", "/v1/users/nel@example.com/temporaryAccessPassMethods", e.admin.Token, "application/json", []byte("null"))
	if status != 400 || ae.Code != api.CodeBadRequest || ae.Message != "The body must be a JSON object, not null." {
		t.Fatalf("%d %+v", status, ae)
	}
	if l, err := e.admin.ListPasses(bg, "nel@example.com"); err != nil || len(l) != 1 || l[0].ID != p.ID {
		t.Fatalf("the pass changed: %+v %v", l, err)
	}
	if _, err := k.GetSession(bg); err != nil {
		t.Fatalf("the session ended: %v", err)
	}
}

// TestHeadersTooLarge: a header over the 32 KiB limit answers 431
// headersTooLarge in JSON, also behind an http.Server set up as tapd's
// should be (MaxHeaderBytes: HTTPMaxHeaderBytes()); only a header over
// that gets net/http's own plain-text 431.
func TestHeadersTooLarge(t *testing.T) {
	e := newEnv(t, "sqlite")
	hs := httptest.NewUnstartedServer(e.srv.Handler())
	hs.Config.MaxHeaderBytes = e.srv.HTTPMaxHeaderBytes()
	hs.Start()
	defer hs.Close()
	get := func(size int) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", hs.URL+"/v1/users", nil)
		req.Header.Set("Authorization", "Bearer "+e.admin.Token)
		req.Header.Set("X-Padding", strings.Repeat("p", size))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	if resp, body := get(30 << 10); resp.StatusCode != 200 {
		t.Fatalf("30 KiB of headers: %d %s", resp.StatusCode, body)
	}
	resp, body := get(40 << 10)
	var eb api.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil || resp.StatusCode != 431 || eb.Error.Code != api.CodeHeadersTooLarge ||
		!strings.Contains(eb.Error.Message, "the limit is 32768") || eb.Error.RequestID == "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("40 KiB of headers: %d %s", resp.StatusCode, body)
	}
	if resp, body := get(e.srv.HTTPMaxHeaderBytes() + 8<<10); resp.StatusCode != 431 || json.Valid(body) {
		t.Fatalf("over the http.Server's limit: %d %s", resp.StatusCode, body)
	}
}
