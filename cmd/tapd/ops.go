package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tapkiosk/tapkiosk/internal/auditlog"
	"github.com/tapkiosk/tapkiosk/internal/cli"
	"github.com/tapkiosk/tapkiosk/internal/metrics"
	"github.com/tapkiosk/tapkiosk/internal/webhook"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
)

// warnings are settings that are allowed but probably wrong, said once at
// start-up. Call it only on settings that validate.
func (s serveSettings) warnings() []string {
	var out []string
	host, _, _ := net.SplitHostPort(s.Listen)
	if s.RPID == recovery.DefaultRPID && !isLoopback(host) {
		out = append(out, "--rp-id is still localhost, but tapd listens on "+s.Listen+": kiosks elsewhere will declare the origin https://localhost, "+
			"and keys registered now belong to localhost. Set --rp-id to your domain (example.com) before registering keys")
	}
	if s.HashMemoryMiB != 0 {
		out = append(out, fmt.Sprintf("--hash-memory-mib is deprecated (a waiting pass check no longer holds memory): it admits %d checks now, where the default is %d (--hash-queue, 40 per hash runner); drop it, or give --hash-queue %d to keep this",
			s.hashQueue(), recovery.DefaultHashQueue(s.hashRunners()), s.hashQueue()))
	}
	return out
}

// opsSettings are the settings for running tapd as a service: metrics, the
// audit export and webhooks.
type opsSettings struct {
	MetricsListen     string
	AuditLog          string
	WebhookURL        string
	WebhookSecretFile string
	WebhookTimeout    time.Duration
}

func (o *opsSettings) register(fs *flag.FlagSet) {
	fs.StringVar(&o.MetricsListen, "metrics-listen", o.MetricsListen, "address to serve Prometheus /metrics on, apart from the API (default: none)")
	fs.StringVar(&o.AuditLog, "audit-log", o.AuditLog, "also write each audit entry as a JSON line: - for stdout (the journal under systemd), or a file (reopened on SIGHUP)")
	fs.StringVar(&o.WebhookURL, "webhook-url", o.WebhookURL, "https URL to post notifications to (key registered, method removed, pass used, lockout)")
	fs.StringVar(&o.WebhookSecretFile, "webhook-secret-file", o.WebhookSecretFile, "file holding the webhook's shared HMAC-SHA256 secret (default: the webhook-secret credential)")
	fs.DurationVar(&o.WebhookTimeout, "webhook-timeout", o.WebhookTimeout, "longest one webhook attempt may take")
}

// validate adds the settings' problems to problems. tlsOK says tapd
// serves TLS (so the metrics listener does too); insecure is --insecure-http.
func (o opsSettings) validate(tlsOK, insecure bool) []error {
	var problems []error
	if o.MetricsListen != "" {
		host, _, err := net.SplitHostPort(o.MetricsListen)
		switch {
		case err != nil:
			problems = append(problems, fmt.Errorf("--metrics-listen %q: %v", o.MetricsListen, err))
		case !tlsOK && !insecure && !isLoopback(host):
			problems = append(problems, fmt.Errorf("refusing plain HTTP metrics on %s, which is not a loopback address: give --tls-cert and --tls-key, or --insecure-http", o.MetricsListen))
		}
	}
	if o.WebhookURL != "" {
		if _, err := webhook.CheckURL(o.WebhookURL); err != nil {
			problems = append(problems, fmt.Errorf("--webhook-url %s: %w", webhook.Redact(o.WebhookURL), err))
		}
		if o.WebhookSecretFile == "" {
			problems = append(problems, errors.New("--webhook-url needs --webhook-secret-file (or a webhook-secret credential): receivers check the signature"))
		}
	} else if o.WebhookSecretFile != "" {
		problems = append(problems, errors.New("--webhook-secret-file without --webhook-url"))
	}
	if o.WebhookTimeout < time.Second || o.WebhookTimeout > 5*time.Minute {
		problems = append(problems, fmt.Errorf("--webhook-timeout %s must be between 1s and 5m", o.WebhookTimeout))
	}
	return problems
}

// credentials are the files tapd takes from systemd's LoadCredential= (in
// $CREDENTIALS_DIRECTORY) when the matching flag is not given: the
// credential's name, and the flag it fills.
var credentials = []struct{ name, flag string }{
	{"tls-cert", "tls-cert"},
	{"tls-key", "tls-key"},
	{"client-certificate", "client-certificate"},
	{"client-secret", "client-secret-file"},
	{"webhook-secret", "webhook-secret-file"},
}

// fromCredentials fills unset file flags from the credentials directory
// (systemd's LoadCredential=): secrets then never sit in a file the
// service user can read outside its own run.
func fromCredentials(fs *flag.FlagSet, dir string) {
	if dir == "" {
		return
	}
	for _, c := range credentials {
		f := fs.Lookup(c.flag)
		if f == nil || f.Value.String() != "" {
			continue
		}
		if c.name == "webhook-secret" && fs.Lookup("webhook-url").Value.String() == "" {
			continue // a secret for a webhook that is off
		}
		// The unit loads /etc/tapkiosk/credentials as a folder, which
		// systemd names tapd_<file>; a drop-in may name one plainly.
		for _, name := range []string{c.name, "tapd_" + c.name} {
			p := filepath.Join(dir, name)
			if _, err := os.Stat(p); err == nil {
				fs.Set(c.flag, p)
				break
			}
		}
	}
}

// services are what tapd runs beside the API, as its settings ask: the
// metrics, the audit export and the webhook worker.
type services struct {
	set     opsSettings
	metrics *metrics.Metrics
	audit   *auditlog.Writer
	export  *auditlog.Exporter
	webhook *webhook.Worker
	obs     recovery.Observers
}

// openServices opens what can fail before tapd listens: the audit file,
// the webhook secret.
func openServices(o opsSettings, st store.Store, logger *slog.Logger) (*services, error) {
	sv := &services{set: o}
	if o.MetricsListen != "" {
		sv.metrics = metrics.New(st)
		sv.obs = append(sv.obs, sv.metrics)
	}
	if o.AuditLog != "" {
		w, err := auditlog.Open(o.AuditLog, func(err error) { logger.Error("audit export write failed", "err", err) })
		if err != nil {
			return nil, err
		}
		sv.audit = w
		sv.export = auditlog.NewExporter(st, w, func(err error) { logger.Warn("audit export pass failed; the entries stay queued", "err", err) })
		sv.obs = append(sv.obs, sv.export)
	}
	if o.WebhookURL != "" {
		raw, err := cli.ReadPrivate("--webhook-secret-file", o.WebhookSecretFile)
		if err != nil {
			sv.close()
			return nil, err
		}
		secret := strings.TrimSpace(string(raw))
		if len(secret) < 16 {
			sv.close()
			return nil, fmt.Errorf("--webhook-secret-file %s holds %d characters; use at least 16 random ones (openssl rand -hex 32)", o.WebhookSecretFile, len(secret))
		}
		result := func(string) {}
		if sv.metrics != nil {
			result = sv.metrics.Delivery
		}
		sv.webhook, err = webhook.New(webhook.Config{Store: st, URL: o.WebhookURL, Secret: []byte(secret), Timeout: o.WebhookTimeout,
			Logger: logger.With("component", "webhook"), Result: result})
		if err != nil {
			sv.close()
			return nil, err
		}
	}
	return sv, nil
}

// observer is what the service tells of its outcomes; nil for none.
func (sv *services) observer() recovery.Observer {
	if len(sv.obs) == 0 {
		return nil
	}
	return sv.obs
}

// notify says whether the service queues notifications.
func (sv *services) notify() bool { return sv.webhook != nil }

// graphHTTP is the HTTP client for Graph and Entra sign-in: counted and
// timed when metrics are on, else nil (the default).
func (sv *services) graphHTTP() *http.Client {
	if sv.metrics == nil {
		return nil
	}
	return &http.Client{Transport: sv.metrics.Transport(nil)}
}

// run starts the metrics listener, the webhook worker and the audit
// file's reopening on SIGHUP, until ctx ends.
func (sv *services) run(ctx context.Context, set serveSettings, hashSlots int, logger *slog.Logger) error {
	if sv.webhook != nil {
		go sv.webhook.Run(ctx)
		logger.Info("webhook on", "url", sv.webhook.Where())
	}
	if sv.audit != nil {
		go sv.export.Run(ctx)
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		go func() {
			defer signal.Stop(hup)
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					if err := sv.audit.Reopen(); err != nil {
						logger.Error("reopen the audit log", "err", err)
					} else {
						logger.Info("audit log reopened", "path", sv.set.AuditLog)
					}
				}
			}
		}()
	}
	if sv.metrics == nil {
		return nil
	}
	sv.metrics.SetHashCapacity(hashSlots)
	ln, err := net.Listen("tcp", sv.set.MetricsListen)
	if err != nil {
		return fmt.Errorf("--metrics-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", sv.metrics.Handler())
	scheme, cert, key := "http", "", ""
	if set.useTLS() {
		scheme, cert, key = "https", set.TLSCert, set.TLSKey
	}
	logger.Info("metrics listening", "url", scheme+"://"+ln.Addr().String()+"/metrics", "max_connections", metricsMaxConns)
	serveMetrics(ctx, ln, mux, metricsLimits(set), cert, key, logger)
	return nil
}

func (sv *services) close() {
	if sv.audit != nil {
		sv.audit.Close()
	}
}
