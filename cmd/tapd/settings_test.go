package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/directory/entra"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/recovery"
)

// problems splits a Validate error into its joined problems, one line each.
func problems(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestServeSettingsValidate(t *testing.T) {
	entraOK := func(s *serveSettings) {
		s.Directory = "entra"
		s.Entra.TenantID = "contoso.onmicrosoft.com"
		s.Entra.ClientID = "11111111-2222-3333-4444-555555555555"
		s.Entra.CertificateFile = "/etc/tapd/app.pem"
	}
	tests := []struct {
		name   string
		change func(*serveSettings)
		want   []string // every problem, in order; none means valid
	}{
		{"defaults", func(*serveSettings) {}, nil},
		{"unknown directory", func(s *serveSettings) { s.Directory = "ldap" },
			[]string{`--directory "ldap": use local or entra`}},
		{"rp id with a scheme", func(s *serveSettings) { s.RPID = "https://example.com" },
			[]string{`--rp-id "https://example.com" must be a domain name like example.com (no scheme, port or path)`}},
		{"rp id with a port", func(s *serveSettings) { s.RPID = "example.com:443" },
			[]string{`--rp-id "example.com:443" must be a domain name like example.com (no scheme, port or path)`}},
		{"empty rp id", func(s *serveSettings) { s.RPID = "" },
			[]string{`--rp-id "" must be a domain name like example.com (no scheme, port or path)`}},
		{"rp id domain", func(s *serveSettings) { s.RPID = "kiosk.example.com" }, nil},
		{"certificate without key", func(s *serveSettings) { s.TLSCert = "cert.pem" },
			[]string{"--tls-cert and --tls-key go together"}},
		{"key without certificate", func(s *serveSettings) { s.TLSKey = "key.pem" },
			[]string{"--tls-cert and --tls-key go together"}},
		{"bad listen address", func(s *serveSettings) { s.Listen = "nope" },
			[]string{`--listen "nope": address nope: missing port in address`}},
		{"plain HTTP off loopback", func(s *serveSettings) { s.Listen = "0.0.0.0:8443" },
			[]string{"refusing plain HTTP on 0.0.0.0:8443, which is not a loopback address: give --tls-cert and --tls-key, or --insecure-http behind a TLS proxy"}},
		{"plain HTTP off loopback, allowed", func(s *serveSettings) { s.Listen = "0.0.0.0:8443"; s.InsecureHTTP = true }, nil},
		{"TLS off loopback", func(s *serveSettings) {
			s.Listen = "0.0.0.0:8443"
			s.TLSCert, s.TLSKey = "cert.pem", "key.pem"
		}, nil},
		{"plain HTTP on localhost", func(s *serveSettings) { s.Listen = "localhost:8443" }, nil},
		{"plain HTTP on IPv6 loopback", func(s *serveSettings) { s.Listen = "[::1]:8443" }, nil},
		{"hash budget under one check", func(s *serveSettings) { s.HashMemoryMiB = 10 },
			[]string{"--hash-memory-mib 10 is less than one pass check (19 MiB)"}},
		{"hash queue and its old name", func(s *serveSettings) { s.HashMemoryMiB, s.HashQueue = 256, 40 },
			[]string{"--hash-memory-mib is the old name of --hash-queue: give --hash-queue only"}},
		{"negative hash queue", func(s *serveSettings) { s.HashQueue = -1 },
			[]string{"--hash-queue -1: give 0 (40 per hash runner) or more"}},
		{"negative hash runners", func(s *serveSettings) { s.HashRunners = -1 },
			[]string{"--hash-runners -1: give 0 (half the CPUs) or more"}},
		{"pprof off loopback", func(s *serveSettings) { s.PprofListen = "0.0.0.0:6060" },
			[]string{`--pprof-listen "0.0.0.0:6060": only a loopback IP address (127.0.0.1:6060, [::1]:6060)`}},
		{"pprof on a name", func(s *serveSettings) { s.PprofListen = "localhost:6060" },
			[]string{`--pprof-listen "localhost:6060": only a loopback IP address (127.0.0.1:6060, [::1]:6060)`}},
		{"pprof with TLS off loopback", func(s *serveSettings) {
			s.PprofListen = "192.0.2.1:6060"
			s.TLSCert, s.TLSKey = "cert.pem", "key.pem"
		}, []string{`--pprof-listen "192.0.2.1:6060": only a loopback IP address (127.0.0.1:6060, [::1]:6060)`}},
		{"pprof on loopback", func(s *serveSettings) { s.PprofListen = "[::1]:6060" }, nil},
		{"trusted proxy not an address", func(s *serveSettings) { s.TrustedProxies = "10.0.0.1, proxy.example" },
			[]string{`--trusted-proxies: "proxy.example" is neither an IP address nor a CIDR prefix`}},
		{"trusted proxies", func(s *serveSettings) { s.TrustedProxies = "10.0.0.1, 2001:db8::/32" }, nil},
		{"session limit too short", func(s *serveSettings) { s.SessionLimit = 30 * time.Second },
			[]string{"--session-limit 30s must be between 1m and 24h"}},
		{"session limit too long", func(s *serveSettings) { s.SessionLimit = 25 * time.Hour },
			[]string{"--session-limit 25h0m0s must be between 1m and 24h"}},
		{"session limit shortest", func(s *serveSettings) { s.SessionLimit = time.Minute }, nil},
		{"session limit longest", func(s *serveSettings) { s.SessionLimit = 24 * time.Hour }, nil},
		{"unknown log level", func(s *serveSettings) { s.LogLevel = "loud" },
			[]string{`--log-level "loud": use debug, info, warn or error`}},
		{"debug log level", func(s *serveSettings) { s.LogLevel = "debug" }, nil},
		{"unknown log format", func(s *serveSettings) { s.LogFormat = "xml" },
			[]string{`--log-format "xml": use text or json`}},
		{"json log format", func(s *serveSettings) { s.LogFormat = "json" }, nil},
		{"entra, complete", entraOK, nil},
		{"entra settings unused by the local directory", func(s *serveSettings) { s.Entra.GraphURL = "http://graph.test" }, nil},
		{"entra without tenant or credential", func(s *serveSettings) { s.Directory = "entra" }, []string{
			"the Entra directory needs a credential: --client-certificate FILE (preferred), --client-secret-file FILE or --managed-identity",
			"--tenant-id is required: the directory (tenant) id or domain of your Entra tenant",
			"--client-id is required: the application (client) id of tapd's app registration",
		}},
		{"entra, retry-after limit too short", func(s *serveSettings) { entraOK(s); s.Entra.MaxRetryAfter = 10 * time.Second },
			[]string{"--graph-max-retry-after 10s must be between 30s and 10m0s"}},
		{"entra, retry-after limit too long", func(s *serveSettings) { entraOK(s); s.Entra.MaxRetryAfter = time.Hour },
			[]string{"--graph-max-retry-after 1h0m0s must be between 30s and 10m0s"}},
		{"entra, retry-after limit longest", func(s *serveSettings) { entraOK(s); s.Entra.MaxRetryAfter = 10 * time.Minute }, nil},
		{"entra with a plain-HTTP Graph URL", func(s *serveSettings) { entraOK(s); s.Entra.GraphURL = "http://graph.test" },
			[]string{`--graph-url "http://graph.test" must be an https:// URL`}},
		{"console, complete", consoleOK, nil},
		{"console without TLS", func(s *serveSettings) { consoleOK(s); s.Console.TLSKey = "" },
			[]string{"the console needs --console-tls-cert and --console-tls-key: its cookie is Secure and passkeys need HTTPS"}},
		{"console on the API's address", func(s *serveSettings) { consoleOK(s); s.Console.Listen = s.Listen },
			[]string{"--console-listen must differ from --listen: the console has its own listener"}},
		{"console URL with a path", func(s *serveSettings) { consoleOK(s); s.Console.URL = "https://helpdesk.example.com/console" },
			[]string{`--console-url "https://helpdesk.example.com/console": the console URL must be https://HOST[:PORT], without a path`}},
		{"console URL over plain HTTP", func(s *serveSettings) { consoleOK(s); s.Console.URL = "http://helpdesk.example.com" },
			[]string{`--console-url "http://helpdesk.example.com": the console URL must be https://HOST[:PORT], without a path`}},
		{"console settings without a console", func(s *serveSettings) { s.Console.URL = "https://helpdesk.example.com" },
			[]string{"--console-url and --console-tls-cert/--console-tls-key need --console-listen"}},
		{"every mistake at once", func(s *serveSettings) {
			s.Directory = "entra"
			s.Entra.ClientID = "c"
			s.Entra.ManagedIdentity = true
			s.Entra.SecretFile = "secret"
			s.RPID = "http://x"
			s.TLSKey = "key.pem"
			s.Listen = "10.0.0.1:80"
			s.SessionLimit = 0
			s.LogLevel = "chatty"
			s.LogFormat = "yaml"
		}, []string{
			"give only one of --client-certificate, --client-secret-file and --managed-identity",
			`--rp-id "http://x" must be a domain name like example.com (no scheme, port or path)`,
			"--tls-cert and --tls-key go together",
			"refusing plain HTTP on 10.0.0.1:80, which is not a loopback address: give --tls-cert and --tls-key, or --insecure-http behind a TLS proxy",
			"--session-limit 0s must be between 1m and 24h",
			`--log-level "chatty": use debug, info, warn or error`,
			`--log-format "yaml": use text or json`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := defaultServeSettings()
			tt.change(&s)
			err := s.Validate()
			got := problems(err)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("Validate problems:\n  %q\nwant:\n  %q", got, tt.want)
			}
			if err != nil {
				// Joined, not only formatted on lines: callers can unwrap.
				if _, ok := err.(interface{ Unwrap() []error }); !ok {
					t.Errorf("Validate returned %T, want an errors.Join error", err)
				}
			}
		})
	}
}

// TestServeSettingsEntraProblemsUnwrap: the entra problems inside the
// joined error are entra.Settings.Validate's own error.
func TestServeSettingsEntraProblemsUnwrap(t *testing.T) {
	s := defaultServeSettings()
	s.Directory = "entra"
	s.RPID = ""
	err := s.Validate()
	errs := err.(interface{ Unwrap() []error }).Unwrap()
	if len(errs) != 2 {
		t.Fatalf("got %d problems, want entra's and the rp id's: %v", len(errs), err)
	}
	if want := s.Entra.Validate(); want == nil || errs[0].Error() != want.Error() {
		t.Errorf("first problem %q, want entra.Settings.Validate's %q", errs[0], want)
	}
}

// TestServeSettingsDefaults: tapd serve's defaults are the service's, and
// the flags take theirs from the struct, so neither can drift.
func TestServeSettingsDefaults(t *testing.T) {
	d := defaultServeSettings()
	if d.SessionLimit != recovery.Defaults.SessionLimit {
		t.Errorf("session limit %s, recovery.Defaults has %s", d.SessionLimit, recovery.Defaults.SessionLimit)
	}
	if d.RPID != recovery.DefaultRPID || d.RPName != recovery.DefaultRPName {
		t.Errorf("relying party %q %q, recovery has %q %q", d.RPID, d.RPName, recovery.DefaultRPID, recovery.DefaultRPName)
	}
	if d.Entra.GraphURL != entra.DefaultGraphURL {
		t.Errorf("graph URL %q, entra has %q", d.Entra.GraphURL, entra.DefaultGraphURL)
	}
	if d.DB != defaultDB() {
		t.Errorf("db %q, want %q", d.DB, defaultDB())
	}

	s := defaultServeSettings()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	s.register(fs)
	for name, want := range map[string]string{
		"session-limit":         recovery.Defaults.SessionLimit.String(),
		"rp-id":                 recovery.DefaultRPID,
		"rp-name":               recovery.DefaultRPName,
		"graph-url":             entra.DefaultGraphURL,
		"db":                    defaultDB(),
		"listen":                d.Listen,
		"log-format":            d.LogFormat,
		"log-level":             d.LogLevel,
		"shutdown-timeout":      d.ShutdownTimeout.String(),
		"directory":             d.Directory,
		"insecure-http":         "false",
		"managed-identity":      "false",
		"graph-max-retry-after": graph.DefaultMaxRetryAfter.String(),
	} {
		f := fs.Lookup(name)
		if f == nil {
			t.Errorf("no --%s flag", name)
			continue
		}
		if f.DefValue != want {
			t.Errorf("--%s default %q, want %q", name, f.DefValue, want)
		}
	}
	if s != d {
		t.Errorf("registering the flags changed the settings:\n%+v\nwant\n%+v", s, d)
	}
}

// consoleOK is a complete console.
func consoleOK(s *serveSettings) {
	s.Console = consoleSettings{Listen: "127.0.0.1:8444", URL: "https://helpdesk.example.com:8444", TLSCert: "c.pem", TLSKey: "k.pem"}
}

// TestServeSettingsFlags: every flag lands in its field.
func TestServeSettingsFlags(t *testing.T) {
	s := defaultServeSettings()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s.register(fs)
	err := fs.Parse([]string{
		"--db", "postgres://db", "--listen", "0.0.0.0:443", "--tls-cert", "c.pem", "--tls-key", "k.pem",
		"--insecure-http", "--session-limit", "20m", "--log-format", "json", "--log-level", "debug",
		"--shutdown-timeout", "3s", "--rp-id", "example.com", "--rp-name", "Example",
		"--attestation-roots", "roots.pem", "--mds-blob", "blob.jwt", "--mds-root", "root.pem",
		"--directory", "entra", "--tenant-id", "t", "--client-id", "c", "--client-certificate", "app.pem",
		"--client-secret-file", "secret", "--managed-identity", "--graph-url", "https://graph.test",
		"--authority-host", "https://login.test/", "--graph-max-retry-after", "5m", "--hash-queue", "60", "--hash-memory-mib", "512", "--trusted-proxies", "10.0.0.1, 192.0.2.0/24",
		"--metrics-listen", "127.0.0.1:9443", "--audit-log", "-", "--webhook-url", "https://hooks.test/tapd",
		"--webhook-secret-file", "hook.secret", "--webhook-timeout", "5s",
		"--console-listen", "127.0.0.1:8444", "--console-url", "https://helpdesk.example.com", "--console-tls-cert", "cc.pem",
		"--console-tls-key", "ck.pem", "--console-checklist", "Photo ID seen; Called back", "--console-kiosk-instructions", "Library, ground floor",
		"--hash-runners", "3", "--pprof-listen", "127.0.0.1:6060",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := serveSettings{
		DB: "postgres://db", Listen: "0.0.0.0:443", TLSCert: "c.pem", TLSKey: "k.pem", InsecureHTTP: true,
		SessionLimit: 20 * time.Minute, LogFormat: "json", LogLevel: "debug", ShutdownTimeout: 3 * time.Second,
		RPID: "example.com", RPName: "Example", AttestationRoots: "roots.pem", MDSBlob: "blob.jwt", MDSRoot: "root.pem",
		Directory: "entra",
		Entra: entra.Settings{TenantID: "t", ClientID: "c", CertificateFile: "app.pem", SecretFile: "secret",
			ManagedIdentity: true, GraphURL: "https://graph.test", AuthorityHost: "https://login.test/", MaxRetryAfter: 5 * time.Minute},
		HashQueue: 60, HashMemoryMiB: 512, HashRunners: 3, PprofListen: "127.0.0.1:6060", TrustedProxies: "10.0.0.1, 192.0.2.0/24",
		Ops: opsSettings{MetricsListen: "127.0.0.1:9443", AuditLog: "-", WebhookURL: "https://hooks.test/tapd",
			WebhookSecretFile: "hook.secret", WebhookTimeout: 5 * time.Second},
		Console: consoleSettings{Listen: "127.0.0.1:8444", URL: "https://helpdesk.example.com", TLSCert: "cc.pem", TLSKey: "ck.pem",
			Checklist: "Photo ID seen; Called back", Instructions: "Library, ground floor"},
	}
	if s != want {
		t.Errorf("parsed settings\n%+v\nwant\n%+v", s, want)
	}
	var n int
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n != 39 {
		t.Errorf("%d flags registered, the test sets 39: a new flag needs a line here", n)
	}
	if got := s.Console.checklist(); len(got) != 2 || got[0] != "Photo ID seen" || got[1] != "Called back" {
		t.Errorf("checklist %q", got)
	}
	if ps, err := s.proxies(); err != nil || len(ps) != 2 || ps[0].String() != "10.0.0.1/32" || ps[1].String() != "192.0.2.0/24" {
		t.Errorf("trusted proxies %v %v", ps, err)
	}
}

// TestConsoleOrigin: the console's origin is the one browsers send (lower
// case, no default port, no trailing slash), both for the passkeys' relying
// party and for the console's check of a POST's Origin.
func TestConsoleOrigin(t *testing.T) {
	for url, want := range map[string]string{
		"https://helpdesk.example.com":      "https://helpdesk.example.com",
		"https://helpdesk.example.com/":     "https://helpdesk.example.com",
		"https://Helpdesk.Example.com:443/": "https://helpdesk.example.com",
		"https://helpdesk.example.com:8444": "https://helpdesk.example.com:8444",
	} {
		s := consoleSettings{Listen: "127.0.0.1:8444", URL: url}
		if got := s.origin(); got != want {
			t.Errorf("%s: origin %q, want %q", url, got, want)
		}
		if got := s.consoleRP().Config.RPOrigins; len(got) != 1 || got[0] != want {
			t.Errorf("%s: relying party's origins %q, want %q", url, got, want)
		}
	}
}

// TestHashMemoryMiBStillStarts: a unit file written for an older tapd,
// with --hash-memory-mib, still validates and admits what it did (its
// budget / 19 MiB), with a warning naming --hash-queue; left out, the
// queue is 40 per hash runner.
func TestHashMemoryMiBStillStarts(t *testing.T) {
	s := defaultServeSettings()
	s.HashRunners = 2
	if got := s.hashQueue(); got != 80 || len(s.warnings()) != 0 {
		t.Fatalf("default queue with 2 runners: %d (want 80), warnings %q", got, s.warnings())
	}
	s.HashMemoryMiB = 256
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := s.hashQueue(); got != 13 {
		t.Fatalf("--hash-memory-mib 256 admits %d, want 13", got)
	}
	if w := strings.Join(s.warnings(), "\n"); !strings.Contains(w, "--hash-memory-mib is deprecated") || !strings.Contains(w, "--hash-queue 13 to keep this") || !strings.Contains(w, "the default is 80") {
		t.Fatalf("warnings %q", w)
	}
}
