// Command tapctl is the admin CLI for tapd.
//
//	tapctl [--server URL] [--token-file F] [--json] <noun> <verb> [args]
//
// The server and token also come from TAPCTL_SERVER and TAPCTL_TOKEN (or
// TAPCTL_TOKEN_FILE). Output is a table by default and JSON with --json.
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
	"os"
	"strings"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/internal/cli"
)

const usage = `tapctl: administer tapd, the tapkiosk recovery service

Usage: tapctl [--server URL] [--token-file F] [--ca-file F] [--json] <noun> <verb> [args] [flags]

  policy show                                    show the Temporary Access Pass policy
  policy set [--state S] [--min-lifetime D] [--max-lifetime D] [--default-lifetime D]
             [--length N] [--usable-once=BOOL] [--include T,...] [--exclude T,...]
                                                 targets are group:NAME or user:UPN; group:all_users is everyone
  user add UPN --name NAME [--guest internal|external] [--groups G1,G2] [--admin-role R]
  user get UPN | user list | user delete UPN
  user unlock UPN                                clear the account's pass sign-in lock (a new pass clears it too)
  user import FILE.csv [--partial]               columns: userPrincipalName,displayName,userType,guestKind,groups,adminRole
  tap create UPN [--start T] [--lifetime D] [--once]
                                                 the pass is printed once; T is RFC 3339 or a delay like 2h
  tap show UPN | tap delete UPN
  methods list UPN | methods delete UPN ID       a user's methods (keys, the pass); remove one
  fido2-policy show
  fido2-policy set [--attestation-enforced=BOOL] [--restrictions off|allow|block] [--aaguids A,B]
  staging create NAME (--users U1,U2 | --csv FILE)
                                                 a batch of people to register keys for; CSV columns upn,displayName,keyName
  staging list | staging show NAME               batches with their counts; one batch's rows
  staging export NAME --format csv|json [--out FILE]
                                                 the registered keys: upn, method id, AAGUID, model, serial, credential id
  kiosk add NAME | kiosk list | kiosk revoke NAME
  token add NAME --role R [--expires D] | token list | token revoke NAME
                                                 roles: ` + "globalAdministrator, privilegedAuthenticationAdministrator,\n" +
	`                                                 authenticationAdministrator, policyAdministrator, reader
  audit [--user U] [--action A] [--actor N] [--result success|failure] [--since T] [--until T] [--top N]

Durations: 90m, 8h, 2d or plain minutes (60).
Environment: TAPCTL_SERVER, TAPCTL_TOKEN or TAPCTL_TOKEN_FILE, TAPCTL_CA_FILE.
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
}

func run(args []string, stdout, stderr io.Writer) int {
	global := flag.NewFlagSet("tapctl", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	server := global.String("server", "https://127.0.0.1:8443", "tapd URL")
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
	if *help || len(rest) == 0 || rest[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(rest) == 0 && !*help {
			return exitUsage
		}
		return exitOK
	}
	set := map[string]bool{}
	global.Visit(func(f *flag.Flag) { set[f.Name] = true })
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

	token := os.Getenv("TAPCTL_TOKEN")
	if *tokenFile != "" {
		name := "--token-file"
		if !set["token-file"] {
			name = cli.EnvName("TAPCTL", "token-file")
		}
		b, err := cli.ReadPrivate(name, *tokenFile)
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
	a := &app{client: client, json: *asJSON, out: stdout, now: time.Now}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := a.dispatch(ctx, rest)
	return report(err, *server, stderr)
}

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
func parse(fs *flag.FlagSet, args []string, want int, what string) ([]string, error) {
	pos, err := cli.Parse(fs, args, "")
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %v", fs.Name(), err)}
	}
	if len(pos) != want {
		if want == 0 {
			return nil, usagef("%s takes no arguments", fs.Name())
		}
		return nil, usagef("usage: tapctl %s %s", fs.Name(), what)
	}
	return pos, nil
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
