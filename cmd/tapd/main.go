// Command tapd is the tapkiosk recovery service: Temporary Access Pass
// policy and passes, kiosk sign-in sessions and the audit trail.
//
//	tapd init  --db URL [--json]      create or migrate the schema; print the first admin token once
//	tapd serve --db URL --listen ADDR serve the API
//
// Every flag can also come from TAPD_<FLAG> or a config file (--config).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/directory/entra"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/directory/local"
	"github.com/tapkiosk/tapkiosk/internal/cli"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/server"
	"github.com/tapkiosk/tapkiosk/store"
)

const usage = `tapd: the tapkiosk recovery service

Usage:
  tapd init  [--db URL] [--json]        create or migrate the database; print the first admin token once
  tapd serve [--db URL] [--listen ADDR] [--tls-cert F --tls-key F] [--insecure-http]
             [--directory entra --tenant-id T --client-id C
                (--client-certificate F | --client-secret-file F | --managed-identity)]

Database URLs: sqlite:///path/to/tapd.db (default: %s)
               postgres://user:pass@host/db?sslmode=...
Every flag may also be set as TAPD_<FLAG> (TAPD_DB, TAPD_LISTEN, ...) or in a
config file given by --config (lines of "name = value").
Run "tapd init -h" or "tapd serve -h" for every flag.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func defaultDB() string {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return "sqlite://" + filepath.Join(dir, "tapkiosk", "tapd.db")
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(stderr, usage, defaultDB())
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var err error
	switch args[0] {
	case "init":
		err = cmdInit(args[1:], stdout, stderr)
	case "serve":
		err = cmdServe(args[1:], stderr)
	default:
		fmt.Fprintf(stderr, "tapd: unknown command %q; use init or serve\n", args[0])
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "tapd:", err)
		return 2
	}
	fmt.Fprintln(stderr, "tapd:", err)
	return 1
}

type usageError struct{ error }

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tapd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	pos, err := cli.Parse(fs, args, "TAPD")
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	return nil
}

func cmdInit(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("init", stderr)
	db := fs.String("db", defaultDB(), "database URL")
	asJSON := fs.Bool("json", false, `print {"adminToken": "..."} instead of text`)
	name := fs.String("token-name", "initial-admin", "name of the first admin token")
	fs.String("config", "", "config file of name = value lines")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("create the schema: %w", err)
	}
	n, err := st.CountAdminTokens(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		// The first token is printed once only; a second init must not
		// mint a new global administrator for whoever can run it.
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"adminToken": nil, "alreadyInitialized": true})
		}
		fmt.Fprintln(stdout, "The database is initialised and up to date. Admin tokens already exist, so none was created;")
		fmt.Fprintln(stdout, "make more with `tapctl token add NAME --role ROLE`.")
		return nil
	}
	tok, _, err := recovery.CreateAdminToken(ctx, st, *name, api.RoleGlobalAdministrator, time.Now().UTC().Truncate(time.Millisecond), nil)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]string{"adminToken": tok})
	}
	fmt.Fprintf(stdout, "Database ready. The first admin token (%s, global administrator) is shown once; keep it safe:\n\n  %s\n\n", *name, tok)
	fmt.Fprintln(stdout, "Save it to a file readable only by you and use it with `tapctl --token-file FILE`.")
	return nil
}

func cmdServe(args []string, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	db := fs.String("db", defaultDB(), "database URL")
	listen := fs.String("listen", "127.0.0.1:8443", "address to listen on")
	cert := fs.String("tls-cert", "", "TLS certificate file (PEM)")
	key := fs.String("tls-key", "", "TLS private key file (PEM)")
	insecure := fs.Bool("insecure-http", false, "allow plain HTTP on a non-loopback address (only behind a TLS-terminating proxy)")
	limit := fs.Duration("session-limit", 10*time.Minute, "longest a kiosk session may last")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	grace := fs.Duration("shutdown-timeout", 15*time.Second, "how long to let requests finish on shutdown")
	rpID := fs.String("rp-id", "localhost", "WebAuthn relying party id: your domain; kiosks declare the origin https://<rp-id>")
	rpName := fs.String("rp-name", "tapkiosk", "relying party name some keys display")
	roots := fs.String("attestation-roots", "", "PEM bundle of attestation roots to trust")
	mdsBlob := fs.String("mds-blob", "", "FIDO Metadata Service (MDS3) blob, downloaded to a local file")
	mdsRoot := fs.String("mds-root", "", "PEM root the MDS blob must chain to (default: the FIDO Alliance production root)")
	dirKind := fs.String("directory", "local", "where users, passes and methods live: local (this database) or entra (Microsoft Entra ID via Graph)")
	var ent entra.Settings
	fs.StringVar(&ent.TenantID, "tenant-id", "", "entra: the tenant's directory id or domain")
	fs.StringVar(&ent.ClientID, "client-id", "", "entra: tapd's app registration (client) id; with --managed-identity, a user-assigned identity's client id")
	fs.StringVar(&ent.CertificateFile, "client-certificate", "", "entra: PEM file with the app's certificate and private key (preferred)")
	fs.StringVar(&ent.SecretFile, "client-secret-file", "", "entra: file holding the app's client secret")
	fs.BoolVar(&ent.ManagedIdentity, "managed-identity", false, "entra: use the Azure host's managed identity")
	fs.StringVar(&ent.GraphURL, "graph-url", entra.DefaultGraphURL, "entra: Microsoft Graph base URL (national clouds differ)")
	fs.StringVar(&ent.AuthorityHost, "authority-host", "", "entra: sign-in authority, default https://login.microsoftonline.com/ (national clouds differ)")
	fs.String("config", "", "config file of name = value lines")
	if err := parse(fs, args); err != nil {
		return err
	}
	var problems []error
	switch *dirKind {
	case "local":
	case "entra":
		if err := ent.Validate(); err != nil {
			problems = append(problems, err)
		}
	default:
		problems = append(problems, fmt.Errorf("--directory %q: use local or entra", *dirKind))
	}
	if !validRPID(*rpID) {
		problems = append(problems, fmt.Errorf("--rp-id %q must be a domain name like example.com (no scheme, port or path)", *rpID))
	}
	if (*cert == "") != (*key == "") {
		problems = append(problems, errors.New("--tls-cert and --tls-key go together"))
	}
	useTLS := *cert != ""
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		problems = append(problems, fmt.Errorf("--listen %q: %v", *listen, err))
	} else if !useTLS && !*insecure && !isLoopback(host) {
		problems = append(problems, fmt.Errorf("refusing plain HTTP on %s, which is not a loopback address: give --tls-cert and --tls-key, or --insecure-http behind a TLS proxy", *listen))
	}
	if *limit < time.Minute || *limit > 24*time.Hour {
		problems = append(problems, fmt.Errorf("--session-limit %s must be between 1m and 24h", *limit))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		problems = append(problems, fmt.Errorf("--log-level %q: use debug, info, warn or error", *logLevel))
	}
	if *logFormat != "text" && *logFormat != "json" {
		problems = append(problems, fmt.Errorf("--log-format %q: use text or json", *logFormat))
	}
	if len(problems) > 0 {
		return usageError{errors.Join(problems...)}
	}
	opts := &slog.HandlerOptions{Level: level}
	var logger *slog.Logger
	if *logFormat == "json" {
		logger = slog.New(slog.NewJSONHandler(stderr, opts))
	} else {
		logger = slog.New(slog.NewTextHandler(stderr, opts))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	st, err := store.Open(openCtx, *db)
	cancel()
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckSchema(ctx); err != nil {
		if errors.Is(err, store.ErrSchema) {
			return fmt.Errorf("the database at %s is not initialised or is older than this tapd: run `tapd init --db ...` first", *db)
		}
		return err
	}
	trust, err := recovery.LoadTrust(*roots, *mdsBlob, *mdsRoot)
	if err != nil {
		return err
	}
	for _, src := range trust.Sources() {
		logger.Info("attestation trust", "source", src)
	}
	if len(trust.Sources()) == 0 {
		logger.Info("attestation trust", "source", "none: keys register as notAttested, and enforced attestation refuses every key")
	}
	rp, err := recovery.NewRelyingParty(*rpID, *rpName)
	if err != nil {
		return err
	}
	// The one place that chooses the directory; nothing below asks.
	var dir directory.Directory = local.New(local.Config{Store: st, RP: rp, Argon2: recovery.Defaults.Argon2, Now: time.Now})
	if *dirKind == "entra" {
		gc, err := connectEntra(ctx, ent, logger)
		if err != nil {
			return err
		}
		dir = entra.New(entra.Config{Graph: gc, Store: st, Argon2: recovery.Defaults.Argon2, Now: time.Now, Logger: logger})
	}
	svc, err := recovery.New(recovery.Config{Store: st, Directory: dir, RP: rp, Logger: logger, SessionLimit: *limit, Trust: trust})
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{Service: svc, Logger: logger})
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	logger.Info("tapd listening", "url", scheme+"://"+ln.Addr().String(), "session_limit", limit.String(), "rp_id", *rpID)

	go sweep(ctx, st, logger)
	errc := make(chan error, 1)
	go func() {
		if useTLS {
			errc <- hs.ServeTLS(ln, *cert, *key)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// connectEntra builds the Graph client and proves, before tapd listens,
// that it can sign in and read the policies it needs.
func connectEntra(ctx context.Context, s entra.Settings, logger *slog.Logger) (*graph.Client, error) {
	gc, err := s.Client()
	if err != nil {
		return nil, err
	}
	cred := "certificate"
	switch {
	case s.SecretFile != "":
		cred = "client secret"
	case s.ManagedIdentity:
		cred = "managed identity"
	}
	logger.Info("directory", "kind", "entra", "tenant", s.TenantID, "client_id", s.ClientID, "credential", cred, "graph", gc.BaseURL)
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := entra.Check(cctx, gc); err != nil {
		return nil, fmt.Errorf("the Entra directory is not usable: %w", err)
	}
	logger.Info("directory ready", "kind", "entra")
	return gc, nil
}

// sweep deletes expired sessions and ceremonies once a minute. Both are
// already refused once expired; this only keeps the tables small.
func sweep(ctx context.Context, st store.Store, log *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := st.DeleteExpiredSessions(ctx, time.Now()); err != nil {
				log.Warn("session sweep failed", "err", err)
			} else if n > 0 {
				log.Debug("swept expired sessions", "count", n)
			}
			if _, err := st.DeleteExpiredCeremonies(ctx, time.Now()); err != nil {
				log.Warn("ceremony sweep failed", "err", err)
			}
		}
	}
}

// validRPID accepts a bare domain name, as WebAuthn requires of an RP id.
func validRPID(s string) bool {
	if s == "" || len(s) > 253 || strings.ContainsAny(s, ":/ ") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
