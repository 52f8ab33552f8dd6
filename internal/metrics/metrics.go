// Package metrics is tapd's Prometheus metrics: a recovery.Observer that
// counts what the service decided, a RoundTripper that times Microsoft
// Graph calls, gauges read from the store at scrape time, and the
// /metrics handler. Metric names start with tapd_; label values come from
// small fixed sets (audit actions and reasons, lock kinds, HTTP codes), so
// no label carries a UPN, a kiosk name or anything else unbounded.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/store"
)

// Counts is what the gauges read from the store when scraped.
type Counts interface {
	CountOpenSessions(ctx context.Context, now time.Time) (int, error)
	CountEvents(ctx context.Context) (pending, dead int, err error)
}

// Metrics holds tapd's collectors in their own registry.
type Metrics struct {
	reg          *prometheus.Registry
	signIns      *prometheus.CounterVec
	lockouts     *prometheus.CounterVec
	ceremonies   *prometheus.CounterVec
	audit        *prometheus.CounterVec
	hashInUse    prometheus.Gauge
	hashCapacity prometheus.Gauge
	hashRefused  prometheus.Counter
	graphCalls   *prometheus.CounterVec
	graphLatency *prometheus.HistogramVec
	deliveries   *prometheus.CounterVec
}

// New makes the collectors; counts (may be nil) backs the session and
// outbox gauges.
func New(counts Counts) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.signIns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tapd_signins_total",
		Help: "Kiosk sign-ins with a pass, by outcome: success, or the audit reason of the refusal (wrongPass, unknownUser, lockedOut, expired, ...)."}, []string{"outcome"})
	m.lockouts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tapd_lockouts_total",
		Help: "Locks started by wrong passes, by what was locked: user, kiosk or address."}, []string{"kind"})
	m.ceremonies = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tapd_ceremonies_total",
		Help: "WebAuthn ceremonies finished, by kind (registration, keyCheck) and outcome (success, or the refusal's reason)."}, []string{"kind", "outcome"})
	m.audit = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tapd_audit_entries_total",
		Help: "Audit entries kept, by action and result."}, []string{"action", "result"})
	m.hashInUse = prometheus.NewGauge(prometheus.GaugeOpts{Name: "tapd_hash_slots_in_use", Help: "Pass checks (Argon2id) admitted now, computing or waiting for a hash runner."})
	m.hashCapacity = prometheus.NewGauge(prometheus.GaugeOpts{Name: "tapd_hash_slots", Help: "Pass checks admitted at once, computing or waiting (--hash-queue)."})
	m.hashRefused = prometheus.NewCounter(prometheus.CounterOpts{Name: "tapd_hash_refused_total",
		Help: "Sign-ins answered 503 at once because every hash slot was taken."})
	m.graphCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tapd_graph_requests_total",
		Help: "HTTP requests to Microsoft Graph and the Entra sign-in endpoint, by host and status code (error: no answer)."}, []string{"host", "code"})
	m.graphLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tapd_graph_request_duration_seconds",
		Help: "Time to the answer's headers of each request to Graph or Entra sign-in, by host.", Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, []string{"host"})
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tapd_webhook_deliveries_total",
		Help: "Webhook delivery attempts by result: delivered, failed (to be retried) or dead (out of attempts)."}, []string{"result"})
	for _, c := range []prometheus.Collector{m.signIns, m.lockouts, m.ceremonies, m.audit, m.hashInUse, m.hashCapacity, m.hashRefused,
		m.graphCalls, m.graphLatency, m.deliveries, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	if counts != nil {
		f(storeGauge("tapd_open_sessions", "Kiosk sessions open now (not expired), from the database: every instance's.",
			func(ctx context.Context) (int, error) { return counts.CountOpenSessions(ctx, time.Now()) }))
		f(storeGauge("tapd_webhook_queue", "Notifications waiting for delivery, from the database.",
			func(ctx context.Context) (int, error) { p, _, err := counts.CountEvents(ctx); return p, err }))
	}
	// The outcomes people look for first exist at zero from the start, so
	// a rate() has a series before the first event.
	m.signIns.WithLabelValues("success")
	m.signIns.WithLabelValues("wrongPass")
	m.signIns.WithLabelValues("lockedOut")
	m.ceremonies.WithLabelValues("registration", "success")
	m.ceremonies.WithLabelValues("keyCheck", "success")
	for _, k := range []string{"user", "kiosk", "address"} {
		m.lockouts.WithLabelValues(k)
	}
	return m
}

// storeGauge is a gauge read from the store at each scrape, within 5 s; a
// failed read shows as -1, so a scrape never fails for the database.
func storeGauge(name, help string, read func(context.Context) (int, error)) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, err := read(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Audited counts an audit entry, and the sign-in or ceremony it records.
func (m *Metrics) Audited(e store.AuditEntry) {
	m.audit.WithLabelValues(e.Action, string(e.Result)).Inc()
	outcome := "success"
	if e.Result != store.AuditSuccess {
		outcome = e.Reason
		if outcome == "" {
			outcome = string(e.Result)
		}
	}
	switch e.Action {
	case api.ActionSignIn, api.ActionSessionDenied:
		m.signIns.WithLabelValues(outcome).Inc()
	case api.ActionRegisterFIDO2:
		m.ceremonies.WithLabelValues("registration", outcome).Inc()
	case api.ActionCheckKey:
		m.ceremonies.WithLabelValues("keyCheck", outcome).Inc()
	}
}

// Locked counts a lock started.
func (m *Metrics) Locked(kind string, _ time.Duration) { m.lockouts.WithLabelValues(kind).Inc() }

// HashSlots sets the hash queue's gauges and counts refusals.
func (m *Metrics) HashSlots(inUse, capacity int, refused bool) {
	m.hashInUse.Set(float64(inUse))
	m.hashCapacity.Set(float64(capacity))
	if refused {
		m.hashRefused.Inc()
	}
}

// SetHashCapacity sets the slot count before the first sign-in.
func (m *Metrics) SetHashCapacity(n int) { m.hashCapacity.Set(float64(n)) }

// Delivery counts one webhook attempt's result.
func (m *Metrics) Delivery(result string) { m.deliveries.WithLabelValues(result).Inc() }

// Transport wraps next (nil: http.DefaultTransport) to count and time
// each request, for the Graph client and Entra sign-in.
func (m *Metrics) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := next.RoundTrip(r)
		m.graphLatency.WithLabelValues(r.URL.Host).Observe(time.Since(start).Seconds())
		code := "error"
		if err == nil {
			code = strconv.Itoa(resp.StatusCode)
		}
		m.graphCalls.WithLabelValues(r.URL.Host, code).Inc()
		return resp, err
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
