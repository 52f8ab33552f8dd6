package recovery

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory/local"
	"github.com/tapkiosk/tapkiosk/internal/argon2"
	"github.com/tapkiosk/tapkiosk/store"
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

// TestSignInWaitsForATurnBeforeReserving: while the hash gate's turns
// (two for its one runner) are taken, a sign-in waits for one holding no
// reservation of a guess (the kiosk's round shows none checked), so a long
// queue cannot fill a round with checks that have not begun; once a turn
// is free it reserves, checks and settles (here a wrong guess for a person
// tapd does not know, which still hashes).
func TestSignInWaitsForATurnBeforeReserving(t *testing.T) {
	s := oneRunnerService(t, tap.Argon2Params{Memory: 64, Time: 1, Threads: 1})
	for range cap(s.hashRun.turns) { // checks under way elsewhere
		if err := s.hashRun.enter(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	c := &Caller{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Kiosk: &store.Kiosk{ID: "k1", Name: "lobby"}, ClientAddr: "127.0.0.1"}
	done := make(chan error, 1)
	go func() {
		_, err := s.SignIn(context.Background(), c, "nobody@example.com", "Guess1234")
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second) // a liveness bound, not a timing
	for s.hashRun.queued.Load() < 1 {
		select {
		case err := <-done:
			t.Fatalf("the sign-in ended while every turn was taken: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the sign-in never waited for a turn")
		}
		time.Sleep(time.Millisecond)
	}
	if th, err := s.st.GetThrottle(context.Background(), kioskKey(c.Kiosk.ID)); err != nil || th.Checked != 0 || th.Holds != "" {
		t.Fatalf("while waiting for a turn the kiosk's round has %d checked, holds %q (err %v); want none", th.Checked, th.Holds, err)
	}
	s.hashRun.leave()
	if err := <-done; !errors.Is(err, api.ErrInvalidCredentials) {
		t.Fatalf("the sign-in after the wait: %v, want invalid credentials", err)
	}
	if th, err := s.st.GetThrottle(context.Background(), kioskKey(c.Kiosk.ID)); err != nil || th.Failures != 1 {
		t.Fatalf("after the check the kiosk's round has %d failures (err %v), want 1", th.Failures, err)
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
	if one, three := DefaultHashQueue(1), DefaultHashQueue(3); one != 40 || three != 120 {
		t.Fatalf("default queue: %d for 1 runner, %d for 3; want 40 and 120", one, three)
	}
}

// oneRunnerService is a Service on a fresh SQLite store with the local
// directory, hashing at cost with one hash runner.
func oneRunnerService(t *testing.T, cost tap.Argon2Params) *Service {
	t.Helper()
	return gatedService(t, cost, 1, 0)
}

// gatedService is a Service on a fresh SQLite store with the local
// directory, hashing at cost with runners hash runners and an admission
// queue of queue (0: the default).
func gatedService(t *testing.T, cost tap.Argon2Params, runners, queue int) *Service {
	t.Helper()
	st := storetest.Open(t, nil, "sqlite")
	rp, err := NewRelyingParty("", "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Store: st, RP: rp, Argon2: cost, HashRunners: runners, HashQueue: queue,
		Directory: local.New(local.Config{Store: st, RP: rp, Argon2: cost, Now: time.Now})})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRunnersNeverOutnumberTheQueue: a queue shorter than the runners gets
// no more places than it admits, since each place keeps 19 MiB for tapd's
// life and the places are handed out in turn (tapd's memory limit counts
// min(runners, queue)).
func TestRunnersNeverOutnumberTheQueue(t *testing.T) {
	s := gatedService(t, tap.Argon2Params{Memory: 64, Time: 1, Threads: 1}, 4, 1)
	if got := cap(s.hashRun.bufs); got != 1 {
		t.Fatalf("4 runners, a queue of 1: %d places, want 1", got)
	}
}
