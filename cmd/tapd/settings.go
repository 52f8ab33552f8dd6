package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/tapkiosk/tapkiosk/directory/entra"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/recovery"
)

// serveSettings is every setting of tapd serve. defaultServeSettings
// fills it, register binds it to flags (whose defaults are the struct's
// values), and Validate checks it before anything is opened.
type serveSettings struct {
	DB               string
	Listen           string
	TLSCert          string
	TLSKey           string
	InsecureHTTP     bool
	SessionLimit     time.Duration
	LogFormat        string
	LogLevel         string
	ShutdownTimeout  time.Duration
	RPID             string
	RPName           string
	AttestationRoots string
	MDSBlob          string
	MDSRoot          string
	// Directory is "local" or "entra"; Entra is read only for "entra".
	Directory string
	Entra     entra.Settings
	// HashQueue is how many pass checks are admitted at once, computing or
	// waiting (0: recovery.DefaultHashQueue); past it a sign-in gets 503.
	HashQueue int
	// HashMemoryMiB is the deprecated way to say HashQueue, as a memory
	// budget of 19 MiB a check (0: not given); kept so that a unit file
	// written for an older tapd still starts.
	HashMemoryMiB int
	// HashRunners is how many admitted pass checks compute at once (0:
	// half the CPUs); the others wait, holding no memory.
	HashRunners int
	// TrustedProxies are comma-separated addresses or CIDR prefixes whose
	// X-Forwarded-For tapd believes, for the per-address lockout.
	TrustedProxies string
	// Ops: metrics, the audit export, webhooks (ops.go).
	Ops opsSettings
	// Console: the helpdesk console on its own listener (console.go).
	Console consoleSettings
	// PprofListen, when set, serves Go's profiles on this loopback
	// address (pprof.go).
	PprofListen string
}

// The bounds of --session-limit.
const (
	minSessionLimit = time.Minute
	maxSessionLimit = 24 * time.Hour
)

// defaultServeSettings are tapd serve's settings when nothing is given.
// Whatever the service also defaults comes from recovery, so the two
// cannot drift.
func defaultServeSettings() serveSettings {
	return serveSettings{
		DB:              defaultDB(),
		Listen:          "127.0.0.1:8443",
		SessionLimit:    recovery.Defaults.SessionLimit,
		LogFormat:       "text",
		LogLevel:        "info",
		ShutdownTimeout: 15 * time.Second,
		RPID:            recovery.DefaultRPID,
		RPName:          recovery.DefaultRPName,
		Directory:       "local",
		Entra:           entra.Settings{GraphURL: entra.DefaultGraphURL, MaxRetryAfter: graph.DefaultMaxRetryAfter},
		Ops:             opsSettings{WebhookTimeout: 10 * time.Second},
	}
}

// register binds every setting to a flag on fs; each flag's default is
// the setting's current value.
func (s *serveSettings) register(fs *flag.FlagSet) {
	fs.StringVar(&s.DB, "db", s.DB, "database URL")
	fs.StringVar(&s.Listen, "listen", s.Listen, "address to listen on")
	fs.StringVar(&s.TLSCert, "tls-cert", s.TLSCert, "TLS certificate file (PEM)")
	fs.StringVar(&s.TLSKey, "tls-key", s.TLSKey, "TLS private key file (PEM)")
	fs.BoolVar(&s.InsecureHTTP, "insecure-http", s.InsecureHTTP, "allow plain HTTP on a non-loopback address (only behind a TLS-terminating proxy)")
	fs.DurationVar(&s.SessionLimit, "session-limit", s.SessionLimit, "longest a kiosk session may last")
	fs.StringVar(&s.LogFormat, "log-format", s.LogFormat, "log format: text or json")
	fs.StringVar(&s.LogLevel, "log-level", s.LogLevel, "log level: debug, info, warn or error")
	fs.DurationVar(&s.ShutdownTimeout, "shutdown-timeout", s.ShutdownTimeout, "how long to let requests finish on shutdown")
	fs.StringVar(&s.RPID, "rp-id", s.RPID, "WebAuthn relying party id: your domain; kiosks declare the origin https://<rp-id>")
	fs.StringVar(&s.RPName, "rp-name", s.RPName, "relying party name some keys display")
	fs.StringVar(&s.AttestationRoots, "attestation-roots", s.AttestationRoots, "PEM bundle of attestation roots to trust")
	fs.StringVar(&s.MDSBlob, "mds-blob", s.MDSBlob, "FIDO Metadata Service (MDS3) blob, downloaded to a local file")
	fs.StringVar(&s.MDSRoot, "mds-root", s.MDSRoot, "PEM root the MDS blob must chain to (default: the FIDO Alliance production root)")
	fs.StringVar(&s.Directory, "directory", s.Directory, "where users, passes and methods live: local (this database) or entra (Microsoft Entra ID via Graph)")
	fs.IntVar(&s.HashQueue, "hash-queue", s.HashQueue, "pass checks admitted at once, computing or waiting their turn; a sign-in past them gets 503 at once (0: 40 per hash runner)")
	fs.IntVar(&s.HashMemoryMiB, "hash-memory-mib", s.HashMemoryMiB, "deprecated: use --hash-queue (this admits N/19 checks)")
	fs.IntVar(&s.HashRunners, "hash-runners", s.HashRunners, "admitted pass checks that compute at once; the rest wait their turn (0: half the CPUs, at least 1)")
	fs.StringVar(&s.TrustedProxies, "trusted-proxies", s.TrustedProxies, "comma-separated proxy addresses or CIDRs whose X-Forwarded-For names the client, for the per-address lockout")
	fs.StringVar(&s.PprofListen, "pprof-listen", s.PprofListen, "loopback address (127.0.0.1:6060) to serve Go's profiles on at /debug/pprof/, for measuring tapd (default: none)")
	s.Ops.register(fs)
	s.Console.register(fs)
	registerEntra(fs, &s.Entra)
}

// registerEntra binds the Entra settings to flags on fs, for tapd serve
// and tapd entra-check alike.
func registerEntra(fs *flag.FlagSet, e *entra.Settings) {
	fs.StringVar(&e.TenantID, "tenant-id", e.TenantID, "entra: the tenant's directory id or domain")
	fs.StringVar(&e.ClientID, "client-id", e.ClientID, "entra: tapd's app registration (client) id; with --managed-identity, a user-assigned identity's client id")
	fs.StringVar(&e.CertificateFile, "client-certificate", e.CertificateFile, "entra: PEM file with the app's certificate and private key (preferred)")
	fs.StringVar(&e.SecretFile, "client-secret-file", e.SecretFile, "entra: file holding the app's client secret")
	fs.BoolVar(&e.ManagedIdentity, "managed-identity", e.ManagedIdentity, "entra: use the Azure host's managed identity")
	fs.StringVar(&e.GraphURL, "graph-url", e.GraphURL, "entra: Microsoft Graph base URL (national clouds differ)")
	fs.StringVar(&e.AuthorityHost, "authority-host", e.AuthorityHost, "entra: sign-in authority, default https://login.microsoftonline.com/ (national clouds differ)")
	fs.DurationVar(&e.MaxRetryAfter, "graph-max-retry-after", e.MaxRetryAfter, "entra: longest tapd waits, in all, when Graph throttles one call and says how long to wait (30s to 10m); past it the call fails at once")
}

// Validate reports every problem with the settings at once, joined;
// nil means tapd serve may go on to open the database.
func (s serveSettings) Validate() error {
	var problems []error
	switch s.Directory {
	case "local":
	case "entra":
		if err := s.Entra.Validate(); err != nil {
			problems = append(problems, err)
		}
	default:
		problems = append(problems, fmt.Errorf("--directory %q: use local or entra", s.Directory))
	}
	if !validRPID(s.RPID) {
		problems = append(problems, fmt.Errorf("--rp-id %q must be a domain name like example.com (no scheme, port or path)", s.RPID))
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		problems = append(problems, errors.New("--tls-cert and --tls-key go together"))
	}
	host, _, err := net.SplitHostPort(s.Listen)
	if err != nil {
		problems = append(problems, fmt.Errorf("--listen %q: %v", s.Listen, err))
	} else if !s.useTLS() && !s.InsecureHTTP && !isLoopback(host) {
		problems = append(problems, fmt.Errorf("refusing plain HTTP on %s, which is not a loopback address: give --tls-cert and --tls-key, or --insecure-http behind a TLS proxy", s.Listen))
	}
	if s.SessionLimit < minSessionLimit || s.SessionLimit > maxSessionLimit {
		problems = append(problems, fmt.Errorf("--session-limit %s must be between 1m and 24h", s.SessionLimit))
	}
	if _, err := s.level(); err != nil {
		problems = append(problems, fmt.Errorf("--log-level %q: use debug, info, warn or error", s.LogLevel))
	}
	if min := int(recovery.Defaults.Argon2.Memory >> 10); s.HashMemoryMiB != 0 && s.HashMemoryMiB < min {
		problems = append(problems, fmt.Errorf("--hash-memory-mib %d is less than one pass check (%d MiB)", s.HashMemoryMiB, min))
	}
	if s.HashMemoryMiB != 0 && s.HashQueue != 0 {
		problems = append(problems, errors.New("--hash-memory-mib is the old name of --hash-queue: give --hash-queue only"))
	}
	if s.HashQueue < 0 {
		problems = append(problems, fmt.Errorf("--hash-queue %d: give 0 (40 per hash runner) or more", s.HashQueue))
	}
	if s.HashRunners < 0 {
		problems = append(problems, fmt.Errorf("--hash-runners %d: give 0 (half the CPUs) or more", s.HashRunners))
	}
	if _, err := s.proxies(); err != nil {
		problems = append(problems, fmt.Errorf("--trusted-proxies: %v", err))
	}
	if s.LogFormat != "text" && s.LogFormat != "json" {
		problems = append(problems, fmt.Errorf("--log-format %q: use text or json", s.LogFormat))
	}
	if err := validatePprof(s.PprofListen); err != nil {
		problems = append(problems, err)
	}
	problems = append(problems, s.Ops.validate(s.useTLS(), s.InsecureHTTP)...)
	problems = append(problems, s.Console.validate(s.Listen)...)
	return errors.Join(problems...)
}

// useTLS says whether tapd serves HTTPS itself.
func (s serveSettings) useTLS() bool { return s.TLSCert != "" }

func (s serveSettings) level() (slog.Level, error) {
	var level slog.Level
	err := level.UnmarshalText([]byte(s.LogLevel))
	return level, err
}

// logger is the logger the settings ask for, writing to w. Call it only
// on settings that validate.
func (s serveSettings) logger(w io.Writer) *slog.Logger {
	level, _ := s.level()
	opts := &slog.HandlerOptions{Level: level}
	if s.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// hashQueue is --hash-queue with its default filled in (or the deprecated
// --hash-memory-mib's checks): what the service admits and the metrics show.
func (s serveSettings) hashQueue() int {
	switch {
	case s.HashQueue > 0:
		return s.HashQueue
	case s.HashMemoryMiB > 0:
		return max(1, s.HashMemoryMiB/int(recovery.Defaults.Argon2.Memory>>10))
	}
	return recovery.DefaultHashQueue(s.hashRunners())
}

// hashRunners is --hash-runners with its default filled in.
func (s serveSettings) hashRunners() int {
	if s.HashRunners > 0 {
		return s.HashRunners
	}
	return recovery.DefaultHashRunners()
}

// hashPeak is the most memory pass checks hold at once: those that
// compute, never more than are admitted.
func (s serveSettings) hashPeak() int64 {
	per := int64(recovery.Defaults.Argon2.Memory) << 10
	return int64(min(s.hashRunners(), s.hashQueue())) * per
}

// proxies parses --trusted-proxies: each entry an address or a prefix.
func (s serveSettings) proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s.TrustedProxies, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
