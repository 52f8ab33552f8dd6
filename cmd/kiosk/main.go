// Command kiosk is the walk-up recovery kiosk: a full-screen terminal app
// that signs a person in with a Temporary Access Pass, registers their
// security key through libfido2, helps them remove lost methods and deletes
// the pass.
//
//	kiosk --server https://tapd.example.com --token-file /etc/tapkiosk/kiosk.token
//
// With --staging it is instead IT's station for enrolling a batch of keys
// for people (see staging.go):
//
//	kiosk --staging --server https://tapd.example.com --token-file ~/operator.token --csv new-hires.csv --letters ~/letters
//
// Every flag may also be set as KIOSK_<FLAG> or in a --config file. The
// demo build (go build -tags demo) adds --virtual-key.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/internal/cli"
	"github.com/tapkiosk/tapkiosk/tui"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func defaultLog() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "tapkiosk", "kiosk.log")
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("kiosk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "tapd URL, e.g. https://tapd.example.com")
	tokenFile := fs.String("token-file", "", "file holding this kiosk's token (tapctl kiosk add); with --staging, the operator's admin token (tapctl token add)")
	caFile := fs.String("ca-file", "", "PEM CA certificates to trust for tapd's TLS")
	org := fs.String("org", "", "organisation name shown on every screen")
	lang := fs.String("lang", "en", "language: "+strings.Join(tui.Languages(), ", "))
	theme := fs.String("theme", "auto", "auto, dark, light, contrast or plain (NO_COLOR also means plain)")
	idle := fs.Duration("idle", 60*time.Second, "ask \"still there?\" after this long without input (with --staging: stop after this long, default 10m)")
	touch := fs.Duration("touch-timeout", 60*time.Second, "how long to wait for a touch")
	logFile := fs.String("log-file", defaultLog(), "where the kiosk logs (never the screen)")
	kioskMode := fs.Bool("kiosk-mode", true, "ignore Ctrl+C, Ctrl+Z and Ctrl+\\; exit only with the admin chord and code")
	chord := fs.String("admin-chord", "ctrl+alt+x", "key chord that opens the admin exit")
	codeFile := fs.String("admin-code-file", "", "file holding the admin exit code")
	fs.String("config", "", "config file of name = value lines")
	demo := addDemoFlags(fs)
	stage := addStagingFlags(fs)
	if _, err := cli.Parse(fs, args, "KIOSK"); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "kiosk:", err)
		return 2
	}

	// Check everything first and report every problem at once.
	var problems []string
	u, err := url.Parse(*server)
	switch {
	case *server == "":
		problems = append(problems, "--server is required (the tapd URL, e.g. https://tapd.example.com)")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		problems = append(problems, fmt.Sprintf("--server %q is not an http(s) URL", *server))
	}
	token := ""
	if *tokenFile == "" {
		problems = append(problems, "--token-file is required (the kiosk token from `tapctl kiosk add`)")
	} else if b, err := cli.ReadPrivate("--token-file", *tokenFile); err != nil {
		problems = append(problems, err.Error())
	} else if token = strings.TrimSpace(string(b)); *stage.on && !strings.HasPrefix(token, api.AdminTokenPrefix) {
		problems = append(problems, fmt.Sprintf("--token-file %s does not hold an admin token (it should start with %s): staging mode signs in as an operator, with `tapctl token add`'s token", *tokenFile, api.AdminTokenPrefix))
	} else if !*stage.on && !strings.HasPrefix(token, api.KioskTokenPrefix) {
		problems = append(problems, fmt.Sprintf("--token-file %s does not hold a kiosk token (it should start with %s)", *tokenFile, api.KioskTokenPrefix))
	}
	problems = append(problems, stage.problems(*org, *lang)...)
	if _, err := tui.NewT(*lang); err != nil {
		problems = append(problems, "--lang: "+err.Error())
	}
	switch *theme {
	case "auto", "dark", "light", "contrast", "plain":
	default:
		problems = append(problems, fmt.Sprintf("--theme %q: use auto, dark, light, contrast or plain", *theme))
	}
	if *idle < 10*time.Second {
		problems = append(problems, "--idle must be at least 10s")
	}
	adminCode := ""
	if *kioskMode && !*stage.on && *codeFile == "" {
		// Kiosk mode ignores Ctrl+C; without a code the admin chord does
		// nothing either, and only a kill would stop the kiosk.
		problems = append(problems, fmt.Sprintf("kiosk mode (the default) needs --admin-code-file: a file holding the code (4 characters or more) that, after %s, exits the kiosk; without it nothing but a kill stops the kiosk. Give --admin-code-file FILE, or --kiosk-mode=false to let Ctrl+C exit", *chord))
	}
	if *codeFile != "" {
		if b, err := os.ReadFile(*codeFile); err != nil {
			problems = append(problems, fmt.Sprintf("--admin-code-file: %v", err))
		} else if adminCode = strings.TrimSpace(string(b)); len(adminCode) < 4 {
			problems = append(problems, "--admin-code-file: the code must be at least 4 characters")
		}
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		pool := x509.NewCertPool()
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			problems = append(problems, fmt.Sprintf("--ca-file %s holds no PEM certificates", *caFile))
		}
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	if err := os.MkdirAll(filepath.Dir(*logFile), 0o700); err != nil {
		problems = append(problems, fmt.Sprintf("--log-file: %v", err))
	}
	lf, err := os.OpenFile(*logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		problems = append(problems, fmt.Sprintf("--log-file: %v", err))
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stderr, "kiosk:", p)
		}
		return 2
	}
	defer lf.Close()
	logger := slog.New(slog.NewJSONHandler(lf, nil))
	if os.Getenv("NO_COLOR") != "" && *theme == "auto" {
		*theme = "plain"
	}
	if err := demo.start(logger); err != nil {
		fmt.Fprintln(stderr, "kiosk:", err)
		return 2
	}
	defer demo.stop()

	client := api.NewClient(*server, token)
	client.HTTP = hc
	if *stage.on {
		// --idle keeps its walk-up default (a minute) only where it was
		// not given: an operator at work pauses longer than a passer-by.
		sc := tui.StagingConfig{Org: *org, Lang: *lang, Theme: *theme, Touch: *touch, ASCII: tui.ConsoleTerm(os.Getenv("TERM"))}
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "idle" {
				sc.Idle = *idle
			}
		})
		return runStaging(stage, client, sc, demo.serial, logger, stderr)
	}
	m, err := tui.New(tui.Config{Org: *org, Lang: *lang, Theme: *theme, Idle: *idle, Touch: *touch, Now: demo.now(),
		KioskMode: *kioskMode, AdminChord: *chord, AdminCode: adminCode, ASCII: tui.ConsoleTerm(os.Getenv("TERM"))}, &tui.Live{Client: client, Log: logger})
	if err != nil {
		fmt.Fprintln(stderr, "kiosk:", err)
		return 2
	}
	logger.Info("kiosk starting", "server", *server, "lang", *lang, "kiosk_mode", *kioskMode)
	// Bubble Tea's renderer wakes at its frame rate whether or not the
	// screen changed (it then compares the frame and writes nothing), and a
	// kiosk waits at Welcome most of its day: 30 fps took half the idle
	// CPU of 120 (measured side by side at Welcome: 1.4% against 2.6% of
	// a core; README). The price is the first frame, written on the
	// renderer's first tick: 33 ms after Run instead of 8.3, and a key
	// press echoed within 33 ms.
	if _, err := tea.NewProgram(m, tea.WithFPS(kioskFPS)).Run(); err != nil {
		logger.Error("kiosk stopped", "err", err)
		fmt.Fprintln(stderr, "kiosk:", err)
		return 1
	}
	logger.Info("kiosk stopped")
	return 0
}

// kioskFPS is the renderer's frame rate (see run).
const kioskFPS = 30
