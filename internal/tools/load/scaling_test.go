package main

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// saturate keeps every worker of every instance calling until the phase
// ends, counts only what finished inside the measured window, stops a
// worker at errRanOut (a failure, so the run exits 1), and takes no new
// call after it returns. Counts, not speed, are asserted.
func TestSaturateClosedLoop(t *testing.T) {
	var ds []*tapd
	for range 2 {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		ds = append(ds, &tapd{cmd: cmd})
	}
	c := config{scaling: scaling{warmup: 50 * time.Millisecond, phase: 200 * time.Millisecond}}
	var calls [2][3]atomic.Int64
	var ranOut atomic.Int64
	s := &series{name: "test"}
	r, err := saturate(context.Background(), c, "", ds, []string{"", ""}, 0, "", s, 3, func(i, w int) error {
		calls[i][w].Add(1)
		if i == 1 && w == 2 {
			ranOut.Add(1)
			return errRanOut
		}
		time.Sleep(time.Millisecond)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		for w := range 3 {
			if calls[i][w].Load() == 0 {
				t.Errorf("worker %d of instance %d never called", w, i)
			}
		}
	}
	if n := calls[1][2].Load(); n != 1 {
		t.Errorf("the worker that ran out was called %d times, want 1", n)
	}
	if s.failures() != 1 {
		t.Errorf("failures = %d, want the one errRanOut", s.failures())
	}
	total := int64(0)
	for i := range 2 {
		for w := range 3 {
			total += calls[i][w].Load()
		}
	}
	if r.perSec <= 0 || r.perSec*c.scaling.phase.Seconds() > float64(total) {
		t.Errorf("rate %.1f/s over %s is not within the %d calls made", r.perSec, c.scaling.phase, total)
	}
	if r.instances != 2 || len(r.tapd) != 2 || r.throttled[0] != -1 || r.pg != -1 {
		t.Errorf("rate = %+v: want 2 instances, no quota (-1), PostgreSQL unknown (-1)", r)
	}
	after := total
	time.Sleep(20 * time.Millisecond)
	now := int64(0)
	for i := range 2 {
		for w := range 3 {
			now += calls[i][w].Load()
		}
	}
	if now != after {
		t.Errorf("%d calls after saturate returned", now-after)
	}
}

// An ended context ends the phase with its error, workers stopped.
func TestSaturateInterrupted(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	ctx, cancel := context.WithCancel(context.Background())
	c := config{scaling: scaling{warmup: time.Hour, phase: time.Hour}}
	var n atomic.Int64
	_, err := saturate(ctx, c, "", []*tapd{{cmd: cmd}}, []string{""}, 0, "", &series{name: "x"}, 2, func(i, w int) error {
		if n.Add(1) == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestScalingCheck(t *testing.T) {
	ok := config{seed: true, sessions: 1000, kiosks: 10, instances: 2, scaling: scaling{on: true, phase: time.Second, pollWorkers: 1, signinWorkers: 1, people: 1, rounds: 1}}
	if err := ok.scaling.check(ok); err != nil {
		t.Fatalf("valid: %v", err)
	}
	for _, tc := range []struct {
		name, want string
		mod        func(*config)
	}{
		{"sqlite", "PostgreSQL", func(c *config) { c.db = "sqlite:///tmp/x.db" }},
		{"no seed", "seed", func(c *config) { c.seed = false }},
		{"kiosks", "kiosk per instance", func(c *config) { c.kiosks = 1 }},
		{"sessions", "held session per kiosk", func(c *config) { c.sessions = 3 }},
		{"addresses", "254", func(c *config) { c.kiosks, c.scaling.kioskAddrs = 300, true }},
		{"phase", "-phase", func(c *config) { c.scaling.phase = 0 }},
		{"rounds", "-rounds", func(c *config) { c.scaling.rounds = 0 }},
	} {
		c := ok
		tc.mod(&c)
		if err := c.scaling.check(c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{2.4, 1.6, 1.9}); m != 1.9 {
		t.Errorf("odd: %g", m)
	}
	if m := median([]float64{2, 1, 4, 3}); m != 2.5 {
		t.Errorf("even: %g", m)
	}
}

func TestCPUEach(t *testing.T) {
	r := rate{perSec: 2000, tapd: []float64{0.3, 0.3}}
	if got := r.cpuEach(); got < 0.2999 || got > 0.3001 {
		t.Fatalf("cpuEach = %g ms, want 0.3", got)
	}
}
