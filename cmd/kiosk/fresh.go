package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync/atomic"
)

// nextFreshState names the state file of the demo's next "fresh" key:
// base.N for the first N (counted on from n) that no key has used yet.
// The counter starts again with each kiosk, so without the check a kiosk
// started again would plug an earlier run's key back in as a new one,
// PIN and passkeys included. (Here, not in demo.go, so that a plain
// `go test` checks it.)
func nextFreshState(base string, n *atomic.Int64) string {
	for {
		state := fmt.Sprintf("%s.%d", base, n.Add(1)+1)
		if _, err := os.Stat(state); errors.Is(err, fs.ErrNotExist) {
			return state
		}
	}
}
