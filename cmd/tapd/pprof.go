package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// Profiling is opt-in (--pprof-listen, off by default) and only ever on a
// literal loopback address: a profile shows request paths and timings,
// and /debug/pprof/profile costs CPU while it runs, so it is for an
// operator on the host (or the load tool), never for the network. No TLS
// and no token, for the same reason.

// validatePprof checks --pprof-listen: empty, or host:port with a
// loopback IP (not a name, which a resolver could point elsewhere).
func validatePprof(addr string) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--pprof-listen %q: %v", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--pprof-listen %q: only a loopback IP address (127.0.0.1:6060, [::1]:6060)", addr)
	}
	return nil
}

// pprofHandler serves Go's profiles under /debug/pprof/ on its own mux
// (tapd never serves http.DefaultServeMux, where the package also adds
// them).
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// pprofLimits are the metrics listener's, with a few connections and a
// write timeout of five minutes. (net/http/pprof moves a profile's write
// deadline out by the seconds asked for, so a longer profile is not cut
// off by it either; the five minutes are older than that knowledge.)
func pprofLimits(set serveSettings) serverLimits {
	l := metricsLimits(set)
	l.write = 5*time.Minute + 10*time.Second
	l.maxConns = 4
	return l
}

// servePprof opens --pprof-listen, when set, and serves the profiles on
// it until ctx ends.
func servePprof(ctx context.Context, set serveSettings, logger *slog.Logger) error {
	if set.PprofListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", set.PprofListen)
	if err != nil {
		return fmt.Errorf("--pprof-listen: %w", err)
	}
	logger.Warn("profiling endpoint open (loopback only)", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	serveMetrics(ctx, ln, pprofHandler(), pprofLimits(set), "", "", logger)
	return nil
}
