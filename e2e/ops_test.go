package e2e

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
)

const hookSecret = "e2e-webhook-secret-0123456789abcdef"

// delivery is one request the webhook receiver got.
type delivery struct {
	n       api.Notification
	idemKey string
	attempt string
}

// receiver is a webhook endpoint that checks every signature.
type receiver struct {
	t  *testing.T
	mu sync.Mutex
	// got holds verified deliveries; bad counts requests that failed the check.
	got []delivery
	bad int
	// hold, when set, is called before answering: it may block, and when
	// it says so the request is dropped unrecorded (its sender died).
	hold func(r *http.Request) (drop bool)
	srv  *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		hold := rc.hold
		rc.mu.Unlock()
		if hold != nil && hold(r) {
			return
		}
		sig := r.Header.Get("Tapkiosk-Signature")
		ts, mac, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",v1=")
		h := hmac.New(sha256.New, []byte(hookSecret))
		h.Write([]byte(ts + "."))
		h.Write(body)
		var n api.Notification
		rc.mu.Lock()
		defer rc.mu.Unlock()
		sec, _ := strconv.ParseInt(ts, 10, 64)
		if !hmac.Equal([]byte(mac), []byte(hex.EncodeToString(h.Sum(nil)))) || json.Unmarshal(body, &n) != nil ||
			time.Since(time.Unix(sec, 0)).Abs() > time.Minute || r.Header.Get("Idempotency-Key") != n.ID ||
			r.Header.Get("Tapkiosk-Event") != n.Type || r.Header.Get("Content-Type") != "application/json" {
			rc.bad++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		rc.got = append(rc.got, delivery{n: n, idemKey: r.Header.Get("Idempotency-Key"), attempt: r.Header.Get("Tapkiosk-Attempt")})
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// wait waits until the receiver holds a delivery of each type.
func (rc *receiver) wait(types ...string) map[string]delivery {
	rc.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rc.mu.Lock()
		by := map[string]delivery{}
		for _, d := range rc.got {
			by[d.n.Type] = d
		}
		rc.mu.Unlock()
		missing := ""
		for _, ty := range types {
			if _, ok := by[ty]; !ok {
				missing = ty
			}
		}
		if missing == "" {
			return by
		}
		if time.Now().After(deadline) {
			rc.t.Fatalf("no %s notification arrived; got %+v", missing, rc.got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metric reads one sample from a Prometheus text page.
func metric(t *testing.T, page, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s in /metrics", series)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestOpsJourney runs the real tapd with metrics, the audit export and a
// webhook, walks a journey (sign-in, a key registered and checked through
// real libfido2, a method removed with tapctl, a lockout), then checks each
// from the outside: signed notifications at the receiver, counters on
// /metrics, and one JSON line per audit entry with its request id.
func TestOpsJourney(t *testing.T) {
	dir := t.TempDir()
	ca, _ := virtualkey.TestCA()
	rootsPath := writeFile(t, "roots.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})))
	db := "sqlite://" + filepath.Join(dir, "tapd.db")
	tok := initDB(t, db)
	tokFile := writeFile(t, "admin.token", tok)
	secretFile := writeFile(t, "hook.secret", hookSecret+"\n")
	auditPath := filepath.Join(dir, "audit.jsonl")
	rc := newReceiver(t)
	metricsAddr := freeAddr(t)
	d := startTapd(t, db, "--rp-id", "tapkiosk.test", "--attestation-roots", rootsPath, "--metrics-listen", metricsAddr,
		"--audit-log", auditPath, "--webhook-url", rc.srv.URL+"/hook", "--webhook-secret-file", secretFile,
		"--hash-runners", "2") // so the admission queue is 2 x 40 whatever the CPUs
	run := mustTapctl(t, d.url, tokFile)
	run("policy", "set", "--state", "enabled")
	run("user", "add", "kim@example.com", "--name", "Kim")
	run("user", "add", "lou@example.com", "--name", "Lou")
	var pass api.TemporaryAccessPassMethod
	json.Unmarshal([]byte(run("tap", "create", "kim@example.com", "--json")), &pass)
	run("tap", "create", "lou@example.com")
	var kiosk api.Kiosk
	json.Unmarshal([]byte(run("kiosk", "add", "lobby", "--json")), &kiosk)

	_, m := keyJourney(t, d.url, kiosk.Token, "kim@example.com", *pass.TemporaryAccessPass)
	run("methods", "delete", "kim@example.com", m.ID)
	for range 10 {
		api.NewClient(d.url, kiosk.Token).OpenSession(bg, "lou@example.com", "WrongPass99")
	}

	// The notifications, signed, each once so far.
	by := rc.wait(api.NotifyPassUsed, api.NotifyKeyRegistered, api.NotifyMethodRemoved, api.NotifyLockout)
	if n := by[api.NotifyKeyRegistered].n; n.UserPrincipalName != "kim@example.com" || n.Details["methodId"] != m.ID || n.Actor.Name != "lobby" {
		t.Errorf("keyRegistered: %+v", n)
	}
	if n := by[api.NotifyLockout].n; n.UserPrincipalName != "lou@example.com" || n.Details["lockStarted"] != "user" {
		t.Errorf("lockout: %+v", n)
	}
	if n := by[api.NotifyMethodRemoved].n; n.Actor.Type != "admin" || n.Details["methodId"] != m.ID {
		t.Errorf("methodRemoved: %+v", n)
	}
	rc.mu.Lock()
	if rc.bad != 0 || len(rc.got) != 4 {
		t.Errorf("%d bad deliveries, %d good (want 4): %+v", rc.bad, len(rc.got), rc.got)
	}
	rc.mu.Unlock()

	// The metrics, scraped from the real tapd's separate listener.
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	pageB, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(pageB)
	for series, want := range map[string]float64{
		`tapd_signins_total{outcome="success"}`:                            1,
		`tapd_signins_total{outcome="wrongPass"}`:                          10,
		`tapd_lockouts_total{kind="user"}`:                                 1,
		`tapd_ceremonies_total{kind="registration",outcome="success"}`:     1,
		`tapd_ceremonies_total{kind="keyCheck",outcome="success"}`:         1,
		`tapd_open_sessions`:                                               1,
		`tapd_hash_slots`:                                                  80,
		`tapd_hash_slots_in_use`:                                           0,
		`tapd_webhook_deliveries_total{result="delivered"}`:                4,
		`tapd_webhook_queue`:                                               0,
		`tapd_audit_entries_total{action="deleteMethod",result="success"}`: 1,
	} {
		if got := metric(t, page, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if strings.Contains(page, "kim@example.com") || strings.Contains(page, "lobby") {
		t.Error("a UPN or kiosk name is a metric label")
	}
	// The API's listener does not serve them.
	if r, err := http.Get(d.url + "/metrics"); err == nil {
		r.Body.Close()
		if r.StatusCode == 200 {
			t.Error("/metrics is served on the API address too")
		}
	}

	// The audit export: a line per entry, with request ids, and the same
	// entries as the database's trail.
	d.stop(t)
	f, err := os.Open(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, _ := f.Stat(); fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v", fi.Mode().Perm())
	}
	lines := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct {
			Msg string
			api.AuditEntry
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Msg != "audit" || e.RequestID == "" || e.Action == "" {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		lines[e.Action+"/"+e.Result]++
	}
	for _, want := range []string{"signIn/success", "registerFido2/success", "checkKey/success", "deleteMethod/success", "createPass/success"} {
		if lines[want] != 1 && !(want == "createPass/success" && lines[want] == 2) {
			t.Errorf("audit export has %d %s lines", lines[want], want)
		}
	}
	if lines["sessionDenied/failure"] != 10 {
		t.Errorf("audit export has %d sessionDenied lines, want 10", lines["sessionDenied/failure"])
	}
	if strings.Contains(d.logs.String(), hookSecret) {
		t.Error("the webhook secret is in tapd's log")
	}
	if raw, _ := os.ReadFile(auditPath); strings.Contains(string(raw), *pass.TemporaryAccessPass) || strings.Contains(string(raw), "WrongPass99") {
		t.Error("a pass is in the audit export")
	}
}

// TestWebhookSurvivesKillNine: tapd is killed (SIGKILL) while the receiver
// holds its delivery; after a restart the event arrives, with the same
// idempotency key, at least once.
func TestWebhookSurvivesKillNine(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite://" + filepath.Join(dir, "tapd.db")
	tok := initDB(t, db)
	secretFile := writeFile(t, "hook.secret", hookSecret)
	rc := newReceiver(t)
	inFlight := make(chan string, 1)
	first := true
	rc.hold = func(r *http.Request) bool {
		rc.mu.Lock()
		isFirst := first
		first = false
		rc.mu.Unlock()
		if isFirst {
			inFlight <- r.Header.Get("Idempotency-Key")
			<-r.Context().Done() // until tapd dies
		}
		return isFirst
	}
	args := []string{"--webhook-url", rc.srv.URL, "--webhook-secret-file", secretFile, "--webhook-timeout", "1s"}
	d := startTapd(t, db, args...)
	admin := api.NewClient(d.url, tok)
	on := "enabled"
	admin.UpdatePolicy(bg, api.PolicyPatch{State: &on})
	admin.CreateUser(bg, api.User{UserPrincipalName: "ada@example.com", DisplayName: "Ada"})
	p, err := admin.CreatePass(bg, "ada@example.com", api.CreatePassRequest{})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := admin.CreateKiosk(bg, "lobby")
	if _, err := api.NewClient(d.url, k.Token).OpenSession(bg, "ada@example.com", *p.TemporaryAccessPass); err != nil {
		t.Fatal(err)
	}
	var key string
	select {
	case key = <-inFlight:
	case <-time.After(20 * time.Second):
		t.Fatalf("no delivery began\n%s", d.logs)
	}
	d.cmd.Process.Kill()
	<-d.done

	startTapd(t, db, args...)
	got := rc.wait(api.NotifyPassUsed)[api.NotifyPassUsed]
	if got.idemKey != key || got.n.ID != key || got.attempt != "2" || got.n.UserPrincipalName != "ada@example.com" {
		t.Fatalf("after the restart: %+v, want key %s on attempt 2", got, key)
	}
}
