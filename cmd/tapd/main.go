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
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
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

  tapd entra-check --user UPN [--guest UPN] [--write] --tenant-id T --client-id C (credential flags as for serve)
                                        ask a test tenant what the docs leave open; read-only unless --write

Database URLs: sqlite:///path/to/tapd.db (default: %s)
               postgres://user:pass@host/db?sslmode=...
Every flag may also be set as TAPD_<FLAG> (TAPD_DB, TAPD_LISTEN, ...) or in a
config file given by --config (lines of "name = value").
Run "tapd init -h" or "tapd serve -h" for every flag.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// packagedConfig is the config file the packages install and tapd.service
// reads: `tapd init` with no database named refuses to make one of its own
// while it exists, since the service would not use that one.
const packagedConfig = "/etc/tapkiosk/tapd.conf"

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
		err = cmdInit(args[1:], stdout, stderr, packagedConfig)
	case "serve":
		err = cmdServe(args[1:], stderr)
	case "entra-check":
		err = cmdEntraCheck(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "tapd: unknown command %q; use init, serve or entra-check\n", args[0])
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

// parse reads the flags, the TAPD_ environment and the config file, and
// says where each setting came from.
func parse(fs *flag.FlagSet, args []string) (cli.Sources, error) {
	pos, src, err := cli.ParseSources(fs, args, "TAPD")
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err}
	}
	if len(pos) > 0 {
		return nil, usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	return src, nil
}

// cmdInit creates or migrates the database. It accepts every setting of
// tapd serve, so that serve's config file (tapd.conf) and TAPD_
// environment name the same database for both, but uses only db (and shows
// only its own flags in -h). packaged is the packages' config file.
func cmdInit(args []string, stdout, stderr io.Writer, packaged string) error {
	set := defaultServeSettings()
	fs := newFlags("init", stderr)
	set.register(fs)
	asJSON := fs.Bool("json", false, `print {"adminToken": "..."} instead of text`)
	name := fs.String("token-name", "initial-admin", "name of the first admin token")
	fs.String("config", "", "config file of name = value lines (tapd serve's: only db is used)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage of tapd init (it also accepts, and ignores, every other setting of tapd serve):")
		for _, n := range []string{"db", "config", "json", "token-name"} {
			f := fs.Lookup(n)
			fmt.Fprintf(stderr, "  -%s\n    \t%s (default %q)\n", f.Name, f.Usage, f.DefValue)
		}
	}
	src, err := parse(fs, args)
	if err != nil {
		return err
	}
	if src.Of("db") == "default" {
		if _, err := os.Stat(packaged); err == nil {
			return usageError{fmt.Errorf("no database named (--db, TAPD_DB or --config), and this machine has %s: run `tapd init --config %s` to prepare the database tapd.service uses, or name one with --db; tapd init made nothing", packaged, packaged)}
		}
	}
	fmt.Fprintf(stderr, "tapd init: database %s (from %s)\n", store.Describe(set.DB), src.Of("db"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, set.DB)
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
	set := defaultServeSettings()
	fs := newFlags("serve", stderr)
	set.register(fs)
	fs.String("config", "", "config file of name = value lines")
	src, err := parse(fs, args)
	if err != nil {
		return err
	}
	fromCredentials(fs, os.Getenv("CREDENTIALS_DIRECTORY"))
	if err := set.Validate(); err != nil {
		return usageError{err}
	}
	logger := set.logger(stderr)
	for _, w := range set.warnings() {
		logger.Warn(w)
	}
	setMemoryLimit(set, logger)
	// Which database, and which setting chose it: a TAPD_DB left in the
	// environment beats the config file, and this line shows it.
	logger.Info("store", "database", store.Describe(set.DB), "from", src.Of("db"))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	st, err := store.Open(openCtx, set.DB)
	cancel()
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckSchema(ctx); err != nil {
		if errors.Is(err, store.ErrSchema) {
			return fmt.Errorf("the database (%s) is not initialised or is older than this tapd: run `tapd init` with the same settings first (--config FILE or --db URL)", store.Describe(set.DB))
		}
		return err
	}
	trust, err := recovery.LoadTrust(set.AttestationRoots, set.MDSBlob, set.MDSRoot)
	if err != nil {
		return err
	}
	for _, src := range trust.Sources() {
		logger.Info("attestation trust", "source", src)
	}
	if len(trust.Sources()) == 0 {
		logger.Info("attestation trust", "source", "none: keys register as notAttested, and enforced attestation refuses every key")
	}
	rp, err := recovery.NewRelyingParty(set.RPID, set.RPName)
	if err != nil {
		return err
	}
	ops, err := openServices(set.Ops, st, logger)
	if err != nil {
		return err
	}
	defer ops.close()
	set.Entra.HTTP = ops.graphHTTP()
	// The one place that chooses the directory; nothing below asks.
	var dir directory.Directory = local.New(local.Config{Store: st, RP: rp, Argon2: recovery.Defaults.Argon2, Now: time.Now})
	if set.Directory == "entra" {
		gc, cloud, err := connectEntra(ctx, set.Entra, logger)
		if err != nil {
			return err
		}
		dir = entra.New(entra.Config{Graph: gc, Store: st, Argon2: recovery.Defaults.Argon2, Now: time.Now, Logger: logger, Cloud: cloud})
	}
	svc, err := recovery.New(recovery.Config{Store: st, Directory: dir, RP: rp, Logger: logger, SessionLimit: set.SessionLimit, Trust: trust,
		HashQueue: set.hashQueue(), HashRunners: set.hashRunners(), Observer: ops.observer(), Notify: ops.notify(),
		ConsoleRP: set.Console.consoleRP(), Checklist: set.Console.checklist()})
	if err != nil {
		return err
	}
	proxies, _ := set.proxies() // Validate checked them
	consoleURL := ""
	if set.Console.enabled() {
		consoleURL = set.Console.URL
	}
	srv, err := server.New(server.Config{Service: svc, Logger: logger, TrustedProxies: proxies, ConsoleURL: consoleURL})
	if err != nil {
		return err
	}
	hs := apiLimits(set).server(srv.Handler(), logger)
	hs.MaxHeaderBytes = srv.HTTPMaxHeaderBytes()
	ln, err := net.Listen("tcp", set.Listen)
	if err != nil {
		return err
	}
	scheme := "http"
	if set.useTLS() {
		scheme = "https"
	}
	logger.Info("tapd listening", "url", scheme+"://"+ln.Addr().String(), "session_limit", set.SessionLimit.String(), "rp_id", set.RPID)

	if err := ops.run(ctx, set, set.hashQueue(), logger); err != nil {
		return err
	}
	if err := servePprof(ctx, set, logger); err != nil {
		return err
	}
	go sweep(ctx, st, logger)
	cs, cln, err := set.Console.server(svc, logger)
	if err != nil {
		return err
	}
	errc := make(chan error, 2)
	go func() {
		if set.useTLS() {
			errc <- hs.ServeTLS(ln, set.TLSCert, set.TLSKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	if cs != nil {
		go func() { errc <- cs.ServeTLS(cln, set.Console.TLSCert, set.Console.TLSKey) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", set.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), set.ShutdownTimeout)
	defer cancel()
	if cs != nil {
		if err := cs.Shutdown(sctx); err != nil {
			return fmt.Errorf("console shutdown: %w", err)
		}
	}
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// connectEntra builds the Graph client and proves, before tapd listens,
// that it can sign in and has every permission the kiosk flow needs. In a
// cloud without the key registration API it says so, once, and the
// directory refuses registrations.
func connectEntra(ctx context.Context, s entra.Settings, logger *slog.Logger) (*graph.Client, entra.Cloud, error) {
	gc, err := s.Client()
	if err != nil {
		return nil, entra.Cloud{}, err
	}
	cloud := entra.CloudOf(gc.BaseURL)
	cred := "certificate"
	switch {
	case s.SecretFile != "":
		cred = "client secret"
	case s.ManagedIdentity:
		cred = "managed identity"
	}
	logger.Info("directory", "kind", "entra", "tenant", s.TenantID, "client_id", s.ClientID, "credential", cred, "graph", gc.BaseURL, "cloud", cloud.Name)
	if !cloud.Registration {
		logger.Warn("key registration refused", "why", cloud.NoRegistration())
	}
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	proof, err := entra.Permissions(cctx, gc, cloud)
	if err == nil {
		err = proof.Err()
	}
	if err != nil {
		return nil, cloud, fmt.Errorf("the Entra directory is not usable: %w", err)
	}
	for _, np := range proof.NotProved {
		logger.Warn("permission not proved", "permission", np)
	}
	logger.Info("directory ready", "kind", "entra")
	return gc, cloud, nil
}

// cmdEntraCheck runs the tenant check with tapd's own Graph credentials
// (tapctl has none: it only talks to tapd).
func cmdEntraCheck(args []string, stdout, stderr io.Writer) error {
	set := defaultServeSettings().Entra // the same defaults as tapd serve's
	fs := newFlags("entra-check", stderr)
	registerEntra(fs, &set)
	var tc entra.TenantCheck
	fs.StringVar(&tc.User, "user", "", "a test member's UPN to ask about (required)")
	fs.StringVar(&tc.Guest, "guest", "", "an external guest's UPN, to see the refusal of a pass")
	fs.BoolVar(&tc.Write, "write", false, "also create and delete at once: a pass for --user (replacing theirs) and --guest, and test keys for --user")
	fs.String("config", "", "config file of name = value lines")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if tc.User == "" {
		return usageError{errors.New("--user UPN is required: a test member of the tenant")}
	}
	if err := set.Validate(); err != nil {
		return usageError{err}
	}
	gc, err := set.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cloud := entra.CloudOf(gc.BaseURL)
	fmt.Fprintf(stdout, "%-36s %s\n", "cloud:", cloud.Name)
	proof, err := entra.Permissions(ctx, gc, cloud)
	if err == nil {
		err = proof.Err()
	}
	if err != nil {
		fmt.Fprintf(stdout, "%-36s %v\n", "permissions:", err)
	} else {
		fmt.Fprintf(stdout, "%-36s every one tapd could prove\n", "permissions:")
	}
	for _, np := range proof.NotProved {
		fmt.Fprintf(stdout, "%-36s %s\n", "permission not proved:", np)
	}
	return tc.Run(ctx, gc, stdout)
}

// writeTimeout is how long tapd may take over one answer: a minute, and in
// Entra mode also as long as it may wait on Graph's throttling, so that a
// wait tapd honours does not end in a cut connection.
func writeTimeout(set serveSettings) time.Duration {
	if set.Directory == "entra" {
		return time.Minute + set.Entra.MaxRetryAfter
	}
	return time.Minute
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
			if _, err := st.DeleteExpiredStaffSessions(ctx, time.Now(), time.Now().Add(-recovery.StaffSessionIdle)); err != nil {
				log.Warn("console session sweep failed", "err", err)
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

// setMemoryLimit gives Go's garbage collector a soft limit of the memory
// the pass checks computing at once hold plus room for the rest of tapd,
// so that the 19 MiB each check leaves behind is collected before the
// process grows past it (without it, 13 checks at once peaked at 547 MiB).
// Only --hash-runners checks compute at once, so that, not the admission
// budget, is what the limit makes room for. GOMEMLIMIT, when set, wins.
func setMemoryLimit(set serveSettings, logger *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := memoryLimit(set)
	debug.SetMemoryLimit(limit)
	logger.Debug("memory limit", "mib", limit>>20)
}

// memoryLimit is the soft limit setMemoryLimit sets.
func memoryLimit(set serveSettings) int64 { return set.hashPeak() + memoryHeadroom }

// memoryHeadroom is what tapd needs beside pass checks: the database, TLS,
// 10,000 sessions' polls (82 MB RSS in all at the end of `make load`).
const memoryHeadroom = 128 << 20
