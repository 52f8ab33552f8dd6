package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// startMetrics serves a tiny handler as the metrics listener does, under
// l, on a loopback port.
func startMetrics(t *testing.T, l serverLimits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	serveMetrics(ctx, ln, h, l, "", "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	return ln.Addr().String()
}

// keepAlive dials addr and sends one keep-alive GET, leaving the
// connection open; answered says whether its answer came within wait.
func keepAlive(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return c
}

func answered(c net.Conn, wait time.Duration) error {
	c.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// TestMetricsIdleConnectionClosed: a keep-alive connection left idle is
// closed by tapd after the idle timeout (before, with only a header
// timeout, it was held for good).
func TestMetricsIdleConnectionClosed(t *testing.T) {
	l := metricsLimits(defaultServeSettings())
	l.idle = 300 * time.Millisecond
	addr := startMetrics(t, l)
	c := keepAlive(t, addr)
	r := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// Now idle: the next read ends with tapd's close, long before ours.
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection not closed by tapd: %v", err)
	}
}

// TestMetricsConnectionCap: past the cap a connection is not served until
// one of the held ones goes; the held ones were all answered.
func TestMetricsConnectionCap(t *testing.T) {
	l := metricsLimits(defaultServeSettings())
	l.maxConns = 2
	addr := startMetrics(t, l)
	held := []net.Conn{keepAlive(t, addr), keepAlive(t, addr)}
	for i, c := range held {
		if err := answered(c, 10*time.Second); err != nil {
			t.Fatalf("connection %d within the cap: %v", i, err)
		}
	}
	extra := keepAlive(t, addr)
	if err := answered(extra, 500*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a third connection was served past a cap of 2: %v", err)
	}
	held[0].Close()
	if err := answered(extra, 10*time.Second); err != nil {
		t.Fatalf("the waiting connection was not served once a slot freed: %v", err)
	}
}

// TestMetricsHasAPITimeouts: the metrics listener keeps the API's
// timeouts, not just a header timeout.
func TestMetricsHasAPITimeouts(t *testing.T) {
	set := defaultServeSettings()
	m, a := metricsLimits(set), apiLimits(set)
	if m.read != a.read || m.write != a.write || m.idle != a.idle || m.readHeader != a.readHeader || m.maxConns <= 0 ||
		m.read <= 0 || m.write <= 0 || m.idle <= 0 {
		t.Fatalf("metrics %+v, api %+v", m, a)
	}
	hs := m.server(http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if hs.ReadTimeout != a.read || hs.WriteTimeout != a.write || hs.IdleTimeout != a.idle || hs.ReadHeaderTimeout != a.readHeader {
		t.Fatalf("server %+v", hs)
	}
}
