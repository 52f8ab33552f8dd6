package recovery

import (
	"context"
	"runtime"
	"sync/atomic"

	"github.com/tapkiosk/tapkiosk/internal/argon2"
)

// hashGate lets at most cap(bufs) Argon2id checks compute at once, and
// cap(turns), two per place, take their turn: reserve a guess, read the
// pass, compute. The others admitted by the hash slots wait for a turn
// before they reserve anything (see SignIn), so the guesses in flight stay
// far under the lockout's rounds however long the queue, while a second
// check per place does its store round trips as the first one hashes (one
// per place left the runner idle through each reservation's commit). A
// check is pure
// CPU (~25-30 ms on one core) and 19 MiB: more running at once than there
// are cores to spare finishes none sooner, but holds that much more memory
// (13 at once peaked tapd at 425 MB RSS under `make load`) and, with
// every P busy hashing, leaves the 2,000 polls a second queued behind them
// in Go's run queue (poll p50 7 s with tapd at one core). Waiting costs
// neither memory nor CPU.
//
// A place is its own Argon2id working memory: bufs holds one Buffer per
// place, and taking a Buffer is taking the place. Each is kept for tapd's
// life: 19 MiB per runner, which the soft memory limit already counts. A
// fresh 19 MiB per check cost the runtime's zeroing, the kernel's page
// faults after the scavenger had returned the last check's pages, and a
// garbage collection (~15% of a journey's CPU beside the hashing itself; see
// internal/argon2).
type hashGate struct {
	turns   chan struct{}       // the free turns
	bufs    chan *argon2.Buffer // the free places' memory
	queued  atomic.Int32        // waiting for a turn
	waiting atomic.Int32        // with a turn, waiting for a place
}

// turnsPerPlace is how many checks may hold a turn for each place.
const turnsPerPlace = 2

func newHashGate(n int) *hashGate {
	n = max(n, 1)
	g := &hashGate{turns: make(chan struct{}, turnsPerPlace*n), bufs: make(chan *argon2.Buffer, n)}
	for range n {
		g.bufs <- new(argon2.Buffer)
		for range turnsPerPlace {
			g.turns <- struct{}{}
		}
	}
	return g
}

// DefaultHashRunners is how many checks compute at once when the config
// does not say: half the CPUs Go uses, at least one, so the other half
// stays free for everything that is not a pass check.
func DefaultHashRunners() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// HashQueuePerRunner is how many admitted checks each runner may have
// computing or waiting: 40 checks of ~25 ms is a second's wait at the back
// of the queue when tapd has its cores, a few seconds when it shares them
// (kiosks wait 30 s). The queue used to be the memory budget's 13, from
// when every admitted check held 19 MiB; waiting now holds nothing, and 13
// refused a fleet's ordinary 20 sign-ins a second with 503 whenever
// PostgreSQL and tapd shared two cores and a check took twice as long.
const HashQueuePerRunner = 40

// DefaultHashQueue is how many checks are admitted at once for runners
// when the config does not say: past them a sign-in gets 503 at once.
func DefaultHashQueue(runners int) int { return max(1, runners) * HashQueuePerRunner }

// enter waits for a turn, or gives up when ctx ends first; leave gives
// it back.
func (g *hashGate) enter(ctx context.Context) error {
	_, err := take(ctx, g.turns, &g.queued)
	return err
}

func (g *hashGate) leave() { g.turns <- struct{}{} }

// do runs fn with a place's working memory when a place is free, or gives
// up when ctx ends first.
func (g *hashGate) do(ctx context.Context, fn func(*argon2.Buffer)) error {
	buf, err := take(ctx, g.bufs, &g.waiting)
	if err != nil {
		return err
	}
	defer func() { g.bufs <- buf }()
	fn(buf)
	return nil
}

// take receives from pool, or gives up when ctx ends first; waiting
// counts those that found the pool empty while they wait.
func take[T any](ctx context.Context, pool chan T, waiting *atomic.Int32) (T, error) {
	select {
	case v := <-pool:
		return v, nil
	default:
	}
	waiting.Add(1)
	defer waiting.Add(-1)
	select {
	case v := <-pool:
		return v, nil
	case <-ctx.Done():
		var none T
		return none, ctx.Err()
	}
}
