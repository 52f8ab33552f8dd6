package console_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/console"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/directory/local"
	"github.com/tapkiosk/tapkiosk/internal/testutil"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/store/storetest"
	"github.com/tapkiosk/tapkiosk/tap"
)

// clock is the console's settable time, for the session limits.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// checklist is the organisation's verification checklist in the tests.
var checklist = []string{"Photo ID seen", "Called back on the number in HR's records"}

// world is one console over a real SQLite store and the local directory,
// served over TLS for the host name localhost, and a Chromium that trusts
// its certificate.
type world struct {
	t      *testing.T
	st     *store.SQL
	svc    *recovery.Service
	clock  *clock
	origin string
	logs   *testutil.SyncBuffer
	spki   string
	root   *recovery.Caller
}

var cheapArgon = tap.Argon2Params{Memory: 64, Time: 1, Threads: 1}

// newDir builds the console's directory over its store and clock; nil
// is tapd's own (local) directory.
type newDir func(st store.Store, rp *webauthn.WebAuthn, now func() time.Time, logger *slog.Logger) directory.Directory

func newWorld(t *testing.T) *world { t.Helper(); return newWorldWith(t, nil) }

func newWorldWith(t *testing.T, mkDir newDir) *world {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := fmt.Sprintf("https://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	st := storetest.Open(t, nil, "sqlite")
	clk := &clock{t: time.Now().UTC().Truncate(time.Millisecond)}
	logs := &testutil.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rp, err := recovery.NewRelyingParty("kiosk.example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	crp, err := recovery.NewConsoleRelyingParty(origin, "")
	if err != nil {
		t.Fatal(err)
	}
	var dir directory.Directory = local.New(local.Config{Store: st, RP: rp, Argon2: cheapArgon, Now: clk.Now})
	if mkDir != nil {
		dir = mkDir(st, rp, clk.Now, logger)
	}
	svc, err := recovery.New(recovery.Config{Store: st, Directory: dir, RP: rp, Logger: logger, Now: clk.Now, Argon2: cheapArgon,
		ConsoleRP: crp, Checklist: checklist})
	if err != nil {
		t.Fatal(err)
	}
	c, err := console.New(console.Config{Service: svc, Logger: logger, Origin: origin,
		KioskInstructions: "Go to the kiosk in the library, ground floor. Bring your new security key."})
	if err != nil {
		t.Fatal(err)
	}
	cert, spki := localhostCert(t)
	hs := httptest.NewUnstartedServer(c.Handler())
	hs.Listener.Close()
	hs.Listener = ln
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	hs.StartTLS()
	t.Cleanup(hs.Close)

	w := &world{t: t, st: st, svc: svc, clock: clk, origin: origin, logs: logs,
		root: &recovery.Caller{RequestID: "test", Log: logger, Admin: &store.AdminToken{ID: "root", Name: "root", Role: api.RoleGlobalAdministrator}}}
	w.spki = spki
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console log:\n%s", logs.String())
		}
	})
	return w
}

// localhostCert is a certificate for localhost; Chromium is told to trust
// its key (--ignore-certificate-errors-spki-list), so the page is a secure
// context without a certificate error, as WebAuthn requires.
func localhostCert(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	cert, _ := testutil.LocalhostTLS(t)
	sum := sha256.Sum256(cert.Leaf.RawSubjectPublicKeyInfo)
	return cert, base64.StdEncoding.EncodeToString(sum[:])
}

// startChromium starts Debian's chromium headless with a fresh profile.
// localhost resolves to loopback only (the host resolver rule), so no
// request leaves the machine.
func startChromium(t *testing.T, spki string) context.Context {
	t.Helper()
	path := os.Getenv("TAPKIOSK_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("chromium is needed for the console's browser tests (make deps installs it): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("host-resolver-rules", "MAP localhost 127.0.0.1, MAP * ~NOTFOUND"),
		chromedp.Flag("ignore-certificate-errors-spki-list", spki),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900),
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Run(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return browser
}

// tab is one Chromium (its own profile and cookies) with its own virtual
// authenticator: one staff member's browser and passkey.
type tab struct {
	w    *world
	ctx  context.Context
	auth cdpwebauthn.AuthenticatorID
}

func (w *world) newTab() *tab {
	w.t.Helper()
	b := &tab{w: w, ctx: startChromium(w.t, w.spki)}
	b.run(cdpwebauthn.Enable().WithEnableUI(false))
	b.newAuthenticator()
	return b
}

// newAuthenticator puts a fresh virtual authenticator in the tab, in place
// of the one it had: the staff member's other device.
func (b *tab) newAuthenticator() {
	b.w.t.Helper()
	b.run(chromedp.ActionFunc(func(ctx context.Context) error {
		if b.auth != "" {
			if err := cdpwebauthn.RemoveVirtualAuthenticator(b.auth).Do(ctx); err != nil {
				return err
			}
		}
		id, err := cdpwebauthn.AddVirtualAuthenticator(&cdpwebauthn.VirtualAuthenticatorOptions{
			Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21, Transport: cdpwebauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}).Do(ctx)
		b.auth = id
		return err
	}))
}

func (b *tab) run(actions ...chromedp.Action) {
	b.w.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.w.t.Fatalf("browser: %v", err)
	}
}

// open goes to a console path and waits for its page.
func (b *tab) open(path string) {
	b.w.t.Helper()
	b.run(chromedp.Navigate(b.w.origin+path), chromedp.WaitReady("main"))
}

// text is the page's text, or "" while a page is loading.
func (b *tab) text() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	var s string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.readyState == "complete" && document.body ? document.body.innerText : ""`, &s)); err != nil {
		return ""
	}
	return s
}

// waitText waits until the page holds want, and returns its text.
func (b *tab) waitText(want string) string {
	b.w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := b.text()
		if strings.Contains(s, want) {
			return s
		}
		if time.Now().After(deadline) {
			b.w.t.Fatalf("the page never showed %q; it shows:\n%s", want, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// click clicks an element; the caller waits for what should follow.
func (b *tab) click(sel string) {
	b.w.t.Helper()
	b.run(chromedp.Click(sel, chromedp.ByQuery))
}

// axe runs axe-core in the page and fails on any violation. axe-core
// comes from npm (make deps fetches it into a cache outside the repo).
func (b *tab) axe(name string) {
	b.w.t.Helper()
	src, err := os.ReadFile(axePath())
	if err != nil {
		b.w.t.Fatalf("axe-core is needed (make deps fetches it with npm): %v", err)
	}
	var violations []struct {
		ID    string `json:"id"`
		Help  string `json:"help"`
		Nodes []struct {
			Target []any `json:"target"`
		} `json:"nodes"`
	}
	var raw json.RawMessage
	b.run(chromedp.Evaluate(string(src), nil),
		chromedp.Evaluate(`axe.run(document).then(r => JSON.stringify(r.violations))`, &raw,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || json.Unmarshal([]byte(s), &violations) != nil {
		b.w.t.Fatalf("axe on %s: unreadable answer %s", name, raw)
	}
	for _, v := range violations {
		b.w.t.Errorf("axe on %s: %s (%s) at %v", name, v.ID, v.Help, v.Nodes)
	}
	b.screenshot(name)
}

func axePath() string {
	if p := os.Getenv("TAPKIOSK_AXE"); p != "" {
		return p
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "tapkiosk", "axe", "node_modules", "axe-core", "axe.min.js")
}

// screenshot saves the page as docs/screens/console-NAME.png when
// TAPKIOSK_SCREENS names the folder (scripts/console-screenshots.sh).
func (b *tab) screenshot(name string) {
	dir := os.Getenv("TAPKIOSK_SCREENS")
	if dir == "" {
		return
	}
	var png []byte
	b.run(chromedp.FullScreenshot(&png, 100)) // 100 is PNG; less is JPEG
	if err := os.WriteFile(filepath.Join(dir, "console-"+name+".png"), png, 0o644); err != nil {
		b.w.t.Fatal(err)
	}
}

// printScreenshot saves the page as printed (print CSS) when screenshots
// are asked for, and returns what shows in print.
func (b *tab) printView(name string) string {
	b.w.t.Helper()
	var s string
	b.run(emulation.SetEmulatedMedia().WithMedia("print"),
		chromedp.Evaluate(`Array.from(document.querySelectorAll("body *")).filter(e => e.checkVisibility() && e.children.length == 0).map(e => e.textContent).join("\n")`, &s))
	b.screenshot(name)
	b.run(emulation.SetEmulatedMedia().WithMedia(""))
	return s
}
