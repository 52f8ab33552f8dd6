package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/store/storetest"
)

// TestOpsValidate: each refusal of the ops settings names its flag.
func TestOpsValidate(t *testing.T) {
	for _, c := range []struct {
		o    opsSettings
		tls  bool
		want string
	}{
		{opsSettings{MetricsListen: "0.0.0.0:9443"}, false, "refusing plain HTTP metrics on 0.0.0.0:9443"},
		{opsSettings{MetricsListen: "nope"}, false, "--metrics-listen"},
		{opsSettings{WebhookURL: "http://hooks.example.com/x", WebhookSecretFile: "s"}, false, "over https://"},
		{opsSettings{WebhookURL: "ftp://x", WebhookSecretFile: "s"}, false, "must be an https:// URL"},
		{opsSettings{WebhookURL: "https://hooks.example.com/x"}, false, "needs --webhook-secret-file"},
		{opsSettings{WebhookSecretFile: "s"}, false, "without --webhook-url"},
		{opsSettings{WebhookTimeout: 10 * 60e9}, false, "--webhook-timeout"},
	} {
		if c.o.WebhookTimeout == 0 {
			c.o.WebhookTimeout = 10e9
		}
		errs := c.o.validate(c.tls, false)
		if len(errs) == 0 || !strings.Contains(errs[0].Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, errs, c.want)
		}
	}
	ok := opsSettings{MetricsListen: "0.0.0.0:9443", WebhookURL: "http://127.0.0.1:9/x", WebhookSecretFile: "s", WebhookTimeout: 10e9}
	if errs := ok.validate(true, false); len(errs) != 0 {
		t.Errorf("valid settings refused: %v", errs)
	}
}

// TestFromCredentials: files in $CREDENTIALS_DIRECTORY fill the flags
// left unset, and never override a flag given.
func TestFromCredentials(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"tls-cert", "tapd_tls-key", "client-secret", "tapd_webhook-secret"} {
		os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o400)
	}
	s := defaultServeSettings()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s.register(fs)
	if err := fs.Parse([]string{"--tls-cert", "/etc/tapkiosk/tls.pem", "--webhook-url", "https://hooks.test/"}); err != nil {
		t.Fatal(err)
	}
	fromCredentials(fs, dir)
	if s.TLSCert != "/etc/tapkiosk/tls.pem" || s.TLSKey != filepath.Join(dir, "tapd_tls-key") || s.Entra.SecretFile != filepath.Join(dir, "client-secret") ||
		s.Ops.WebhookSecretFile != filepath.Join(dir, "tapd_webhook-secret") || s.Entra.CertificateFile != "" {
		t.Fatalf("after credentials: %+v", s)
	}
	// Without a webhook, its secret is left alone (else validate refuses).
	s = defaultServeSettings()
	fs = flag.NewFlagSet("serve", flag.ContinueOnError)
	s.register(fs)
	fromCredentials(fs, dir)
	if s.Ops.WebhookSecretFile != "" {
		t.Fatalf("webhook secret taken with no webhook: %+v", s.Ops)
	}
}

// TestWebhookURLRedacted: a password (or a user name, which may be a
// token) in --webhook-url is printed nowhere: not in a refusal of the
// settings, not in the start-up log.
func TestWebhookURLRedacted(t *testing.T) {
	bad := opsSettings{WebhookURL: "http://hookuser:hookpass@hooks.example.com/x", WebhookSecretFile: "s", WebhookTimeout: 10e9}
	errs := bad.validate(true, false)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "over https://") || !strings.Contains(errs[0].Error(), "redacted@hooks.example.com") {
		t.Fatalf("refusal %v", errs)
	}
	unparsable := opsSettings{WebhookURL: "https://hookuser:hookpass@hooks example.com/x", WebhookSecretFile: "s", WebhookTimeout: 10e9}
	errs = append(errs, unparsable.validate(true, false)...)
	for _, err := range errs {
		if strings.Contains(err.Error(), "hookpass") || strings.Contains(err.Error(), "hookuser") {
			t.Errorf("userinfo in %q", err)
		}
	}

	secret := filepath.Join(t.TempDir(), "hook.secret")
	os.WriteFile(secret, []byte("0123456789abcdef0123"), 0o600)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	o := opsSettings{WebhookURL: "https://hookuser:hookpass@hooks.example.com/x", WebhookSecretFile: secret, WebhookTimeout: 10e9}
	sv, err := openServices(o, storetest.Open(t, nil, "sqlite"), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer sv.close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the worker stops at once: nothing is sent
	if err := sv.run(ctx, defaultServeSettings(), 1, logger); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "https://redacted@hooks.example.com/x") || strings.Contains(logs.String(), "hookpass") ||
		strings.Contains(logs.String(), "hookuser") {
		t.Fatalf("start-up log: %s", logs.String())
	}
}
