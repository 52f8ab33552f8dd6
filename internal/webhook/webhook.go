// Package webhook delivers tapd's notifications (store.OutboxEvent) to a
// webhook: JSON, signed with HMAC-SHA256 over a shared secret, retried
// with backoff, at least once. Each event is leased from the store before
// its attempt, so a tapd killed mid-delivery, or one of several instances,
// loses none and sends none twice within a lease; the receiver drops the
// repeats a crash can cause by the Idempotency-Key header (the event id).
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
)

// Store is what the worker needs of the outbox.
type Store interface {
	ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxEvent, error)
	EventDelivered(ctx context.Context, id string) error
	EventFailed(ctx context.Context, id string, next time.Time, lastError string, dead bool) error
}

// Headers of a delivery.
const (
	HeaderSignature = "Tapkiosk-Signature" // t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
	HeaderEvent     = "Tapkiosk-Event"     // the notification's type
	HeaderAttempt   = "Tapkiosk-Attempt"   // 1 for the first attempt
	HeaderIdemKey   = "Idempotency-Key"    // the event id, the same on every attempt
)

// Config is the worker's settings. Zero durations take the defaults.
type Config struct {
	Store Store
	// URL is where every notification goes, under the rule of CheckURL.
	URL    string
	Secret []byte
	// Timeout bounds one attempt (10 s); the lease is twice it.
	Timeout time.Duration
	// Poll is how often the outbox is read when it was empty (1 s).
	Poll time.Duration
	// Backoff: MinBackoff after the first failure, doubling to MaxBackoff
	// (5 s to 1 h), ±20 %. After MaxAttempts (50: about two days) an event
	// is dead, kept in the outbox and logged.
	MinBackoff, MaxBackoff time.Duration
	MaxAttempts            int
	Logger                 *slog.Logger
	Now                    func() time.Time
	// Result hears each attempt's result: delivered, failed or dead.
	Result func(result string)
}

// Worker delivers the outbox.
type Worker struct {
	cfg  Config
	http *http.Client
	// where is the URL fit for logs and the outbox (Redact).
	where string
}

// New fills the defaults; a URL that CheckURL refuses is an error.
func New(cfg Config) (*Worker, error) {
	u, err := CheckURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("webhook URL %s: %w", Redact(cfg.URL), err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 50
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Result == nil {
		cfg.Result = func(string) {}
	}
	return &Worker{cfg: cfg, http: client(u, cfg.Timeout), where: Redact(cfg.URL)}, nil
}

// Where is the URL notifications go to, with any userinfo redacted.
func (w *Worker) Where() string { return w.where }

// Sign is the signature header's value for body sent at t.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Run delivers until ctx ends. An attempt cut short by the end stays
// leased, and is tried again when the lease runs out (by this tapd after a
// restart, or another instance).
func (w *Worker) Run(ctx context.Context) {
	for {
		n, err := w.DeliverDue(ctx)
		if err != nil && ctx.Err() == nil {
			w.cfg.Logger.Warn("webhook: reading the outbox failed", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.cfg.Poll):
		}
	}
}

// DeliverDue claims and delivers one due event; it returns how many it
// tried (0 or 1).
func (w *Worker) DeliverDue(ctx context.Context) (int, error) {
	evs, err := w.cfg.Store.ClaimEvents(ctx, w.cfg.Now(), 2*w.cfg.Timeout, 1)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	ev := evs[0]
	err = w.send(ctx, ev)
	if ctx.Err() != nil {
		return 1, ctx.Err() // leased; retried after the lease
	}
	log := w.cfg.Logger.With("event_id", ev.ID, "event", ev.Kind, "attempt", ev.Attempts)
	// The outcome is recorded even as tapd stops, so it is not resent.
	rctx := context.WithoutCancel(ctx)
	if err == nil {
		w.cfg.Result("delivered")
		log.Info("webhook delivered")
		return 1, w.cfg.Store.EventDelivered(rctx, ev.ID)
	}
	dead := ev.Attempts >= w.cfg.MaxAttempts
	next := w.cfg.Now().Add(w.backoff(ev.Attempts))
	if dead {
		w.cfg.Result("dead")
		log.Error("webhook gave up on an event after its last attempt; it stays in the outbox table", "err", err)
	} else {
		w.cfg.Result("failed")
		log.Warn("webhook delivery failed; will retry", "err", err, "next_attempt", next.UTC().Format(time.RFC3339))
	}
	return 1, w.cfg.Store.EventFailed(rctx, ev.ID, next, err.Error(), dead)
}

// backoff is the wait after the n-th failed attempt.
func (w *Worker) backoff(n int) time.Duration {
	d := w.cfg.MaxBackoff
	if n-1 < 30 {
		d = min(w.cfg.MinBackoff<<(n-1), w.cfg.MaxBackoff)
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func (w *Worker) send(ctx context.Context, ev store.OutboxEvent) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(ev.Payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tapd")
	req.Header.Set(HeaderEvent, ev.Kind)
	req.Header.Set(HeaderIdemKey, ev.ID)
	req.Header.Set(HeaderAttempt, strconv.Itoa(ev.Attempts))
	req.Header.Set(HeaderSignature, Sign(w.cfg.Secret, ev.Payload, w.cfg.Now()))
	resp, err := w.http.Do(req)
	if err != nil {
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			return fmt.Errorf("no answer within %s", w.cfg.Timeout)
		}
		// The client's error names the URL with only its password
		// hidden; this one names it redacted.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post to %s: %w", w.where, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode <= 399:
		to := "no Location"
		if loc := resp.Header.Get("Location"); loc != "" {
			to = "Location " + Redact(loc)
			if len(to) > 300 {
				to = to[:300] + "..."
			}
		}
		return fmt.Errorf("the receiver answered %s (%s); tapd follows no redirect: point --webhook-url at the final address", resp.Status, to)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return nil
}
