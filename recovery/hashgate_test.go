package recovery

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/directory/local"
	"github.com/tapkiosk/tapkiosk/internal/argon2"
	"github.com/tapkiosk/tapkiosk/store/storetest"
	"github.com/tapkiosk/tapkiosk/tap"
)

// TestHashGateRunsAtMostN: with one place, checks admitted while another
// computes wait (none runs beside it), then run one at a time; a waiter
// whose context ends leaves without running.
func TestHashGateRunsAtMostN(t *testing.T) {
	g := newHashGate(1)
	var running, most, ran atomic.Int32
	check := func(*argon2.Buffer) {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		ran.Add(1)
		running.Add(-1)
	}
	release := make(chan struct{})
	first := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		first <- g.do(context.Background(), func(b *argon2.Buffer) { check(b); close(started); <-release })
	}()
	<-started
	done := make(chan error, 3)
	for range 3 {
		go func() { done <- g.do(context.Background(), check) }()
	}
	gone, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() { left <- g.do(gone, func(*argon2.Buffer) { t.Error("a check ran after its context ended") }) }()
	deadline := time.Now().Add(10 * time.Second) // a liveness bound, not a timing
	for g.waiting.Load() < 4 {
		select {
		case err := <-done:
			t.Fatalf("a check ran while the only place was taken (err %v)", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d checks waiting, want 4", g.waiting.Load())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-left; err != context.Canceled {
		t.Fatalf("the cancelled waiter: %v", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if most.Load() != 1 || ran.Load() != 4 || g.waiting.Load() != 0 {
		t.Fatalf("most at once %d (want 1), ran %d (want 4), still waiting %d", most.Load(), ran.Load(), g.waiting.Load())
	}
}

// TestPassCheckWaitsForTheGate: a sign-in's pass check (here for a person
// tapd does not know, which still hashes) waits while the service's only
// place is taken, and runs once it is free.
func TestPassCheckWaitsForTheGate(t *testing.T) {
	s := oneRunnerService(t, tap.Argon2Params{Memory: 64, Time: 1, Threads: 1})
	busy := <-s.hashRun.bufs // a check computing elsewhere
	c := &Caller{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	done := make(chan error, 1)
	go func() {
		v, err := s.checkPass(context.Background(), c, "nobody@example.com", "Guess1234")
		if err == nil && (v.right || v.reason != "unknownUser") {
			err = fmt.Errorf("verdict %+v", v)
		}
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second) // a liveness bound, not a timing
	for s.hashRun.waiting.Load() < 1 {
		select {
		case err := <-done:
			t.Fatalf("the pass check ran while the only place was taken (err %v)", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the pass check never waited for the gate")
		}
		time.Sleep(time.Millisecond)
	}
	s.hashRun.bufs <- busy
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestPassChecksReuseTheirMemory: pass checks at the design's cost (19
// MiB, t=2) through one hash runner allocate their 19 MiB once, for the
// runner, not once per check (x/crypto's IDKey allocated it every time:
// 4 checks, 76 MiB). Counted with the runtime's allocation total, not
// timed.
func TestPassChecksReuseTheirMemory(t *testing.T) {
	s := oneRunnerService(t, tap.DefaultArgon2)
	c := &Caller{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	check := func() {
		if v, err := s.checkPass(context.Background(), c, "nobody@example.com", "Guess1234"); err != nil || v.right {
			t.Fatalf("verdict %+v, err %v", v, err)
		}
	}
	check() // the runner's one allocation
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const checks = 4
	for range checks {
		check()
	}
	runtime.ReadMemStats(&after)
	const mib = 1 << 20
	if got := after.TotalAlloc - before.TotalAlloc; got > 4*mib {
		t.Fatalf("%d checks allocated %.1f MiB, want under 4 MiB (one check's working memory is 19 MiB)", checks, float64(got)/mib)
	}
}

// TestDefaultQueueIsPerRunner: left unset, the admission queue is 40
// checks per hash runner, whatever the memory cost of a check; the 41st
// with one runner is refused (503 at once). It was the memory budget's 13,
// which refused ordinary sign-ins whenever checks ran slow.
func TestDefaultQueueIsPerRunner(t *testing.T) {
	s := oneRunnerService(t, tap.Argon2Params{Memory: 64, Time: 1, Threads: 1})
	var done []func()
	for i := range HashQueuePerRunner {
		d, ok := s.tryHash()
		if !ok {
			t.Fatalf("check %d refused, want %d admitted", i+1, HashQueuePerRunner)
		}
		done = append(done, d)
	}
	if _, ok := s.tryHash(); ok {
		t.Fatalf("check %d admitted past the queue", HashQueuePerRunner+1)
	}
	for _, d := range done {
		d()
	}
	if got := DefaultHashQueue(3); got != 3*HashQueuePerRunner {
		t.Fatalf("3 runners: queue %d, want %d", got, 3*HashQueuePerRunner)
	}
}

// oneRunnerService is a Service on a fresh SQLite store with the local
// directory, hashing at cost with one hash runner.
func oneRunnerService(t *testing.T, cost tap.Argon2Params) *Service {
	t.Helper()
	st := storetest.Open(t, nil, "sqlite")
	rp, err := NewRelyingParty("", "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Store: st, RP: rp, Argon2: cost, HashRunners: 1,
		Directory: local.New(local.Config{Store: st, RP: rp, Argon2: cost, Now: time.Now})})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
