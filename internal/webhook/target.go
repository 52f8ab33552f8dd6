package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Where notifications may go. They name people, so they travel over
// https://; plain http:// is allowed only to loopback (a receiver on the
// same machine). The rule is checked twice: on the URL as the operator
// gave it (CheckURL, at start-up), and on the address each connection
// actually dials (the dialer's Control), so a name that resolves
// elsewhere, or a proxy, cannot carry a plain-HTTP notification off the
// machine. No redirect is followed: a 3xx is a failed delivery, so the
// body, its signature and its Idempotency-Key go to the operator's URL
// and nowhere else.

// CheckURL parses raw and applies the rule to it. Its errors never repeat
// the URL (it may hold a password); name it with Redact.
func CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("must be an https:// URL")
	}
	if u.Scheme == "http" && !loopbackName(u.Hostname()) {
		return nil, errors.New("notifications name people, so they go over https:// (plain http only to loopback)")
	}
	return u, nil
}

// Redact is raw fit to print: any userinfo (a user name may be a token as
// much as a password is) becomes "redacted". A URL that does not parse is
// not printed at all.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	if u.User != nil {
		u.User = url.User("redacted")
	}
	return u.String()
}

func loopbackName(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// dialControl checks the address a connection is about to dial, after
// name resolution and before any packet leaves: for plain http it must be
// a loopback address.
func dialControl(scheme string) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if scheme != "http" {
			return nil
		}
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("refusing plain HTTP to %s, which is not a loopback address", host)
		}
		return nil
	}
}

// client is the delivery client for u: a fresh transport whose dialer
// applies the rule, no proxy for plain http (it is for loopback only), and
// no redirects.
func client(u *url.URL, timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: dialControl(u.Scheme)}
	tr.DialContext = d.DialContext
	if u.Scheme == "http" {
		tr.Proxy = nil
	}
	return &http.Client{Timeout: timeout, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
