package server

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/directory/local"
	"github.com/tapkiosk/tapkiosk/internal/pgtest"
	"github.com/tapkiosk/tapkiosk/internal/testutil"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/store/storetest"
	"github.com/tapkiosk/tapkiosk/tap"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &pg)) }

// clock is a settable time source shared by the server under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is one tapd under test with a global admin and one kiosk.
type env struct {
	t      testing.TB
	st     *store.SQL
	srv    *Server
	http   *httptest.Server
	clock  *clock
	logs   *testutil.SyncBuffer
	admin  *api.Client
	kiosk  *api.Client
	kiosk2 *api.Client

	// cfg is what the service was built from; reconfigure rebuilds it.
	cfg     recovery.Config
	newDir  func(recovery.Config) directory.Directory
	handler atomic.Pointer[http.Handler]
}

// cheapArgon keeps the suite fast; BenchmarkVerifyPass measures the real cost.
var cheapArgon = tap.Argon2Params{Memory: 64, Time: 1, Threads: 1}

func openStore(t testing.TB, backend string) *store.SQL { return storetest.Open(t, pg, backend) }

func newEnv(t testing.TB, backend string) *env {
	t.Helper()
	st := openStore(t, backend)
	return newEnvOn(t, st, &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)})
}

// localDirectory is tapd's own directory over the service's store.
func localDirectory(c recovery.Config) directory.Directory {
	return local.New(local.Config{Store: c.Store, RP: c.RP, Argon2: c.Argon2, Now: c.Now})
}

func newEnvOn(t testing.TB, st *store.SQL, clk *clock) *env {
	return newEnvWith(t, st, clk, localDirectory)
}

// newEnvWith starts tapd over the store with the directory newDir builds.
func newEnvWith(t testing.TB, st *store.SQL, clk *clock, newDir func(recovery.Config) directory.Directory) *env {
	t.Helper()
	ctx := context.Background()
	logs := &testutil.SyncBuffer{}
	rp, err := recovery.NewRelyingParty(testRPID, "tapkiosk test")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, clock: clk, logs: logs, newDir: newDir,
		cfg: recovery.Config{Store: st, RP: rp, Logger: slog.New(slog.NewJSONHandler(logs, nil)), Now: clk.Now, Argon2: cheapArgon, Trust: testTrust(t)}}
	e.reconfigure(func(*recovery.Config) {})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*e.handler.Load()).ServeHTTP(w, r) }))
	t.Cleanup(hs.Close)
	e.http = hs
	tok, _, err := recovery.CreateAdminToken(ctx, st, "root-"+fmt.Sprint(time.Now().UnixNano()), api.RoleGlobalAdministrator, clk.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.admin = api.NewClient(hs.URL, tok)
	e.kiosk = e.newKiosk("lobby-" + fmt.Sprint(time.Now().UnixNano()))
	e.kiosk2 = e.newKiosk("floor2-" + fmt.Sprint(time.Now().UnixNano()))
	return e
}

// reconfigure rebuilds the directory, service and server with a changed
// config, as a restart of tapd with other flags would; the store and the
// listening address stay.
func (e *env) reconfigure(change func(*recovery.Config)) {
	e.t.Helper()
	change(&e.cfg)
	cfg := e.cfg
	cfg.Directory = e.newDir(cfg)
	svc, err := recovery.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv, err = New(Config{Service: svc, Logger: cfg.Logger})
	if err != nil {
		e.t.Fatal(err)
	}
	h := e.srv.Handler()
	e.handler.Store(&h)
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (e *env) newKiosk(name string) *api.Client {
	e.t.Helper()
	k, err := e.admin.CreateKiosk(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return api.NewClient(e.http.URL, k.Token)
}

func (e *env) enablePolicy(patch ...tap.PolicyPatch) {
	e.t.Helper()
	on := "enabled"
	if _, err := e.admin.UpdatePolicy(context.Background(), tap.PolicyPatch{State: &on}); err != nil {
		e.t.Fatal(err)
	}
	for _, p := range patch {
		if _, err := e.admin.UpdatePolicy(context.Background(), p); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) addUser(u api.User) {
	e.t.Helper()
	if u.DisplayName == "" {
		u.DisplayName = "User " + u.UserPrincipalName
	}
	if _, err := e.admin.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) newPass(upn string, r api.CreatePassRequest) api.TemporaryAccessPassMethod {
	e.t.Helper()
	p, err := e.admin.CreatePass(context.Background(), upn, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if p.TemporaryAccessPass == nil {
		e.t.Fatal("create did not return the pass value")
	}
	return p
}

// signedIn enables the policy, adds upn, gives them a pass and signs them
// in at the first kiosk.
func (e *env) signedIn(upn string) (*api.Client, api.TemporaryAccessPassMethod) {
	e.t.Helper()
	e.enablePolicy()
	e.addUser(api.User{UserPrincipalName: upn})
	p := e.newPass(upn, api.CreatePassRequest{})
	k := e.fresh(e.kiosk)
	if _, err := k.OpenSession(context.Background(), upn, *p.TemporaryAccessPass); err != nil {
		e.t.Fatal(err)
	}
	return k, p
}

// newKioskClient returns a fresh client for the kiosk (no session).
func (e *env) fresh(c *api.Client) *api.Client { return api.NewClient(c.BaseURL, c.Token) }

// raw sends a raw request and returns the status and decoded error.
func (e *env) raw(method, path, token, contentType string, body []byte, hdr ...string) (int, *api.Error, http.Header) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.http.URL+path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb api.ErrorBody
	if resp.StatusCode >= 300 {
		if err := decodeJSON(resp, &eb); err != nil {
			e.t.Fatalf("%s %s: status %d without a JSON error body: %v", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode, eb.Error, resp.Header
}

// code asserts err is an api.Error with the status and code.
func code(t *testing.T, err error, status int, c api.Code) *api.Error {
	t.Helper()
	ae, ok := err.(*api.Error)
	if !ok {
		t.Fatalf("want %d %s, got %v", status, c, err)
	}
	if ae.Status != status || ae.Code != c {
		t.Fatalf("want %d %s, got %d %s: %s", status, c, ae.Status, ae.Code, ae.Message)
	}
	return ae
}

func forEachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) { fn(t, newEnv(t, b)) })
	}
}
