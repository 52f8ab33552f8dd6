package metrics

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/store/storetest"
)

// scrape is the /metrics page as Prometheus reads it.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// TestStoreGauges: the session and outbox gauges read the database at
// each scrape, and show -1, not a failed scrape, when it cannot answer.
func TestStoreGauges(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, nil, "sqlite")
	m := New(st)
	page := scrape(t, m)
	for _, want := range []string{"\ntapd_open_sessions 0\n", "\ntapd_webhook_queue 0\n"} {
		if !strings.Contains(page, want) {
			t.Errorf("fresh store: no %q in\n%s", strings.TrimSpace(want), page)
		}
	}
	if err := st.EnqueueEvent(ctx, store.OutboxEvent{ID: "e1", Kind: "passUsed", Payload: []byte(`{}`), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if page := scrape(t, m); !strings.Contains(page, "\ntapd_webhook_queue 1\n") {
		t.Errorf("one event queued:\n%s", page)
	}
	st.Close()
	page = scrape(t, m)
	for _, want := range []string{"\ntapd_open_sessions -1\n", "\ntapd_webhook_queue -1\n"} {
		if !strings.Contains(page, want) {
			t.Errorf("closed store: no %q in\n%s", strings.TrimSpace(want), page)
		}
	}
}
