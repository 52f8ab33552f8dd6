package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/internal/testutil"
)

// consoleCert writes a test CA and a certificate for localhost signed by
// it; it returns the certificate and key files and a client trusting the
// CA that reaches localhost on 127.0.0.1 only.
func consoleCert(t *testing.T) (certFile, keyFile string, client *http.Client) {
	t.Helper()
	dir := t.TempDir()
	cert, ca := testutil.LocalhostTLS(t)
	der, key := cert.Certificate[0], cert.PrivateKey.(*ecdsa.PrivateKey)
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "console.pem"), filepath.Join(dir, "console.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	dial := &net.Dialer{Timeout: 5 * time.Second}
	client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			return dial.DialContext(ctx, "tcp", "127.0.0.1:"+port) // localhost is loopback, nothing else
		}}}
	return certFile, keyFile, client
}

// TestHelpdeskConsoleListener: tapd serves the console on its own TLS
// listener (not on the API's), tapctl staff invite prints a one-time link
// to it, and the link opens the enrolment page for that staff member.
// (The browser walk is console's TestConsoleWalk.)
func TestHelpdeskConsoleListener(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite://" + filepath.Join(dir, "tapd.db")
	tokFile := writeFile(t, "tok", initDB(t, db))
	certFile, keyFile, client := consoleCert(t)
	consoleAddr := freeAddr(t)
	_, port, _ := net.SplitHostPort(consoleAddr)
	origin := "https://localhost:" + port
	d := startTapd(t, db, "--console-listen", consoleAddr, "--console-url", origin,
		"--console-tls-cert", certFile, "--console-tls-key", keyFile, "--console-checklist", "Photo ID seen; Called back")
	want := tapctlWant(t, d.url, tokFile)

	out := want(0, "staff", "invite", "Ana Help", "--role", "globalAdministrator")
	link := regexp.MustCompile(`https://\S+`).FindString(out)
	if !strings.HasPrefix(link, origin+"/console/enrol?t=") {
		t.Fatalf("tapctl staff invite printed no link to the console:\n%s", out)
	}
	if strings.Contains(d.logs.String(), strings.TrimPrefix(link, origin+"/console/enrol?t=")) {
		t.Fatal("the invitation's token reached tapd's log")
	}
	if e := want(1, "staff", "invite", "ana help", "--role", "reader"); !strings.Contains(e, "already exists") {
		t.Fatalf("the same name twice: %s", e)
	}
	if e := want(1, "staff", "invite", "Bob", "--role", "wizard"); !strings.Contains(e, "role must be one of") {
		t.Fatalf("an unknown role: %s", e)
	}

	get := func(url string) (int, http.Header, string) {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	code, h, body := get(link)
	if code != 200 || !strings.Contains(body, "Ana Help") || !strings.Contains(body, "globalAdministrator") {
		t.Fatalf("enrolment page: %d\n%s", code, body)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
	if strings.Contains(body, "<script>") || regexp.MustCompile(`\son[a-z]+=`).MatchString(body) {
		t.Fatalf("inline script on the page:\n%s", body)
	}
	if code, _, body := get(origin + "/console/"); code != http.StatusUnauthorized || !strings.Contains(body, "Sign in with a passkey") {
		t.Fatalf("the console without a session: %d\n%s", code, body)
	}
	// The API's listener serves no console, and the console's no API.
	resp, err := http.Get(d.url + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the API listener answers /console/ with %d", resp.StatusCode)
	}
	if code, _, _ := get(origin + "/v1/policies/temporaryAccessPass"); code != http.StatusNotFound {
		t.Fatalf("the console listener answers the API with %d", code)
	}
}

// TestStaffInviteWithoutConsole: without --console-listen there is
// nobody to invite; tapctl says how to start the console.
func TestStaffInviteWithoutConsole(t *testing.T) {
	t.Parallel()
	db := "sqlite://" + filepath.Join(t.TempDir(), "tapd.db")
	tokFile := writeFile(t, "tok", initDB(t, db))
	d := startTapd(t, db)
	if e := tapctlWant(t, d.url, tokFile)(1, "staff", "invite", "Ana", "--role", "reader"); !strings.Contains(e, "--console-listen") {
		t.Fatalf("staff invite without a console: %s", e)
	}
}
