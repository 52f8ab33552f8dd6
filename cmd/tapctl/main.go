// Command tapctl is the admin CLI for tapd.
//
//	tapctl [--server URL] [--token-file F] [--json] <noun> <verb> [args]
//
// The server and token also come from TAPCTL_SERVER and TAPCTL_TOKEN or
// TAPCTL_TOKEN_FILE (two token sources at once are refused). Output is a table by default and JSON with --json.
// Exit status: 0 done, 1 tapd refused or failed, 2 usage error, 3 tapd not
// reachable.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/internal/cli"
)

const usage = `tapctl: administer tapd, the tapkiosk recovery service

Usage: tapctl [--server URL] [--token-file F] [--ca-file F] [--json] <noun> <verb> [args] [flags]
       tapctl <noun> <verb> --help         one command's usage and flags

  policy show                                    show the Temporary Access Pass policy
  policy set [--state S] [--min-lifetime D] [--max-lifetime D] [--default-lifetime D]
             [--length N] [--usable-once=BOOL] [--include T,...] [--exclude T,...]
                                                 targets are group:NAME or user:UPN; group:all_users is everyone
  user add UPN --name NAME [--guest internal|external] [--groups G1,G2] [--admin-role R]
  user get UPN | user list | user delete UPN
  user unlock [--revoke-kiosk] UPN               clear the account's pass sign-in locks, say which kiosk caused them (a new pass clears them too)
  user import FILE.csv [--partial]               columns: userPrincipalName,displayName,userType,guestKind,groups,adminRole
  tap create UPN [--start T] [--lifetime D] [--once]
                                                 the pass is printed once; T is RFC 3339 or a delay like 2h;
                                                 it replaces the person's pass and ends a session open with it
  tap show UPN | tap delete UPN
  methods list UPN | methods delete UPN ID       a user's methods (keys, the pass); remove one
  fido2-policy show
  fido2-policy set [--attestation-enforced=BOOL] [--restrictions off|allow|block] [--aaguids A,B]
` + stagingUsage + `  kiosk add NAME | kiosk list | kiosk revoke NAME
  token add NAME --role R [--expires D] | token list | token revoke NAME
                                                 roles: ` + "globalAdministrator, privilegedAuthenticationAdministrator,\n" +
	`                                                 authenticationAdministrator, policyAdministrator, reader
  staff invite NAME --role R                      a helpdesk console staff member: prints a one-time link (15 minutes)
                                                 that enrols their first passkey
  audit [--user U] [--action A] [--actor N] [--result success|failure] [--since T] [--until T] [--top N]

Durations: 90m, 8h, 2d or plain minutes (60).
Server: a URL with its scheme; the default, http://127.0.0.1:8443, is tapd's default listen address.
Environment: TAPCTL_SERVER, TAPCTL_TOKEN or TAPCTL_TOKEN_FILE (not both), TAPCTL_CA_FILE.
`

// stagingUsage is the staging commands, in the usage and alone for
// `tapctl staging` and `tapctl staging --help`.
const stagingUsage = `  staging create NAME (--users U1,U2 | --csv FILE | --group G)
                                                 a batch of people to register keys for; CSV columns upn,displayName,keyName;
                                                 G is a group's name (or its object id in Entra); --name NAME may replace NAME
  staging list | staging show NAME               batches with their counts; one batch's rows and their keys
  staging export NAME --format csv|json [--out FILE]
                                                 everyone in the batch: state, reason, names, and the key registered
  staging remove NAME UPN                        take a person out of the batch (not while their key is registered)
  staging reissue NAME UPN [--yes]               their staged key was lost: remove its registration, stage them anew
  staging delete NAME                            delete a batch that holds no registered key
`

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitUnreachable = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// app is one tapctl invocation.
type app struct {
	client *api.Client
	json   bool
	out    io.Writer
	now    func() time.Time
	// width is the terminal's width for tables: $COLUMNS, else 80.
	width int
}

// defaultServer is tapd's default listen address with its scheme: tapd
// serves plain HTTP on loopback unless given a certificate.
const defaultServer = "http://127.0.0.1:8443"

func run(args []string, stdout, stderr io.Writer) int {
	global := flag.NewFlagSet("tapctl", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	server := global.String("server", defaultServer, "tapd URL")
	tokenFile := global.String("token-file", "", "file holding an admin token")
	caFile := global.String("ca-file", "", "PEM file of CA certificates to trust for tapd's TLS")
	asJSON := global.Bool("json", false, "print JSON")
	help := global.Bool("help", false, "")
	global.BoolVar(help, "h", false, "")
	// Global flags come before the noun; parse them without the
	// interspersed mode so "tapctl tap create X --once" keeps --once.
	if err := global.Parse(args); err != nil {
		fmt.Fprintf(stderr, "tapctl: %v\n\n%s", err, usage)
		return exitUsage
	}
	rest := global.Args()
	if len(rest) > 0 && rest[0] == "help" && len(rest) > 1 {
		// "tapctl help tap create" is "tapctl tap create --help".
		rest = append(rest[1:], "--help")
	}
	if *help || len(rest) == 0 || rest[0] == "help" {
		// Asked for, help goes to stdout (so it pipes to a pager); as
		// the answer to no command at all, it is an error on stderr.
		if len(rest) == 0 && !*help {
			fmt.Fprint(stderr, usage)
			return exitUsage
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	set := map[string]bool{}
	global.Visit(func(f *flag.Flag) { set[f.Name] = true })
	source := func(name string) string {
		if set[name] {
			return "--" + name
		}
		return cli.EnvName("TAPCTL", name)
	}
	envOr := func(name string, v *string) {
		if !set[name] {
			if e, ok := os.LookupEnv(cli.EnvName("TAPCTL", name)); ok {
				*v = e
			}
		}
	}
	envOr("server", server)
	envOr("token-file", tokenFile)
	envOr("ca-file", caFile)
	if err := checkServer(source("server"), *server); err != nil {
		return report(err, *server, stderr)
	}

	token := os.Getenv("TAPCTL_TOKEN")
	if *tokenFile != "" {
		if token != "" {
			// Two tokens may be two identities; picking one silently could
			// act as the wrong administrator.
			return report(usagef("both TAPCTL_TOKEN and %s give an admin token; set only one", source("token-file")), *server, stderr)
		}
		b, err := cli.ReadPrivate(source("token-file"), *tokenFile)
		if err != nil {
			fmt.Fprintf(stderr, "tapctl: %v\n", err)
			return exitUsage
		}
		token = strings.TrimSpace(string(b))
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		pool := x509.NewCertPool()
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintf(stderr, "tapctl: --ca-file %s holds no PEM certificates\n", *caFile)
			return exitUsage
		}
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	client := api.NewClient(*server, token)
	client.HTTP = hc
	a := &app{client: client, json: *asJSON, out: stdout, now: time.Now, width: tableWidth(stdout, os.Getenv("COLUMNS"))}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := a.dispatch(ctx, rest)
	return report(err, *server, stderr)
}

// checkServer refuses a server without a scheme: "host:port" would
// otherwise parse as a URL whose scheme is the host.
func checkServer(name, server string) error {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("%s %q has no http:// or https:// scheme: give a URL, like https://tapd.example.com:8443 or %s (tapd's default: plain HTTP on loopback)", name, server, defaultServer)
	}
	return nil
}

// plainHTTPAnswer is Go's error when an https:// request reaches a server
// that speaks plain HTTP.
const plainHTTPAnswer = "server gave HTTP response to HTTPS client"

// report prints err as a sentence that says what to do, and picks the
// exit code.
func report(err error, server string, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ue usageError
	var ae *api.Error
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "tapctl: %v\nRun `tapctl help` for usage.\n", err)
		return exitUsage
	case errors.Is(err, api.ErrUnreachable) && strings.Contains(err.Error(), plainHTTPAnswer):
		fmt.Fprintf(stderr, "tapctl: tapd at %s speaks plain HTTP, not HTTPS. Use --server %s, or give tapd --tls-cert and --tls-key.\n  (%v)\n",
			server, "http://"+strings.TrimPrefix(server, "https://"), err)
		return exitUnreachable
	case errors.Is(err, api.ErrUnreachable):
		fmt.Fprintf(stderr, "tapctl: cannot reach tapd at %s. Is it running? Point tapctl at it with --server or TAPCTL_SERVER.\n  (%v)\n", server, err)
		return exitUnreachable
	case errors.As(err, &ae):
		fmt.Fprintf(stderr, "tapctl: %s\n", ae.Message)
		switch ae.Status {
		case http.StatusUnauthorized:
			fmt.Fprintln(stderr, "  Check the admin token: --token-file, TAPCTL_TOKEN_FILE or TAPCTL_TOKEN.")
		case http.StatusForbidden:
			if ae.Code == api.CodeForbidden {
				fmt.Fprintln(stderr, "  Ask a global administrator for a token with a role that allows this.")
			}
		}
		for _, r := range ae.Rows {
			fmt.Fprintf(stderr, "  row %d %s: %s\n", r.Row, r.UserPrincipalName, r.Message)
		}
		if more := ae.RowsFailed - len(ae.Rows); more > 0 {
			fmt.Fprintf(stderr, "  ... and %d more\n", more)
		}
		fmt.Fprintf(stderr, "  (code %s, request id %s)\n", ae.Code, ae.RequestID)
		return exitFailed
	}
	fmt.Fprintf(stderr, "tapctl: %v\n", err)
	return exitFailed
}

func (a *app) dispatch(ctx context.Context, args []string) error {
	noun := args[0]
	verb := ""
	if len(args) > 1 {
		verb = args[1]
	}
	rest := []string{}
	if len(args) > 2 {
		rest = args[2:]
	}
	switch noun + " " + verb {
	case "policy show":
		return a.policyShow(ctx, rest)
	case "policy set":
		return a.policySet(ctx, rest)
	case "user add":
		return a.userAdd(ctx, rest)
	case "user get":
		return a.userGet(ctx, rest)
	case "user list":
		return a.userList(ctx, rest)
	case "user delete":
		return a.userDelete(ctx, rest)
	case "user import":
		return a.userImport(ctx, rest)
	case "user unlock":
		return a.userUnlock(ctx, rest)
	case "tap create":
		return a.tapCreate(ctx, rest)
	case "tap show":
		return a.tapShow(ctx, rest)
	case "tap delete":
		return a.tapDelete(ctx, rest)
	case "kiosk add":
		return a.kioskAdd(ctx, rest)
	case "kiosk list":
		return a.kioskList(ctx, rest)
	case "kiosk revoke":
		return a.kioskRevoke(ctx, rest)
	case "token add":
		return a.tokenAdd(ctx, rest)
	case "staff invite":
		return a.staffInvite(ctx, rest)
	case "token list":
		return a.tokenList(ctx, rest)
	case "token revoke":
		return a.tokenRevoke(ctx, rest)
	case "methods list":
		return a.methodsList(ctx, rest)
	case "methods delete":
		return a.methodsDelete(ctx, rest)
	case "fido2-policy show":
		return a.fido2PolicyShow(ctx, rest)
	case "fido2-policy set":
		return a.fido2PolicySet(ctx, rest)
	case "staging create":
		return a.stagingCreate(ctx, rest)
	case "staging list":
		return a.stagingList(ctx, rest)
	case "staging show":
		return a.stagingShow(ctx, rest)
	case "staging export":
		return a.stagingExport(ctx, rest)
	case "staging remove":
		return a.stagingRemove(ctx, rest)
	case "staging reissue":
		return a.stagingReissue(ctx, rest)
	case "staging delete":
		return a.stagingDelete(ctx, rest)
	case "staging ", "staging help", "staging --help", "staging -h", "staging -help":
		fmt.Fprint(a.out, "Staging: IT registers keys for people before handing them out.\n\n"+stagingUsage+
			"\nOne command's flags: tapctl staging <verb> --help. The staging kiosk: kiosk --staging (see the README).\n")
		return nil
	}
	if noun == "audit" {
		return a.audit(ctx, args[1:])
	}
	return usagef("unknown command %q", strings.TrimSpace(noun+" "+verb))
}

// flags makes a command's flag set; --json is accepted anywhere.
func (a *app) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&a.json, "json", a.json, "print JSON")
	return fs
}

// parse parses a command's flags and checks the count of positional args.
// --help prints the command's usage and flags to stdout.
func (a *app) parse(fs *flag.FlagSet, args []string, want int, what string) ([]string, error) {
	return a.parseRange(fs, args, want, want, what)
}

// parseRange is parse for a command taking lo to hi positional args.
func (a *app) parseRange(fs *flag.FlagSet, args []string, lo, hi int, what string) ([]string, error) {
	pos, err := cli.Parse(fs, args, "")
	if errors.Is(err, flag.ErrHelp) {
		a.commandHelp(fs, what)
		return nil, err
	}
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %v", fs.Name(), err)}
	}
	if len(pos) < lo || len(pos) > hi {
		if hi == 0 {
			return nil, usagef("%s takes no arguments", fs.Name())
		}
		synopsis, _, _ := strings.Cut(what, "\n")
		return nil, usagef("usage: tapctl %s %s", fs.Name(), synopsis)
	}
	return pos, nil
}

// commandHelp prints one command's usage line and its flags.
func (a *app) commandHelp(fs *flag.FlagSet, what string) {
	line := strings.TrimSpace("tapctl " + fs.Name() + " " + what)
	fmt.Fprintf(a.out, "Usage: %s\n\nFlags:\n", line)
	w := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		arg := " VALUE"
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			arg = ""
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			def = " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(w, "  --%s%s\t%s%s\n", f.Name, arg, f.Usage, def)
	})
	w.Flush()
	fmt.Fprintln(a.out, "\nGlobal flags (before the command): --server URL, --token-file F, --ca-file F, --json. See `tapctl help`.")
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// tableWidth is the width tables wrap at: on a terminal, termWidth; into
// a pipe or a file, 0 (no wrapping), so a script reading tapctl's output
// gets each row on one line, as before.
func tableWidth(out io.Writer, columns string) int {
	if f, ok := out.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return termWidth(columns)
		}
	}
	return 0
}

// termWidth is the width tables wrap at on a terminal: COLUMNS when the
// shell exports it (a number of at least 40), else 80.
func termWidth(columns string) int {
	if n, err := strconv.Atoi(columns); err == nil && n >= 40 {
		return n
	}
	return 80
}
