package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// serverLimits bound what one client can hold of a listener: how long it
// may take over a request's header, its body and the answer, how long an
// idle keep-alive connection is kept, and (when maxConns > 0) how many
// connections are served at once; more wait in the kernel's accept queue,
// costing tapd no descriptor.
type serverLimits struct {
	readHeader, read, write, idle time.Duration
	maxConns                      int
}

// apiLimits are the API listener's.
func apiLimits(set serveSettings) serverLimits {
	return serverLimits{readHeader: 10 * time.Second, read: 30 * time.Second, write: writeTimeout(set), idle: 2 * time.Minute}
}

// metricsMaxConns caps the metrics listener: a scraper or two need a
// connection each. Without the cap (and with only a header timeout),
// 1,000 keep-alive connections took tapd from 17 to 1,023 descriptors and
// held them for minutes.
const metricsMaxConns = 32

// metricsLimits are the API's timeouts with the connection cap.
func metricsLimits(set serveSettings) serverLimits {
	l := apiLimits(set)
	l.maxConns = metricsMaxConns
	return l
}

// server is an http.Server for h under l.
func (l serverLimits) server(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: l.readHeader, ReadTimeout: l.read, WriteTimeout: l.write, IdleTimeout: l.idle,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
}

// listener applies the connection cap to ln.
func (l serverLimits) listener(ln net.Listener) net.Listener {
	if l.maxConns > 0 {
		return netutil.LimitListener(ln, l.maxConns)
	}
	return ln
}

// serveMetrics serves h on ln under l (TLS when certFile is set) until
// ctx ends.
func serveMetrics(ctx context.Context, ln net.Listener, h http.Handler, l serverLimits, certFile, keyFile string, logger *slog.Logger) {
	hs := l.server(h, logger)
	ln = l.listener(ln)
	go func() {
		var err error
		if certFile != "" {
			err = hs.ServeTLS(ln, certFile, keyFile)
		} else {
			err = hs.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
}
