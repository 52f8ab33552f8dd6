package webhook

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/store/storetest"
)

// deliverOnce queues one event, runs one attempt against rawURL and
// returns the event as the outbox keeps it (none once delivered), the
// attempt's result and the worker's log.
func deliverOnce(t *testing.T, rawURL string) (store.OutboxEvent, []string, string) {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, nil, "sqlite")
	var results []string
	var logs bytes.Buffer
	w, err := New(Config{Store: st, URL: rawURL, Secret: []byte("s"), Timeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Result: func(r string) { results = append(results, r) }})
	if err != nil {
		t.Fatal(err)
	}
	st.EnqueueEvent(ctx, store.OutboxEvent{ID: "e1", Kind: "passUsed", Payload: []byte(`{}`), CreatedAt: time.Now()})
	if n, err := w.DeliverDue(ctx); n != 1 || err != nil {
		t.Fatalf("DeliverDue: %d, %v", n, err)
	}
	evs, err := st.ListEvents(ctx)
	if err != nil || len(evs) > 1 {
		t.Fatalf("outbox: %v, %v", evs, err)
	}
	var ev store.OutboxEvent
	if len(evs) == 1 {
		ev = evs[0]
	}
	return ev, results, logs.String()
}

// TestRedirectNotFollowed: a receiver answering 307 to another receiver
// (plain HTTP, another loopback port) gets a failed delivery with the
// reason in the outbox; the other receiver sees nothing, so neither the
// body nor its signature and Idempotency-Key travel on.
func TestRedirectNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://someone:hunter2@"+strings.TrimPrefix(other.URL, "http://")+"/steal", http.StatusTemporaryRedirect)
	}))
	defer first.Close()
	ev, results, logs := deliverOnce(t, first.URL+"/hook")
	if elsewhere.Load() != 0 {
		t.Fatalf("the redirect was followed: the other receiver got %d request(s)", elsewhere.Load())
	}
	if len(results) != 1 || results[0] != "failed" || ev.ID != "e1" || ev.Dead {
		t.Fatalf("results %v, event %+v", results, ev)
	}
	for _, want := range []string{"307", "follows no redirect", "/steal"} {
		if !strings.Contains(ev.LastError, want) {
			t.Errorf("outbox reason %q lacks %q", ev.LastError, want)
		}
	}
	if strings.Contains(ev.LastError+logs, "hunter2") || strings.Contains(ev.LastError+logs, "someone") {
		t.Errorf("the Location's userinfo was kept: %q / %s", ev.LastError, logs)
	}
}

// TestUserinfoRedacted: a password (and user name) in the URL appear in
// no error, outbox reason or log line; the receiver still gets them as
// Basic authentication.
func TestUserinfoRedacted(t *testing.T) {
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		auth.Store(u + ":" + p)
		http.Error(w, "no", http.StatusBadGateway)
	}))
	defer srv.Close()
	withUser := strings.Replace(srv.URL, "http://", "http://hookuser:hookpass@", 1)
	ev, _, logs := deliverOnce(t, withUser)
	if auth.Load() != "hookuser:hookpass" {
		t.Fatalf("receiver saw basic auth %v", auth.Load())
	}
	if !strings.Contains(ev.LastError, "502") {
		t.Fatalf("reason %q", ev.LastError)
	}

	// A receiver that is not there: the client's own error names the URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://hookuser:hookpass@" + ln.Addr().String() + "/x"
	ln.Close()
	ev2, _, logs2 := deliverOnce(t, closed)
	if !strings.Contains(ev2.LastError, "redacted@") {
		t.Errorf("reason %q does not name the redacted URL", ev2.LastError)
	}
	for _, s := range []string{ev.LastError, logs, ev2.LastError, logs2} {
		if strings.Contains(s, "hookpass") || strings.Contains(s, "hookuser") {
			t.Errorf("userinfo printed: %s", s)
		}
	}
	w, err := New(Config{URL: closed})
	if err != nil || strings.Contains(w.Where(), "hook") || !strings.Contains(w.Where(), "redacted@") {
		t.Errorf("Where %q, %v", w.Where(), err)
	}
	if _, err := New(Config{URL: "http://hookuser:hookpass@hooks.example.com/"}); err == nil || strings.Contains(err.Error(), "hookpass") {
		t.Errorf("New with plain HTTP off loopback: %v", err)
	}
	if got := Redact("https://a b:c@x/%zz"); strings.Contains(got, "c@") {
		t.Errorf("Redact of a bad URL: %q", got)
	}
}

// TestLocalhostDials: a plain-HTTP URL naming localhost is delivered, the
// name resolved and the loopback address it gave allowed at connect time.
func TestLocalhostDials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	ev, results, _ := deliverOnce(t, "http://localhost:"+u.Port()+"/hook")
	if len(results) != 1 || results[0] != "delivered" || ev.ID != "" {
		t.Fatalf("results %v, event %+v", results, ev)
	}
}

// TestDialControl: the connect-time check refuses a non-loopback address
// for plain HTTP, whatever name led to it. The addresses are handed to the
// check directly; nothing is dialled.
func TestDialControl(t *testing.T) {
	plain, tls := dialControl("http"), dialControl("https")
	for _, addr := range []string{"192.0.2.10:80", "[2001:db8::1]:80", "0.0.0.0:80", "10.0.0.1:8080", "169.254.169.254:80"} {
		if err := plain("tcp", addr, nil); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("plain HTTP to %s: %v", addr, err)
		}
		if err := tls("tcp", addr, nil); err != nil {
			t.Errorf("https to %s refused: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:80", "127.3.4.5:9", "[::1]:80", "[::ffff:127.0.0.1]:80"} {
		if err := plain("tcp", addr, nil); err != nil {
			t.Errorf("plain HTTP to %s refused: %v", addr, err)
		}
	}
}
