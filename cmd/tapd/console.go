package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/tapkiosk/tapkiosk/console"
	"github.com/tapkiosk/tapkiosk/recovery"
)

// consoleSettings are the helpdesk console's: its own listener, TLS
// certificate and URL (whose host name is the staff passkeys' rp id),
// the verification checklist and the kiosk instructions printed with a
// pass. No --console-listen, no console.
type consoleSettings struct {
	Listen       string
	URL          string
	TLSCert      string
	TLSKey       string
	Checklist    string
	Instructions string
}

func (s *consoleSettings) register(fs *flag.FlagSet) {
	fs.StringVar(&s.Listen, "console-listen", s.Listen, "address of the helpdesk console's own HTTPS listener (default: no console)")
	fs.StringVar(&s.URL, "console-url", s.URL, "the console's URL as staff's browsers reach it, https://HOST[:PORT]; HOST is the staff passkeys' rp id")
	fs.StringVar(&s.TLSCert, "console-tls-cert", s.TLSCert, "the console's TLS certificate file (PEM)")
	fs.StringVar(&s.TLSKey, "console-tls-key", s.TLSKey, "the console's TLS private key file (PEM)")
	fs.StringVar(&s.Checklist, "console-checklist", s.Checklist, `verification checklist staff tick before issuing a pass, items separated by ";" (e.g. "photo ID seen;called back on the number in HR's records")`)
	fs.StringVar(&s.Instructions, "console-kiosk-instructions", s.Instructions, "what the printed pass tells the person about the kiosk (where it is, what to bring)")
}

func (s consoleSettings) enabled() bool { return s.Listen != "" }

// validate checks the console's settings; the API's listener must be
// another address.
func (s consoleSettings) validate(apiListen string) []error {
	if !s.enabled() {
		if s.URL != "" || s.TLSCert != "" || s.TLSKey != "" {
			return []error{errors.New("--console-url and --console-tls-cert/--console-tls-key need --console-listen")}
		}
		return nil
	}
	var problems []error
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		problems = append(problems, fmt.Errorf("--console-listen %q: %v", s.Listen, err))
	} else if s.Listen == apiListen {
		problems = append(problems, errors.New("--console-listen must differ from --listen: the console has its own listener"))
	}
	if s.TLSCert == "" || s.TLSKey == "" {
		problems = append(problems, errors.New("the console needs --console-tls-cert and --console-tls-key: its cookie is Secure and passkeys need HTTPS"))
	}
	if _, err := recovery.NewConsoleRelyingParty(s.URL, ""); err != nil {
		problems = append(problems, fmt.Errorf("--console-url %q: %v", s.URL, err))
	}
	return problems
}

func (s consoleSettings) checklist() []string {
	var out []string
	for _, item := range strings.Split(s.Checklist, ";") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// consoleRP is the console's relying party, or nil with no console. Call
// it only on settings that validate.
func (s consoleSettings) consoleRP() *webauthn.WebAuthn {
	if !s.enabled() {
		return nil
	}
	rp, _ := recovery.NewConsoleRelyingParty(s.origin(), "")
	return rp
}

// server is the console's HTTPS server on its own listener, or nil.
func (s consoleSettings) server(svc *recovery.Service, logger *slog.Logger) (*http.Server, net.Listener, error) {
	if !s.enabled() {
		return nil, nil, nil
	}
	c, err := console.New(console.Config{Service: svc, Logger: logger.With("component", "console"), Origin: s.origin(),
		KioskInstructions: s.Instructions})
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return nil, nil, err
	}
	logger.Info("helpdesk console listening", "url", s.URL, "address", ln.Addr().String())
	hs := consoleLimits.server(c.Handler(), logger)
	hs.MaxHeaderBytes = 32 << 10
	return hs, ln, nil
}

// consoleLimits are the console listener's: the API's, with a fixed
// minute to write a page.
var consoleLimits = serverLimits{readHeader: 10 * time.Second, read: 30 * time.Second, write: time.Minute, idle: 2 * time.Minute}

// origin is the console URL as browsers send it in Origin: its host in
// lower case, without https's default port or a trailing slash. Both the
// passkeys' relying party and the console's check of a POST compare it
// with what the browser sends, so "https://Helpdesk.example.com:443/"
// must become "https://helpdesk.example.com" or every sign-in and form is
// refused. Call it only on settings that validate.
func (s consoleSettings) origin() string {
	u, err := url.Parse(s.URL)
	if err != nil {
		return strings.TrimRight(s.URL, "/")
	}
	host := strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" && p != "443" {
		host = net.JoinHostPort(host, p)
	}
	return "https://" + host
}
