package recovery

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestHashGateRunsAtMostN: with one place, checks admitted while another
// computes wait (none runs beside it), then run one at a time; a waiter
// whose context ends leaves without running.
func TestHashGateRunsAtMostN(t *testing.T) {
	g := newHashGate(1)
	var running, most, ran atomic.Int32
	check := func() {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		ran.Add(1)
		running.Add(-1)
	}
	release := make(chan struct{})
	first := make(chan error, 1)
	started := make(chan struct{})
	go func() { first <- g.do(context.Background(), func() { check(); close(started); <-release }) }()
	<-started
	done := make(chan error, 3)
	for range 3 {
		go func() { done <- g.do(context.Background(), check) }()
	}
	gone, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() { left <- g.do(gone, func() { t.Error("a check ran after its context ended") }) }()
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
