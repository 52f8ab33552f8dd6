// Preparing a run: its temporary folder, the tapd binary, the initialised
// and seeded store.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// begin is how every run starts: its temporary folder, a context that ends
// after limit or at Ctrl-C or SIGTERM (so the run still stops its tapd and
// removes its cgroups), and the -cpu-quota groups, checked first so that a
// machine without writable cgroups fails at once, not after the setup. end
// removes the groups (tapd stopped by then), then the folder.
func begin(c config, limit time.Duration) (ctx context.Context, dir string, groups *cpuGroups, end func(), err error) {
	dir, done, err := workDir(c)
	if err != nil {
		return nil, "", nil, nil, err
	}
	if groups, err = quotaGroups(c); err != nil {
		done()
		return nil, "", nil, nil, err
	}
	sig, stopSig := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(sig, limit)
	return ctx, dir, groups, func() {
		cancel()
		stopSig()
		groups.removeLogged()
		done()
	}, nil
}

// workDir makes the run's temporary folder (tapd's binary, its logs, a
// SQLite database); done removes it, or with -keep moves it there.
func workDir(c config) (dir string, done func(), err error) {
	dir, err = os.MkdirTemp("", "tapkiosk-load-")
	if err != nil {
		return "", nil, err
	}
	if c.keep == "" {
		return dir, func() { os.RemoveAll(dir) }, nil
	}
	return dir, func() {
		os.RemoveAll(c.keep)
		if err := os.Rename(dir, c.keep); err != nil {
			fmt.Fprintln(os.Stderr, "load: keep:", err)
		}
	}, nil
}

// prepared is what a run starts from: a tapd binary, an initialised store
// and, with -seed, the people, passes, kiosks and sessions in it.
type prepared struct {
	bin, db, store string
	adminToken     string
	limit          time.Duration // sessions and passes outlast this
	lifetime       int           // the passes' lifetime in minutes
	seeded         seeded
}

// prepare builds tapd (unless -tapd), runs `tapd init` on db (empty: a new
// SQLite file in dir) and, with -seed, writes held open sessions and people
// who sign in later into the store. hold is how long the measuring lasts
// after setup, so the sessions and passes outlast it.
func prepare(ctx context.Context, c config, dir, db string, hold time.Duration, held, people int) (prepared, error) {
	p := prepared{bin: c.tapd, db: db, store: "postgres"}
	if p.bin == "" {
		p.bin = filepath.Join(dir, "tapd")
		fmt.Println("building tapd")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", p.bin, "./cmd/tapd").CombinedOutput(); err != nil {
			return p, fmt.Errorf("go build ./cmd/tapd (run from the repository root): %v\n%s", err, out)
		}
	}
	if p.db == "" {
		p.db = "sqlite://" + filepath.Join(dir, "tapd.db")
		p.store = "sqlite"
	}
	out, err := exec.CommandContext(ctx, p.bin, "init", "--db", p.db, "--json").Output()
	if err != nil {
		return p, fmt.Errorf("tapd init: %v", err)
	}
	var ini struct {
		AdminToken         string
		AlreadyInitialized bool
	}
	if err := json.Unmarshal(out, &ini); err != nil || ini.AdminToken == "" {
		return p, fmt.Errorf("tapd init printed %q: give -db an empty database", out)
	}
	p.adminToken = ini.AdminToken
	// Sessions must outlast setup and the hold; passes too.
	p.limit = min(max(c.setupTimeout+hold+5*time.Minute, 10*time.Minute), 24*time.Hour)
	p.lifetime = max(int(p.limit.Minutes())+1, 60) // the policy's default minimum is 60
	if c.seed {
		t := time.Now()
		if p.seeded, err = seed(ctx, p.db, c.kiosks, held, people, p.limit, p.lifetime); err != nil {
			return p, fmt.Errorf("seed the store: %w", err)
		}
		fmt.Printf("%d people, passes and open sessions and %d people with passes written to the store in %s\n", held, people, time.Since(t).Round(time.Millisecond))
	}
	return p, nil
}
