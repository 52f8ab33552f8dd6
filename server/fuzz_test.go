package server

// Fuzz targets for every body tapd decodes: one target per body, each
// sending the fuzzed bytes through the real handler of a tapd over SQLite.
// `go test` runs each target's seeds as a test; `make fuzz` fuzzes each
// for a minute. The WebAuthn answers (FuzzRegisterFIDO2, FuzzCheckKey) are
// in fuzz_fido2_test.go.
//
// What every answer must be, whatever the body: no 5xx (but the
// documented 507 storageFull and 503 serviceUnavailable of a storage in
// trouble), no panic (wrap turns one into a 500), the JSON error shape
// with a code that goes with the status, or a success; a success only for
// a body that is one JSON object; and never a secret tapd holds (tokens,
// pass values) in the answer.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
)

// fuzzEnv is a tapd for one fuzzing process. The handler is called in
// process, without a socket, to keep an iteration fast; the log is kept
// for the current request only, to show with a failure.
type fuzzEnv struct {
	*env
	log     *syncWriter
	secrets []string
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	e := newEnv(f, "sqlite")
	fe := &fuzzEnv{env: e, log: &syncWriter{w: &bytes.Buffer{}}}
	e.reconfigure(func(c *recovery.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(fe.log, nil))
		// No lockout: it would soon turn every sign-in into a 429 and hide
		// the rest of the sign-in path from the fuzzer.
		c.Lockout = recovery.Lockout{UserThreshold: 1 << 30, KioskThreshold: 1 << 30, Base: time.Minute, Max: time.Minute,
			UserWindow: time.Minute, KioskWindow: time.Minute}
	})
	fe.secrets = []string{e.admin.Token, e.kiosk.Token, e.kiosk2.Token}
	return fe
}

// Request headers by caller.
func (fe *fuzzEnv) asAdmin() []string { return []string{"Authorization", "Bearer " + fe.admin.Token} }
func (fe *fuzzEnv) asKiosk() []string { return []string{"Authorization", "Bearer " + fe.kiosk.Token} }

func (s *syncWriter) reset() { s.mu.Lock(); s.w.Reset(); s.mu.Unlock() }

func (s *syncWriter) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.w.String() }

// answer is what the handler sent back.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// serve sends one request through the handler.
func (fe *fuzzEnv) serve(method, path, contentType string, body []byte, hdr []string) answer {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	fe.log.reset()
	rec := httptest.NewRecorder()
	(*fe.handler.Load()).ServeHTTP(rec, req)
	return answer{rec.Code, rec.Header(), rec.Body.Bytes()}
}

// send serves the body as JSON and checks the answer; it returns the
// error the answer carries, or nil for a success.
func (fe *fuzzEnv) send(t *testing.T, method, path string, body []byte, hdr []string) *api.Error {
	t.Helper()
	a := fe.serve(method, path, "application/json", body, hdr)
	ae := fe.check(t, method+" "+path, body, a)
	if ae == nil && !isObject(body) {
		t.Fatalf("%s %s accepted a body that is not one JSON object: %q -> %d %s", method, path, body, a.status, a.body)
	}
	return ae
}

// check asserts what every answer must be (see the top of the file).
func (fe *fuzzEnv) check(t *testing.T, what string, sent []byte, a answer) *api.Error {
	t.Helper()
	fail := func(why string, args ...any) {
		t.Helper()
		t.Fatalf("%s: %s\nsent: %q\nanswer: %d %s\nlog: %s", what, fmt.Sprintf(why, args...), sent, a.status, a.body, fe.log.String())
	}
	for _, s := range fe.secrets {
		if bytes.Contains(a.body, []byte(s)) {
			fail("the answer holds a secret")
		}
	}
	if a.status == http.StatusNoContent {
		if len(a.body) != 0 {
			fail("204 with a body")
		}
		return nil
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		fail("Content-Type %q", ct)
	}
	if a.status < 300 {
		if a.status != http.StatusOK && a.status != http.StatusCreated {
			fail("unexpected success status")
		}
		if !isObject(a.body) {
			fail("the success is not a JSON object")
		}
		return nil
	}
	var eb api.ErrorBody
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&eb); err != nil || eb.Error == nil {
		fail("not the JSON error shape: %v", err)
	}
	ae := eb.Error
	ae.Status = a.status
	switch {
	case ae.Code == "" || ae.Message == "":
		fail("an error without a code or message")
	case api.StatusOf(ae.Code) != a.status:
		fail("code %s goes with %d", ae.Code, api.StatusOf(ae.Code))
	case ae.RequestID == "" || ae.RequestID != a.header.Get(api.RequestIDHeader):
		fail("no request id")
	case a.status >= 500 && ae.Code != api.CodeStorageFull && ae.Code != api.CodeUnavailable:
		fail("a server error")
	}
	return ae
}

// isObject says whether b is one JSON object, as decode must insist.
func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return json.Valid(b) && len(b) > 0 && b[0] == '{'
}

// fuzzJSON fuzzes the body of one route with the caller's headers.
func (fe *fuzzEnv) fuzzJSON(f *testing.F, method, path string, hdr []string, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { fe.send(t, method, path, body, hdr) })
}

// Bodies every JSON route should refuse cleanly.
var notAnObject = []string{``, ` `, `null`, `[]`, `"x"`, `1`, `{`, `{}{}`, `{} x`, `{"a":1}`, "{\"\xff\":1}"}

func FuzzCreateUser(f *testing.F) {
	fe := newFuzzEnv(f)
	fe.fuzzJSON(f, "POST", "/v1/users", fe.asAdmin(), append(notAnObject,
		`{"userPrincipalName":"ada@example.com","displayName":"Ada"}`,
		`{"userPrincipalName":"Ada@Example.com","displayName":"Ada again","userType":"Member","groups":["Sales","EMEA"]}`,
		`{"userPrincipalName":"gus@example.com","displayName":"Gus","userType":"Guest","guestKind":"external","groups":[]}`,
		`{"userPrincipalName":"ivy@example.com","displayName":"Ivy","userType":"Guest","guestKind":"internal","adminRole":"reader"}`,
		`{"userPrincipalName":"root@example.com","displayName":"Root","adminRole":"globalAdministrator","createdDateTime":"2026-01-01T00:00:00Z"}`,
		`{"userPrincipalName":"bad upn@example.com","displayName":"x"}`,
		`{"userPrincipalName":"eve@example.com","displayName":"Eve\u001b[31m"}`,
		`{"userPrincipalName":"d@example.com","displayName":"D","createdDateTime":"tomorrow"}`,
		`{"userPrincipalName":"n@example.com","displayName":"N","groups":null,"userType":null}`,
		`{"userPrincipalName":"t@example.com","displayName":"T","groups":"Sales"}`,
		`{"userPrincipalName":1,"displayName":"One"}`,
		`{"userPrincipalName":"a@b.co","displayName":"A","isAdmin":true}`,
	)...)
}

func FuzzCreatePass(f *testing.F) {
	fe := newFuzzEnv(f)
	fe.enablePolicy()
	fe.addUser(api.User{UserPrincipalName: "pass@example.com"})
	fe.secrets = append(fe.secrets, *fe.newPass("pass@example.com", api.CreatePassRequest{}).TemporaryAccessPass)
	fe.fuzzJSON(f, "POST", "/v1/users/pass@example.com/temporaryAccessPassMethods", fe.asAdmin(), append(notAnObject,
		`{}`,
		`{"lifetimeInMinutes":60}`,
		`{"isUsableOnce":true}`,
		`{"startDateTime":"2026-11-23T10:00:00Z","lifetimeInMinutes":480,"isUsableOnce":false}`,
		`{"startDateTime":"2026-11-23T10:00:00+14:00"}`,
		`{"startDateTime":"9999-12-31T23:59:59Z","lifetimeInMinutes":480}`,
		`{"startDateTime":"0001-01-01T00:00:00Z"}`,
		`{"startDateTime":"2026-11-23T10:00:00.123456789Z"}`,
		`{"startDateTime":"tomorrow"}`,
		`{"lifetimeInMinutes":0}`,
		`{"lifetimeInMinutes":-1}`,
		`{"lifetimeInMinutes":9223372036854775807}`,
		`{"lifetimeInMinutes":99999999999999999999}`,
		`{"lifetimeInMinutes":1.5}`,
		`{"isUsableOnce":"yes"}`,
	)...)
}

func FuzzCreateKiosk(f *testing.F) {
	fe := newFuzzEnv(f)
	fe.fuzzJSON(f, "POST", "/v1/kiosks", fe.asAdmin(), append(notAnObject,
		`{"name":"lobby-2"}`,
		`{"name":"Floor 3 \u00e9"}`,
		`{"name":""}`,
		`{"name":" "}`,
		`{"name":"x\u0000y"}`,
		`{"name":"`+strings.Repeat("k", 65)+`"}`,
		`{"name":1}`,
		`{"name":"a","token":"tapk_x"}`,
	)...)
}

func FuzzCreateAdminToken(f *testing.F) {
	fe := newFuzzEnv(f)
	fe.fuzzJSON(f, "POST", "/v1/adminTokens", fe.asAdmin(), append(notAnObject,
		`{"name":"helpdesk","role":"authenticationAdministrator"}`,
		`{"name":"root2","role":"globalAdministrator","expiresDateTime":"2027-01-01T00:00:00Z"}`,
		`{"name":"ro","role":"reader","expiresDateTime":"2026-11-23T09:00:00Z"}`,
		`{"name":"old","role":"reader","expiresDateTime":"2000-01-01T00:00:00Z"}`,
		`{"name":"far","role":"policyAdministrator","expiresDateTime":"9999-12-31T23:59:59Z"}`,
		`{"name":"p","role":"privilegedAuthenticationAdministrator"}`,
		`{"name":"x","role":"emperor"}`,
		`{"name":"","role":"reader"}`,
		`{"name":"x","role":"reader","expiresDateTime":"soon"}`,
	)...)
}

func FuzzPatchTAPPolicy(f *testing.F) {
	fe := newFuzzEnv(f)
	fe.fuzzJSON(f, "PATCH", "/v1/policies/temporaryAccessPass", fe.asAdmin(), append(notAnObject,
		`{}`,
		`{"state":"enabled"}`,
		`{"state":"disabled","isUsableOnce":true}`,
		`{"state":"on"}`,
		`{"defaultLength":12}`,
		`{"defaultLength":7}`,
		`{"defaultLength":49}`,
		`{"minimumLifetimeInMinutes":10,"maximumLifetimeInMinutes":43200,"defaultLifetimeInMinutes":60}`,
		`{"minimumLifetimeInMinutes":600,"maximumLifetimeInMinutes":60}`,
		`{"defaultLifetimeInMinutes":-5}`,
		`{"includeTargets":[{"targetType":"group","id":"all_users"}]}`,
		`{"includeTargets":[{"targetType":"group","id":"Sales"}],"excludeTargets":[{"targetType":"group","id":"Contractors"}]}`,
		`{"includeTargets":[],"excludeTargets":[]}`,
		`{"includeTargets":null}`,
		`{"includeTargets":[{"targetType":"user","id":""}]}`,
		`{"includeTargets":[{"targetType":"group","id":"x","extra":1}]}`,
	)...)
}

func FuzzPatchFIDO2Policy(f *testing.F) {
	fe := newFuzzEnv(f)
	fe.fuzzJSON(f, "PATCH", "/v1/policies/fido2", fe.asAdmin(), append(notAnObject,
		`{}`,
		`{"isAttestationEnforced":true}`,
		`{"isAttestationEnforced":false}`,
		`{"keyRestrictions":{"isEnforced":true,"enforcementType":"allow","aaGuids":["`+aaguid+`"]}}`,
		`{"keyRestrictions":{"isEnforced":true,"enforcementType":"block","aaGuids":[]}}`,
		`{"keyRestrictions":{"isEnforced":false,"enforcementType":"block","aaGuids":null}}`,
		`{"keyRestrictions":{"isEnforced":true,"enforcementType":"deny","aaGuids":["not-a-uuid"]}}`,
		`{"keyRestrictions":{"isEnforced":true,"enforcementType":"allow","aaGuids":["`+strings.ToUpper(aaguid)+`","`+aaguid+`"]}}`,
		`{"keyRestrictions":null}`,
		`{"keyRestrictions":{}}`,
	)...)
}

func FuzzOpenSession(f *testing.F) {
	fe := newFuzzEnv(f)
	fe.enablePolicy()
	fe.addUser(api.User{UserPrincipalName: "sign@example.com"})
	pass := *fe.newPass("sign@example.com", api.CreatePassRequest{}).TemporaryAccessPass
	fe.secrets = append(fe.secrets, pass)
	body := func(upn, pass string) string {
		b, _ := json.Marshal(api.SessionRequest{UserPrincipalName: upn, TemporaryAccessPass: pass})
		return string(b)
	}
	for _, s := range append(notAnObject,
		body("sign@example.com", pass),
		body("SIGN@example.com", " "+pass+" "),
		body("sign@example.com", pass+"x"),
		body("sign@example.com", "WrongPassValue"),
		body("nobody@example.com", pass),
		body("sign@example.com", ""),
		body("sign@example.com", strings.Repeat("p", 257)),
		body("not a upn", pass),
		body("", ""),
		`{"userPrincipalName":"sign@example.com"}`,
		`{"userPrincipalName":"sign@example.com","temporaryAccessPass":123}`,
		`{"userPrincipalName":"sign@example.com","temporaryAccessPass":"x","sessionToken":"taps_x"}`,
	) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ae := fe.send(t, "POST", "/v1/sessions", body, fe.asKiosk())
		// The pass a person typed never comes back, unless they typed it
		// elsewhere in the body too (an unknown field's name, say).
		var req api.SessionRequest
		json.Unmarshal(body, &req)
		if p := strings.TrimSpace(req.TemporaryAccessPass); ae != nil && len(p) >= 8 && bytes.Count(body, []byte(p)) == 1 &&
			strings.Contains(ae.Message+ae.Target, p) {
			t.Fatalf("the refusal echoes the pass: %q -> %+v", body, ae)
		}
	})
}

// FuzzImportUsers fuzzes the CSV import, the one body that is not JSON,
// in both modes.
func FuzzImportUsers(f *testing.F) {
	fe := newFuzzEnv(f)
	fe.addUser(api.User{UserPrincipalName: "exists@example.com"})
	for _, s := range []string{
		"userPrincipalName,displayName\nann@example.com,Ann\n",
		"userPrincipalName,displayName,userType,guestKind,groups,adminRole\n" +
			"bob@example.com,Bob,Member,,Sales;EMEA,\n" +
			"gus@example.com,Gus,Guest,external,,\n" +
			"ivy@example.com,Ivy,Guest,internal,,reader\n",
		"\ufeffUserPrincipalName , DisplayName\r\ncat@example.com,\"Cat, the\"\r\n",
		"userPrincipalName,displayName\nexists@example.com,Dup\nbad upn@example.com,Bad\ndan@example.com,Dan\ndan@example.com,Dan again\n",
		"userPrincipalName,displayName\neve@example.com,\"Eve\x1b[31m\"\n",
		"userPrincipalName,displayName\n\"unterminated,x\n",
		"userPrincipalName,displayName\nfew@example.com\nmany@example.com,Many,Member,,,,extra\n",
		"userPrincipalName,displayName\n",
		"displayName\nx\n",
		"nope,displayName\n",
		"userPrincipalName,displayName,displayName\nx@example.com,a,b\n",
		"",
		"\n\n",
		"userPrincipalName,displayName\na\"b@example.com,x\n",
	} {
		f.Add([]byte(s), "")
		f.Add([]byte(s), "partial")
	}
	f.Add([]byte("userPrincipalName,displayName\n"), "none")
	f.Fuzz(func(t *testing.T, body []byte, mode string) {
		path := "/v1/users/import?" + url.Values{"mode": {mode}}.Encode()
		fe.check(t, "POST "+path, body, fe.serve("POST", path, "text/csv", body, fe.asAdmin()))
	})
}
