package recovery

import (
	"context"
	"runtime"
	"sync/atomic"
)

// hashGate lets at most cap(run) Argon2id checks compute at once; the
// others admitted by the hash slots wait their turn here. A check is pure
// CPU (~25-30 ms on one core) and 19 MiB: more running at once than there
// are cores to spare finishes none sooner, but holds that much more memory
// (13 at once peaked tapd at 425 MB RSS under `make load`) and, with
// every P busy hashing, leaves the 2,000 polls a second queued behind them
// in Go's run queue (poll p50 7 s with tapd at one core). Waiting costs
// neither memory nor CPU.
type hashGate struct {
	run     chan struct{}
	waiting atomic.Int32
}

func newHashGate(n int) *hashGate { return &hashGate{run: make(chan struct{}, max(n, 1))} }

// DefaultHashRunners is how many checks compute at once when the config
// does not say: half the CPUs Go uses, at least one, so the other half
// stays free for everything that is not a pass check.
func DefaultHashRunners() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// do runs fn when a place is free, or gives up when ctx ends first.
func (g *hashGate) do(ctx context.Context, fn func()) error {
	select {
	case g.run <- struct{}{}:
	default:
		g.waiting.Add(1)
		select {
		case g.run <- struct{}{}:
			g.waiting.Add(-1)
		case <-ctx.Done():
			g.waiting.Add(-1)
			return ctx.Err()
		}
	}
	defer func() { <-g.run }()
	fn()
	return nil
}
