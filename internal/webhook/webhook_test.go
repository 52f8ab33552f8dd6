package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/store/storetest"
)

// TestRetriesThenDead: a failing receiver gets the event again after the
// backoff, with the attempt counted, until the last attempt leaves it dead.
func TestRetriesThenDead(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, nil, "sqlite")
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get(HeaderAttempt) != "1" && r.Header.Get(HeaderAttempt) != "2" && r.Header.Get(HeaderAttempt) != "3" {
			t.Errorf("attempt header %q", r.Header.Get(HeaderAttempt))
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var results []string
	w, err := New(Config{Store: st, URL: srv.URL, Secret: []byte("s"), MaxAttempts: 3, MinBackoff: time.Minute, MaxBackoff: time.Hour,
		Now: func() time.Time { return now }, Result: func(r string) { results = append(results, r) }})
	if err != nil {
		t.Fatal(err)
	}
	st.EnqueueEvent(ctx, store.OutboxEvent{ID: "e1", Kind: "passUsed", Payload: []byte(`{}`), CreatedAt: now})
	for i, step := range []time.Duration{0, 30 * time.Second, 80 * time.Second, 10 * time.Minute, 10 * time.Minute} {
		now = now.Add(step)
		if _, err := w.DeliverDue(ctx); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	// Attempts at 0 s, 110 s (the first wait is 1 min ±20 %) and 710 s; then dead.
	if calls.Load() != 3 || strings.Join(results, ",") != "failed,failed,dead" {
		t.Fatalf("%d calls, results %v", calls.Load(), results)
	}
	evs, _ := st.ListEvents(ctx)
	if len(evs) != 1 || !evs[0].Dead || !strings.Contains(evs[0].LastError, "503") {
		t.Fatalf("after the last attempt: %+v", evs)
	}
}

// TestSign is HMAC-SHA256 over "<unix>.<body>", as receivers recompute it.
func TestSign(t *testing.T) {
	got := Sign([]byte("key"), []byte(`{"a":1}`), time.Unix(1700000000, 0))
	// echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
	if got != "t=1700000000,v1=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03" {
		t.Fatalf("signature %s", got)
	}
}
