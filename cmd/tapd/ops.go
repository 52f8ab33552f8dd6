package main

import (
	"net"

	"github.com/tapkiosk/tapkiosk/recovery"
)

// warnings are settings that are allowed but probably wrong, said once at
// start-up. Call it only on settings that validate.
func (s serveSettings) warnings() []string {
	var out []string
	host, _, _ := net.SplitHostPort(s.Listen)
	if s.RPID == recovery.DefaultRPID && !isLoopback(host) {
		out = append(out, "--rp-id is still localhost, but tapd listens on "+s.Listen+": kiosks elsewhere will declare the origin https://localhost, "+
			"and keys registered now belong to localhost. Set --rp-id to your domain (example.com) before registering keys")
	}
	return out
}
