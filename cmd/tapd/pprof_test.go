package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/recovery"
)

// TestPprofServesOnLoopback: --pprof-listen serves the profile index and
// a heap profile; without it nothing listens.
func TestPprofServesOnLoopback(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &strings.Builder{}
	set := defaultServeSettings()
	if err := servePprof(ctx, set, slog.New(slog.NewTextHandler(logs, nil))); err != nil || logs.Len() != 0 {
		t.Fatalf("pprof off: err %v, logged %q", err, logs)
	}
	set.PprofListen = "127.0.0.1:0"
	if err := servePprof(ctx, set, slog.New(slog.NewTextHandler(logs, nil))); err != nil {
		t.Fatal(err)
	}
	_, url, ok := strings.Cut(logs.String(), "url=")
	if !ok {
		t.Fatalf("no address logged: %q", logs)
	}
	url = strings.TrimSpace(url)
	for _, path := range []string{"", "heap?debug=1"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "heap") {
			t.Fatalf("%s: %s %.200s", path, resp.Status, b)
		}
	}
	if l := pprofLimits(set); l.write <= 5*60e9 || l.maxConns <= 0 {
		t.Fatalf("pprof limits %+v: a 5-minute profile must fit the write timeout, and connections are capped", l)
	}
}

// TestMemoryLimitFollowsRunners: the soft memory limit makes room for the
// checks that compute at once, not for every admitted one.
func TestMemoryLimitFollowsRunners(t *testing.T) {
	per := int64(recovery.Defaults.Argon2.Memory) << 10
	for _, c := range []struct {
		queue, runners int
		checks         int64
	}{
		{0, 1, 1}, {0, 2, 2}, {1, 4, 1}, {13, 20, 13},
	} {
		set := defaultServeSettings()
		set.HashQueue, set.HashRunners = c.queue, c.runners
		if got, want := memoryLimit(set), c.checks*per+memoryHeadroom; got != want {
			t.Errorf("queue %d, %d runners: limit %d MiB, want %d MiB", c.queue, c.runners, got>>20, want>>20)
		}
	}
}
