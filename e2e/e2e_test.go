// Package e2e runs the real tapd and tapctl binaries against real SQLite
// and PostgreSQL databases, as an operator would.
package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey/hidroute"
	"github.com/tapkiosk/tapkiosk/internal/pgtest"
	"github.com/tapkiosk/tapkiosk/internal/testutil"
)

var (
	bin string
	pg  *pgtest.Server
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tapkiosk-e2e-bin-")
	if err != nil {
		panic(err)
	}
	bin = dir
	for _, c := range []string{"tapd", "tapctl", "kiosk"} {
		// The kiosk is built as the demo build, the only one with a virtual key.
		out, err := exec.Command("go", "build", "-tags", "demo", "-o", filepath.Join(bin, c), "github.com/tapkiosk/tapkiosk/cmd/"+c).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", c, err, out)
			os.Exit(1)
		}
	}
	code := pgtest.Main(m, &pg)
	os.RemoveAll(bin)
	os.Exit(code)
}

var bg = context.Background()

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// initDB runs tapd init --json and returns the first admin token.
func initDB(t *testing.T, db string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(bin, "tapd"), "init", "--db", db, "--json").Output()
	if err != nil {
		t.Fatalf("tapd init: %v", err)
	}
	var r struct{ AdminToken string }
	if err := json.Unmarshal(out, &r); err != nil || !strings.HasPrefix(r.AdminToken, api.AdminTokenPrefix) {
		t.Fatalf("tapd init printed %q", out)
	}
	return r.AdminToken
}

type tapd struct {
	cmd  *exec.Cmd
	url  string
	logs *testutil.SyncBuffer
	done chan error
}

// startTapd runs tapd serve and waits until /readyz answers.
func startTapd(t *testing.T, db string, extra ...string) *tapd {
	t.Helper()
	return startTapdEnv(t, nil, db, extra...)
}

// startTapdEnv is startTapd with extra environment variables.
func startTapdEnv(t *testing.T, env []string, db string, extra ...string) *tapd {
	t.Helper()
	addr := freeAddr(t)
	for i, a := range extra {
		if a == "--listen" && i+1 < len(extra) {
			addr = extra[i+1] // the caller's wins, and is where to wait
		}
	}
	args := append([]string{"serve", "--db", db, "--listen", addr, "--log-format", "json", "--log-level", "debug"}, extra...)
	cmd := exec.Command(filepath.Join(bin, "tapd"), args...)
	cmd.Env = append(os.Environ(), env...)
	logs := &testutil.SyncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &tapd{cmd: cmd, url: "http://" + addr, logs: logs, done: make(chan error, 1)}
	go func() { d.done <- cmd.Wait() }()
	t.Cleanup(func() { d.stop(t) })
	d.waitReady(t)
	return d
}

// waitReady waits until /readyz answers, or fails the test.
func (d *tapd) waitReady(t *testing.T) {
	t.Helper()
	// A deadline, not a count of tries: each try's own time stretches on
	// a loaded machine.
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		resp, err := http.Get(d.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-d.done:
			t.Fatalf("tapd exited early: %v\n%s", err, d.logs)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("tapd did not become ready\n%s", d.logs)
}

// stop sends SIGTERM and expects a clean exit.
func (d *tapd) stop(t *testing.T) {
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("tapd did not shut down cleanly: %v", err)
		}
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		t.Error("tapd ignored SIGTERM")
	}
}

// tapctlWant runs tapctl as tapctl does, fails the test unless it exits
// with want, and returns stdout and stderr together.
func tapctlWant(t *testing.T, server, tokenFile string) func(want int, args ...string) string {
	return func(want int, args ...string) string {
		t.Helper()
		out, errOut, code := tapctl(t, server, tokenFile, args...)
		if code != want {
			t.Fatalf("tapctl %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, want, out, errOut)
		}
		return out + errOut
	}
}

// tapctl runs the CLI and returns stdout, stderr and the exit code.
func tapctl(t *testing.T, server, tokenFile string, args ...string) (string, string, int) {
	t.Helper()
	return tapctlEnv(t, nil, append([]string{"--server", server, "--token-file", tokenFile}, args...)...)
}

// mustTapctl runs tapctl against server and fails the test unless it
// exits 0; it returns stdout.
func mustTapctl(t *testing.T, server, tokenFile string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		out, errOut, code := tapctl(t, server, tokenFile, args...)
		if code != 0 {
			t.Fatalf("tapctl %v: %d %s %s", args, code, out, errOut)
		}
		return out
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOperatorJourneySQLite drives tapd and tapctl as an operator would,
// then proves that no pass value or token reached the database file, its
// WAL, or the logs.
func TestOperatorJourneySQLite(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "tapd.db")
	db := "sqlite://" + dbPath
	tok := initDB(t, db)
	tokFile := writeFile(t, "admin.token", tok+"\n")
	d := startTapd(t, db)

	run := tapctlWant(t, d.url, tokFile)
	run(0, "policy", "set", "--state", "enabled", "--max-lifetime", "8h")
	if out := run(1, "policy", "set", "--min-lifetime", "5"); !strings.Contains(out, "between 10 and 43200") {
		t.Fatalf("range not named: %s", out)
	}
	run(0, "user", "add", "ada@example.com", "--name", "Ada Lovelace", "--groups", "Engineering")
	if out := run(1, "user", "add", "bad name@example.com", "--name", "x"); !strings.Contains(out, "contains a space") {
		t.Fatalf("bad upn: %s", out)
	}
	csvPath := writeFile(t, "users.csv", "userPrincipalName,displayName,userType,guestKind\nbob@example.com,Bob,Member,\noops,Bad,Member,\next@partner.example,Ext,Guest,external\n")
	if out := run(1, "user", "import", csvPath); !strings.Contains(out, "row 3") || !strings.Contains(out, "nothing was imported") {
		t.Fatalf("import report: %s", out)
	}
	if out := run(0, "user", "import", csvPath, "--partial"); !strings.Contains(out, "Imported 2 user(s)") {
		t.Fatalf("partial import: %s", out)
	}
	if out := run(1, "tap", "create", "ext@partner.example"); !strings.Contains(out, api.ExternalGuestMessage) {
		t.Fatalf("external guest: %s", out)
	}
	var created api.TemporaryAccessPassMethod
	outJSON, _, _ := tapctl(t, d.url, tokFile, "tap", "create", "ada@example.com", "--lifetime", "2h", "--json")
	if err := json.Unmarshal([]byte(outJSON), &created); err != nil || created.TemporaryAccessPass == nil {
		t.Fatalf("tap create --json: %q %v", outJSON, err)
	}
	pass := *created.TemporaryAccessPass
	if show := run(0, "tap", "show", "ada@example.com"); strings.Contains(show, pass) || !strings.Contains(show, "EnabledByPolicy") {
		t.Fatalf("tap show: %s", show)
	}
	var kiosk api.Kiosk
	kOut := run(0, "kiosk", "add", "lobby-1", "--json")
	if err := json.Unmarshal([]byte(kOut), &kiosk); err != nil {
		t.Fatal(err)
	}
	k := api.NewClient(d.url, kiosk.Token)
	if _, err := k.OpenSession(bg, "ada@example.com", "WrongPass9"); err == nil {
		t.Fatal("wrong pass accepted")
	}
	sess, err := k.OpenSession(bg, "ada@example.com", pass)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.DeleteSessionPass(bg); err != nil {
		t.Fatal(err)
	}
	if out := run(0, "tap", "show", "ada@example.com"); !strings.Contains(out, "has no Temporary Access Pass") {
		t.Fatalf("pass not deleted: %s", out)
	}
	audit := run(0, "audit", "--user", "ada@example.com", "--json")
	for _, want := range []string{`"signIn"`, `"wrongPass"`, `"deletePass"`, `"lobby-1"`} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit lacks %s", want)
		}
	}
	if out := run(2, "tap", "create"); !strings.Contains(out, "usage: tapctl tap create") {
		t.Fatalf("usage: %s", out)
	}
	bad := writeFile(t, "bad.token", "tapa_notreal")
	if _, e, code := tapctl(t, d.url, bad, "user", "list"); code != 1 || !strings.Contains(e, "Check the admin token") {
		t.Fatalf("bad token: %d %s", code, e)
	}
	if _, e, code := tapctl(t, "http://127.0.0.1:1", tokFile, "user", "list"); code != 3 || !strings.Contains(e, "cannot reach tapd") {
		t.Fatalf("unreachable: %d %s", code, e)
	}
	d.stop(t)
	if !strings.Contains(d.logs.String(), `"msg":"stopped"`) {
		t.Errorf("no clean shutdown in the log")
	}

	// Secrets: the pass value, the wrong guess, and every token.
	secrets := map[string]string{"pass": pass, "wrong guess": "WrongPass9", "admin token": tok, "kiosk token": kiosk.Token, "session token": sess.SessionToken}
	files := []string{dbPath, dbPath + "-wal", dbPath + "-shm"}
	var dbBytes []byte
	for _, f := range files {
		b, _ := os.ReadFile(f)
		dbBytes = append(dbBytes, b...)
	}
	if len(dbBytes) < 4096 {
		t.Fatalf("database files look empty (%d bytes)", len(dbBytes))
	}
	if !bytes.Contains(dbBytes, []byte("ada@example.com")) {
		t.Fatal("the scan cannot see plain text in the database; it would prove nothing")
	}
	for name, s := range secrets {
		if bytes.Contains(dbBytes, []byte(s)) {
			t.Errorf("the %s is in the database file in clear", name)
		}
		if strings.Contains(d.logs.String(), s) {
			t.Errorf("the %s is in tapd's log", name)
		}
		if strings.Contains(audit, s) {
			t.Errorf("the %s is in the audit log", name)
		}
	}
}

// TestTwoInstancesOnePostgres runs two tapd processes on one PostgreSQL
// database and checks they behave as one service.
func TestTwoInstancesOnePostgres(t *testing.T) {
	db, err := pg.NewDatabase(bg)
	if err != nil {
		t.Fatal(err)
	}
	tok := initDB(t, db)
	a, b := startTapd(t, db), startTapd(t, db)
	adminA, adminB := api.NewClient(a.url, tok), api.NewClient(b.url, tok)
	on := "enabled"
	if _, err := adminA.UpdatePolicy(bg, api.PolicyPatch{State: &on}); err != nil {
		t.Fatal(err)
	}
	if p, _ := adminB.GetPolicy(bg); p.State != "enabled" {
		t.Fatal("B does not see A's policy")
	}
	for _, u := range []string{"ann@example.com", "lou@example.com", "rae@example.com"} {
		if _, err := adminB.CreateUser(bg, api.User{UserPrincipalName: u, DisplayName: u}); err != nil {
			t.Fatal(err)
		}
	}
	kiosk, err := adminA.CreateKiosk(bg, "lobby")
	if err != nil {
		t.Fatal(err)
	}
	kA := func() *api.Client { return api.NewClient(a.url, kiosk.Token) }
	kB := func() *api.Client { return api.NewClient(b.url, kiosk.Token) }

	// A pass made on A signs in on B; the session works on A; deleting the
	// pass on A ends it on B.
	p, err := adminA.CreatePass(bg, "ann@example.com", api.CreatePassRequest{})
	if err != nil {
		t.Fatal(err)
	}
	onB := kB()
	if _, err := onB.OpenSession(bg, "ann@example.com", *p.TemporaryAccessPass); err != nil {
		t.Fatal(err)
	}
	onA := kA()
	onA.SessionToken = onB.SessionToken
	if s, err := onA.GetSession(bg); err != nil || s.UserPrincipalName != "ann@example.com" {
		t.Fatalf("session from B on A: %+v %v", s, err)
	}
	if err := onA.DeleteSessionPass(bg); err != nil {
		t.Fatal(err)
	}
	if _, err := onB.GetSession(bg); err == nil {
		t.Fatal("session outlived its pass on the other instance")
	}

	// Lockout counts failures from both instances.
	lp, _ := adminA.CreatePass(bg, "lou@example.com", api.CreatePassRequest{})
	for i := 0; i < 10; i++ {
		c := kA()
		if i%2 == 1 {
			c = kB()
		}
		c.OpenSession(bg, "lou@example.com", "WrongPass")
	}
	for _, c := range []*api.Client{kA(), kB()} {
		_, err := c.OpenSession(bg, "lou@example.com", *lp.TemporaryAccessPass)
		if ae, ok := err.(*api.Error); !ok || ae.Code != api.CodeTooManyAttempts {
			t.Fatalf("lockout not shared: %v", err)
		}
	}

	// A one-time pass raced from both instances opens one session.
	once := true
	rp, _ := adminB.CreatePass(bg, "rae@example.com", api.CreatePassRequest{IsUsableOnce: &once})
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := kA()
			if i%2 == 1 {
				c = kB()
			}
			_, err := c.OpenSession(bg, "rae@example.com", *rp.TemporaryAccessPass)
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if ae, ok := err.(*api.Error); !ok || (ae.Code != api.CodePassAlreadyUsed && ae.Code != api.CodeTooManyAttempts) {
				// tooManyAttempts: more than the account's round of 10 guesses
				// were in flight at once, which the lockout refuses unchecked.
				t.Errorf("unexpected: %v", err)
			}
		}(i)
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d sessions from one one-time pass across two instances", wins)
	}
	// The audit trail is one trail.
	es, _ := adminB.Audit(bg, api.AuditQuery{Top: 1000})
	if len(es) < 20 {
		t.Fatalf("audit entries: %d", len(es))
	}

	// No secret in the PostgreSQL database either.
	dump, err := exec.Command("pg_dump", "--data-only", db).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	if !bytes.Contains(dump, []byte("rae@example.com")) {
		t.Fatal("pg_dump shows no data; the scan would prove nothing")
	}
	for _, s := range []string{*p.TemporaryAccessPass, *lp.TemporaryAccessPass, *rp.TemporaryAccessPass, "WrongPass", tok, kiosk.Token} {
		if bytes.Contains(dump, []byte(s)) {
			t.Error("a secret is in the PostgreSQL database in clear")
		}
	}
}

func TestServeRefusals(t *testing.T) {
	tapdBin := filepath.Join(bin, "tapd")
	empty := "sqlite://" + filepath.Join(t.TempDir(), "empty.db")
	out, err := exec.Command(tapdBin, "serve", "--db", empty, "--listen", freeAddr(t)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "run `tapd init") {
		t.Fatalf("uninitialised db: %v %s", err, out)
	}
	out, err = exec.Command(tapdBin, "serve", "--db", empty, "--listen", "0.0.0.0:0").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "refusing plain HTTP") {
		t.Fatalf("plain HTTP: %v %s", err, out)
	}
	out, _ = exec.Command(tapdBin, "serve", "--db", "mysql://x", "--listen", freeAddr(t)).CombinedOutput()
	if !strings.Contains(string(out), "unsupported database URL") {
		t.Fatalf("bad URL: %s", out)
	}
	cfg := writeFile(t, "tapd.conf", "db = "+empty+"\nlisten = 127.0.0.1:0\nsesion-limit = 5m\n")
	out, _ = exec.Command(tapdBin, "serve", "--config", cfg).CombinedOutput()
	if !strings.Contains(string(out), `unknown setting "sesion-limit"`) {
		t.Fatalf("config typo: %s", out)
	}
	cmd := exec.Command(tapdBin, "serve", "--listen", freeAddr(t))
	cmd.Env = append(os.Environ(), "TAPD_DB="+empty)
	out, _ = cmd.CombinedOutput()
	if !strings.Contains(string(out), filepath.Base(strings.TrimPrefix(empty, "sqlite://"))) {
		t.Fatalf("TAPD_DB not used: %s", out)
	}
}

// TestTLS serves over TLS on a non-loopback-safe setup and talks to it with
// tapctl --ca-file.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tapd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	db := "sqlite://" + filepath.Join(dir, "tapd.db")
	tok := initDB(t, db)
	tokFile := writeFile(t, "tok", tok)
	addr := freeAddr(t)
	cmd := exec.Command(filepath.Join(bin, "tapd"), "serve", "--db", db, "--listen", addr, "--tls-cert", certPath, "--tls-key", keyPath)
	logs := &testutil.SyncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	url := "https://" + addr
	var out, errOut string
	var code int
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		out, errOut, code = tapctl(t, url, tokFile, "--ca-file", certPath, "policy", "show")
		if code == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code != 0 || !strings.Contains(out, "disabled") {
		t.Fatalf("tapctl over TLS: %d %s %s\n%s", code, out, errOut, logs)
	}
	if _, e, code := tapctl(t, url, tokFile, "policy", "show"); code != 3 || !strings.Contains(e, "certificate") {
		t.Fatalf("untrusted cert must fail: %d %s", code, e)
	}
}

// TestReleaseBinariesHaveNoVirtualKeys guards the promise that only tests
// (and, behind a build tag, the demo) can route libfido2 to a virtual key.
func TestReleaseBinariesHaveNoVirtualKeys(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/tapkiosk/tapkiosk/cmd/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "virtualkey") {
			t.Errorf("a release binary links %s", pkg)
		}
	}
	if !strings.Contains(string(out), "github.com/tapkiosk/tapkiosk/server") {
		t.Fatal("go list shows nothing of ours; the check proves nothing")
	}
}

// TestKeyJourneyWithTapctl registers a key made by real libfido2 (the
// virtual key) against the real tapd binary, checks it, and manages it with
// the real tapctl.
func TestKeyJourneyWithTapctl(t *testing.T) {
	dir := t.TempDir()
	ca, _ := virtualkey.TestCA()
	rootsPath := writeFile(t, "roots.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})))
	db := "sqlite://" + filepath.Join(dir, "tapd.db")
	tok := initDB(t, db)
	tokFile := writeFile(t, "admin.token", tok)
	d := startTapd(t, db, "--rp-id", "tapkiosk.test", "--attestation-roots", rootsPath)
	if !strings.Contains(d.logs.String(), "tapkiosk test attestation root") {
		t.Fatalf("tapd did not say which root it trusts:\n%s", d.logs)
	}
	run := mustTapctl(t, d.url, tokFile)
	run("policy", "set", "--state", "enabled")
	run("user", "add", "kim@example.com", "--name", "Kim")
	if out := run("fido2-policy", "set", "--attestation-enforced=true"); !strings.Contains(out, "isAttestationEnforced  true") {
		t.Fatalf("fido2-policy: %s", out)
	}
	var pass api.TemporaryAccessPassMethod
	json.Unmarshal([]byte(run("tap", "create", "kim@example.com", "--json")), &pass)
	var kiosk api.Kiosk
	json.Unmarshal([]byte(run("kiosk", "add", "lobby", "--json")), &kiosk)

	c, m := keyJourney(t, d.url, kiosk.Token, "kim@example.com", *pass.TemporaryAccessPass)
	if err := c.DeleteSessionPass(bg); err != nil {
		t.Fatal(err)
	}
	out := run("methods", "list", "kim@example.com")
	if !strings.Contains(out, m.ID) || !strings.Contains(out, "fido2") || !strings.Contains(out, "attested") || strings.Contains(out, "temporaryAccessPass") {
		t.Fatalf("methods list: %s", out)
	}
	run("methods", "delete", "kim@example.com", m.ID)
	if out := run("methods", "list", "kim@example.com"); !strings.Contains(out, "has no authentication methods") {
		t.Fatalf("after delete: %s", out)
	}
	audit := run("audit", "--user", "kim@example.com", "--json")
	for _, a := range []string{api.ActionRegisterFIDO2, api.ActionCheckKey, api.ActionDeleteMethod, api.ActionDeletePass} {
		if !strings.Contains(audit, `"`+a+`"`) {
			t.Errorf("audit lacks %s", a)
		}
	}
}

// keyJourney is the kiosk's half of a registration against a tapd whose
// rp id is tapkiosk.test: a virtual key with a PIN, driven by real
// libfido2, signs in with the pass, registers, and passes the key check.
// It returns the signed-in kiosk client and the new key.
func keyJourney(t *testing.T, url, kioskToken, upn, pass string) (*api.Client, api.FIDO2Method) {
	t.Helper()
	k, err := virtualkey.New(virtualkey.Options{TouchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("e2e-%d", time.Now().UnixNano())
	path := hidroute.Plug(name, k)
	t.Cleanup(func() { hidroute.Remove(name) })
	if err := fido.SetPIN(path, "2468"); err != nil {
		t.Fatal(err)
	}
	c := api.NewClient(url, kioskToken)
	if _, err := c.OpenSession(bg, upn, pass); err != nil {
		t.Fatal(err)
	}
	opts, err := c.CreationOptions(bg)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := fido.Register(bg, path, fido.RegisterRequest{Options: opts.PublicKey, Origin: "https://" + opts.PublicKey.RelyingParty.ID, PIN: "2468"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(reg)
	m, err := c.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw, KeyModel: "tapkiosk virtual key"})
	if err != nil {
		t.Fatal(err)
	}
	ao, _ := c.AssertionOptions(bg, m.ID)
	as, err := fido.Assert(bg, path, fido.AssertRequest{Options: ao.PublicKey, Origin: "https://tapkiosk.test", PIN: "2468"})
	if err != nil {
		t.Fatal(err)
	}
	araw, _ := json.Marshal(as)
	if kc, err := c.CheckKey(bg, m.ID, araw); err != nil || !kc.Verified {
		t.Fatalf("key check %+v %v", kc, err)
	}
	return c, m
}
