package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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
		{"null", "/v1/policies/temporaryAccessPass", "application/json", ` null `, 400, api.CodeBadRequest, "", "not null"},
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
	status, ae, _ := e.raw("GET", "/v1/nothing", adm, "", nil)
	if status != 404 || ae.Code != api.CodeNotFound {
		t.Fatalf("%d %+v", status, ae)
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
